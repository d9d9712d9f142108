"""Collection strategies on the real read model in PostgreSQL: the set-based evaluation
against the slow reference (`tests.unit.aging.strategy_reference`) on generated histories,
worked examples (month ends, leap days, disputes, a version change mid-sequence), the
backtest against an independent day-by-day loop, expected payment dates, and the routes.

Histories are `Story` streams applied through the service's batch consumer (`Model`), each
in a company of its own, so a company-wide evaluation sees exactly one story's customer.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from arrears.aging import store, strategy_store
from arrears.aging.api import jsonable
from arrears.aging.app import SPEC as AGING_SERVICE
from arrears.aging.domain import (
    CONTACT_KINDS,
    CustomerFacts,
    Filter,
    Movement,
    OpenItemFacts,
    StatusFacts,
    Strategy,
)
from arrears.aging.settings import AgingSettings
from arrears.aging.strategy_store import StrategyScope
from arrears.cli import strategies as cli_strategies
from arrears.cli.main import build_parser
from arrears.shared.clock import FixedClock
from arrears.shared.money import decimal_text
from arrears.shared.settings import ServiceSettings
from tests.integration.aging.test_store_properties import Model
from tests.unit.aging import START, Story, play
from tests.unit.aging.strategy_reference import Facts, days, due_between, due_on, median_days_late
from tests.unit.aging.test_properties import OPERATIONS
from tests.unit.aging.test_strategies import ISSUE_EXAMPLE

pytestmark = pytest.mark.integration

PROFILE = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
COMPANIES = itertools.count(1)


def new_story(**profile: Any) -> Story:
    n = next(COMPANIES)
    story = Story(company=f"st{n:05d}", customer_id="C-1", uuid_base=n << 24, id_prefix=f"s{n}-")
    return story.register(**profile)


@pytest.fixture(scope="module")
def model(postgres_url: str) -> Iterator[Model]:
    with asyncio.Runner() as runner:
        found = Model(runner, postgres_url)
        yield found
        found.close()


def load(model: Model, story: Story) -> Facts:
    """Apply the story and read back every fact of its company."""
    model.consume([story.events], story.last_day)
    return model.runner.run(company_facts(model, story.company))


def evaluate(model: Model, story: Story, strategy: Strategy, first: date, last: date) -> set[Any]:
    async def run() -> set[Any]:
        async with model.engine.begin() as conn:
            found = await strategy_store.due_steps(
                conn, strategy, first, last, StrategyScope(story.company)
            )
        return {(d.day, d.customer_id, d.transaction_id, d.step) for d in found}

    return model.runner.run(run())


# ----------------------------------------------------------------------------- properties


def risk_bounds_ordered(conditions: dict[str, Any]) -> bool:
    return bool(conditions.get("min_risk_score", 0) <= conditions.get("max_risk_score", 1000))


conditions: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {},
    optional={
        "min_amount": st.sampled_from(["0", "10", "150.50", "1000"]),
        "min_risk_score": st.sampled_from([0, 200, 500]),
        "max_risk_score": st.sampled_from([500, 800, 1000]),
        "segments": st.sampled_from([["RETAIL"], ["WHOLESALE"], ["RETAIL", "B2B"]]),
        "skip_disputed": st.booleans(),
        "skip_promised": st.booleans(),
    },
).filter(risk_bounds_ordered)


@st.composite
def strategies(draw: Any) -> Strategy:
    steps = []
    offset = draw(st.integers(-10, 10))
    for index in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["reminder_email", "letter", "call", "escalate",
                                     "credit_hold", "write_off_proposal"]))  # fmt: skip
        gap = draw(st.integers(1, 40))
        relative = index > 0 and draw(st.booleans())
        offset = offset + gap if index else offset
        steps.append(
            {
                "kind": kind,
                "days": gap if relative else offset,
                "relative_to": "previous_step" if relative else "due_date",
                "level": index % 5 + 1 if kind == "letter" else None,
                "conditions": draw(st.one_of(st.just({}), st.just({}), conditions)),
            }
        )
    return Strategy.from_dict({"steps": steps})


@st.composite
def stories(draw: Any) -> Story:
    story = new_story(
        credit_group=draw(st.sampled_from(["RETAIL", "WHOLESALE", None])),
        risk_score=draw(st.sampled_from([None, Decimal(100), Decimal(500), Decimal(900)])),
    )
    for operation in draw(st.lists(OPERATIONS, min_size=6, max_size=25)):
        play(story, operation)
    return story


@PROFILE
@given(story=stories(), strategy=strategies())
def test_the_set_based_evaluation_equals_the_reference_day_by_day(
    model: Model, story: Story, strategy: Strategy
) -> None:
    facts = load(model, story)
    first, last = (
        story.events[0].occurred_at.date() - timedelta(days=15),
        story.last_day + timedelta(days=60),
    )
    found = evaluate(model, story, strategy, first, last)
    assert found == due_between(strategy, facts, first, last)
    event(f"steps due: {'none' if not found else 'some' if len(found) < 10 else '10 or more'}")

    # the backtest of the period sums the same evaluation as a day-by-day loop does
    async def replay() -> strategy_store.Backtest:
        async with model.engine.connect() as conn:
            await strategy_store.read_only(conn)
            return await strategy_store.backtest(
                conn, strategy, first, last, StrategyScope(story.company), paid_within_days=7
            )

    report = jsonable(model.runner.run(replay()))
    looped = loop_backtest(strategy, facts, first, last, 7)
    assert {k: report[k] for k in looped} == looped | {
        "amount_covered": decimal_text(looped["amount_covered"])
    }
    by_currency = report["amount_covered_by_currency"]
    assert sum(map(Decimal, by_currency.values()), Decimal(0)) == looped["amount_covered"]
    assert all(Decimal(amount) > 0 for amount in by_currency.values())

    # a step never falls due for an item with nothing open on its day (paid before it)
    for day, _, transaction_id, _ in found:
        assert facts.open_on(transaction_id, day)[0] > 0

    # a day evaluated alone, twice, is that day of the period's evaluation
    for day in [*sorted({d for d, *_ in found})[:5], first, last]:
        once = evaluate(model, story, strategy, day, day)
        assert once == evaluate(model, story, strategy, day, day)
        assert once == {due for due in found if due[0] == day} == due_on(strategy, facts, day)


@st.composite
def paying_customers(draw: Any) -> list[Story]:
    """Two customers of one company, each with invoices paid in full some days after their
    due date (or before it), left open, or written off, in date order."""
    n = next(COMPANIES)
    out = []
    for index in range(2):
        story = Story(
            company=f"ep{n:05d}", customer_id=f"C-{index}", uuid_base=(n << 24) + (index << 16),
            id_prefix=f"e{n}-{index}-",
        ).register()  # fmt: skip
        plan: list[tuple[date, int, str, int]] = []
        for number in range(draw(st.integers(0, 6))):
            posted = START + timedelta(days=draw(st.integers(0, 200)))
            due_in = draw(st.integers(0, 60))
            plan.append((posted, number, "invoice", due_in))
            fate = draw(st.sampled_from(["paid", "paid", "open", "written_off"]))
            if fate != "open":
                late = draw(st.integers(-due_in, 90))
                plan.append((posted + timedelta(days=due_in + late), number, fate, 0))
        invoices: dict[int, str] = {}
        for day, number, what, due_in in sorted(plan, key=lambda p: (p[0], p[2] != "invoice")):
            story.on(day)
            if what == "invoice":
                invoices[number] = story.invoice(Decimal(100 + number), due_in=due_in)
            elif what == "paid":
                txn = story.txns[invoices[number]]
                story.settle(
                    story.payment(txn.amount, rate=Decimal(1)), [(txn.transaction_id, None)]
                )
            else:
                story.write_off([(invoices[number], None)])
        out.append(story)
    return out


@PROFILE
@given(customers=paying_customers(), back=st.integers(0, 400))
def test_expected_payment_dates_equal_the_median_computed_in_python(
    model: Model, customers: list[Story], back: int
) -> None:
    for story in customers:
        model.consume([story.events], story.last_day)
    company = customers[0].company
    facts = model.runner.run(company_facts(model, company))
    as_of = START + timedelta(days=back)
    for story in customers:

        async def run(customer: str = story.customer_id) -> list[strategy_store.ExpectedPayment]:
            async with model.engine.connect() as conn:
                return await strategy_store.expected_payments(conn, company, customer, as_of)

        found = model.runner.run(run())
        median, n = median_days_late(facts, as_of, story.customer_id)
        basis = "customer"
        if not n:
            median, n = median_days_late(facts, as_of, None)
            basis = "company" if n else "none"
        event(f"basis {basis}, open invoices: {bool(found)}")
        open_invoices = sorted(
            (t.due_date, t.transaction_id)
            for t in facts.transactions
            if t.customer_id == story.customer_id
            and t.kind == "invoice"
            and facts.open_on(t.transaction_id, as_of)[0] > 0
        )
        assert [(e.due_date, e.transaction_id) for e in found] == open_invoices
        for item in found:
            assert (item.basis, item.median_days_late, item.sample_size) == (basis, median, n)
            if median is None:
                assert item.expected_date is None
            else:
                late = int(median.to_integral_value(rounding="ROUND_CEILING"))
                assert item.expected_date == item.due_date + timedelta(days=late)


# ----------------------------------------------------------------------------- worked examples

LADDER = Strategy.from_dict(
    {
        "steps": [
            {"kind": "reminder_email", "days": -3},
            {"kind": "reminder_email", "days": 3},
            {"kind": "letter", "level": 1, "days": 15},
            {"kind": "call", "days": 5, "relative_to": "previous_step"},
            {"kind": "letter", "level": 2, "days": 29},
        ]
    }
)


def fired(model: Model, story: Story, strategy: Strategy, first: date, last: date) -> list[Any]:
    return sorted((d, t, s) for d, _, t, s in evaluate(model, story, strategy, first, last))


def test_due_dates_around_month_ends_and_a_leap_day(model: Model) -> None:
    story = new_story()
    story.on(date(2027, 12, 1))
    january = story.invoice("100.00", due_in=61)  # due 2028-01-31
    leap = story.invoice("100.00", due_in=90)  # due 2028-02-29
    story.on(date(2028, 1, 30))
    late = story.invoice("100.00", due_in=0)  # posted and due 2028-01-30
    load(model, story)
    found = fired(model, story, LADDER, date(2027, 12, 1), date(2028, 4, 30))
    assert found == [
        (date(2028, 1, 28), january, 0),
        # no reminder for `late` on 01-27: it was posted on 01-30
        (date(2028, 2, 2), late, 1),
        (date(2028, 2, 3), january, 1),
        (date(2028, 2, 14), late, 2),
        (date(2028, 2, 15), january, 2),
        (date(2028, 2, 19), late, 3),
        (date(2028, 2, 20), january, 3),
        (date(2028, 2, 26), leap, 0),
        (date(2028, 2, 28), late, 4),
        (date(2028, 2, 29), january, 4),  # +29 from January 31st is the leap day
        (date(2028, 3, 3), leap, 1),  # +3 from the leap day
        (date(2028, 3, 15), leap, 2),
        (date(2028, 3, 20), leap, 3),
        (date(2028, 3, 29), leap, 4),
    ]


def test_a_dispute_holds_steps_back_and_a_settlement_ends_them(model: Model) -> None:
    story = new_story()
    story.on(date(2026, 3, 1))
    disputed = story.invoice("250.00", due_in=30)  # due 2026-03-31
    paid = story.invoice("80.00", due_in=30)
    payment = story.on(date(2026, 4, 10)).payment("80.00", rate=Decimal(1))
    story.settle(payment, [(paid, None)])
    story.on(date(2026, 4, 12)).set_status(disputed, "disputed")
    story.on(date(2026, 4, 17)).set_status(disputed, "not_disputed")
    load(model, story)
    found = fired(model, story, LADDER, date(2026, 3, 1), date(2026, 6, 30))
    assert found == [
        (date(2026, 3, 28), disputed, 0),
        (date(2026, 3, 28), paid, 0),
        (date(2026, 4, 3), disputed, 1),
        (date(2026, 4, 3), paid, 1),
        # 04-15 (letter 1) is skipped: disputed; paid settled on 04-10 reaches no later step
        (date(2026, 4, 20), disputed, 3),
        (date(2026, 4, 29), disputed, 4),
    ]
    keep_going = Strategy.from_dict(
        {
            "steps": [
                {"kind": "letter", "level": 1, "days": 15, "conditions": {"skip_disputed": False}}
            ]
        }
    )
    assert fired(model, story, keep_going, date(2026, 4, 15), date(2026, 4, 15)) == [
        (date(2026, 4, 15), disputed, 0)
    ]


def test_a_version_change_mid_sequence(model: Model) -> None:
    """Day by day, the version in force acts: steps of the old version before the change,
    of the new one after it; a step the new version moved later falls due on its new day."""
    story = new_story()
    story.on(date(2026, 1, 5))
    invoice = story.invoice("500.00", due_in=26)  # due 2026-01-31
    load(model, story)
    first = Strategy.from_dict(
        {
            "steps": [
                {"kind": "reminder_email", "days": 3},
                {"kind": "letter", "level": 1, "days": 15},
            ]
        }
    )
    second = Strategy.from_dict(
        {
            "steps": [
                {"kind": "reminder_email", "days": 3},
                {"kind": "call", "days": 12},
                {"kind": "letter", "level": 1, "days": 20},
            ]
        }
    )

    async def run() -> list[tuple[date, int, str]]:
        async with model.engine.begin() as conn:
            changed = datetime(2026, 2, 10, 9, tzinfo=UTC)
            v1, _ = await strategy_store.put_strategy(
                conn, story.company, "default", first,
                created_at=datetime(2026, 1, 1, tzinfo=UTC), created_by="anna",
            )  # fmt: skip
            v2, created = await strategy_store.put_strategy(
                conn, story.company, "default", second, created_at=changed, created_by="ben"
            )
            assert created and (v1.version, v2.version) == (1, 2)
            again, created = await strategy_store.put_strategy(
                conn, story.company, "default", second, created_at=changed, created_by="ben"
            )
            assert not created and again == v2
            out: list[tuple[date, int, str]] = []
            for day in days(date(2026, 1, 28), date(2026, 3, 10)):
                end = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
                version = await strategy_store.strategy_version(
                    conn, story.company, "default", in_force_at=end
                )
                assert version is not None
                for due in await strategy_store.due_steps(
                    conn, version.strategy, day, day, StrategyScope(story.company)
                ):
                    kind = version.strategy.steps[due.step].kind
                    out.append((due.day, version.version, kind))
            return out

    assert model.runner.run(run()) == [
        (date(2026, 2, 3), 1, "reminder_email"),
        (date(2026, 2, 12), 2, "call"),  # +12, after the change
        (date(2026, 2, 20), 2, "letter"),  # +20, not +15 (02-15) any more
    ]
    assert invoice


# ----------------------------------------------------------------------------- backtest


def loop_backtest(
    strategy: Strategy, facts: Facts, first: date, last: date, within: int
) -> dict[str, Any]:
    """The backtest's figures, day by day in Python from the reference."""
    weeks: dict[date, dict[str, set[Any]]] = defaultdict(lambda: defaultdict(set))
    items: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    first_hit: dict[str, tuple[date, int, Decimal]] = {}
    first_contact: dict[str, date] = {}
    for day in days(first, last):
        for _, customer, transaction, index in sorted(due_on(strategy, facts, day)):
            step = strategy.steps[index]
            label = f"letter_{step.level}" if step.kind == "letter" else step.kind
            monday = day - timedelta(days=day.weekday())
            weeks[monday][label].add((customer, day))
            items[monday][label] += 1
            if transaction not in first_hit:
                first_hit[transaction] = (day, index, facts.open_on(transaction, day)[0])
            if step.kind in CONTACT_KINDS:
                first_contact.setdefault(customer, day)
    proposed = {
        transaction
        for day in days(first, last)
        for _, _, transaction, index in due_on(strategy, facts, day)
        if strategy.steps[index].kind == "write_off_proposal"
    }
    written = {
        m.transaction_id
        for m in facts.movements
        if m.cause == "written_off" and first <= m.effective_date <= last
    }
    payments = [t for t in facts.transactions if t.kind == "payment"]
    paid = {
        c
        for c, day in first_contact.items()
        if any(
            p.customer_id == c and day < p.document_date <= day + timedelta(days=within)
            for p in payments
        )
    }
    return {
        "weeks": [
            {
                "week": monday.isoformat(),
                "actions": {k: len(v) for k, v in sorted(weeks[monday].items())},
                "items": dict(sorted(items[monday].items())),
            }
            for monday in sorted(weeks)
        ],
        "customers_contacted": len(first_contact),
        "items_covered": len(first_hit),
        "amount_covered": sum((a for _, _, a in first_hit.values()), Decimal(0)),
        "contacted_and_paid": len(paid),
        "write_offs": {
            "proposed": len(proposed),
            "recorded": len(written),
            "proposed_and_recorded": len(proposed & written),
        },
    }


@pytest.fixture
async def aging(model: Model, settings: ServiceSettings) -> AsyncIterator[httpx.AsyncClient]:
    """The aging service's routes over the model's schema (today 2026-09-30)."""
    app_settings = AgingSettings(
        **(settings.model_dump() | {"db_schema": model.schema, "log_level": "WARNING"})
    )
    clock = FixedClock(datetime(2026, 9, 30, 12, tzinfo=UTC))
    app = AGING_SERVICE.create_app(app_settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://aging") as client:
            yield client


def several_customers(model: Model) -> tuple[str, Facts]:
    """Three customers of one company: one pays late, one pays on time, one never."""
    n = next(COMPANIES)
    company = f"bt{n:05d}"
    for index, (late, pays) in enumerate(((25, True), (0, True), (0, False))):
        story = Story(
            company=company, customer_id=f"C-{index}", uuid_base=(n << 24) + (index << 16),
            id_prefix=f"b{n}-{index}-",
        ).register(credit_group="RETAIL")  # fmt: skip
        invoices: dict[int, str] = {}
        plan = []  # (day, what, month), run in date order
        for month in range(6):
            posted = date(2026, 1 + month, 5)
            plan.append((posted, "invoice", month))
            if pays:
                plan.append((posted + timedelta(days=30 + late), "pay", month))
        for day, what, month in sorted(plan):
            story.on(day)
            if what == "invoice":
                invoices[month] = story.invoice(Decimal(100 + 10 * month + index), due_in=30)
            else:
                amount = story.txns[invoices[month]].amount
                payment = story.payment(amount, rate=Decimal(1))
                story.settle(payment, [(invoices[month], None)])
        if not pays:  # its first invoice written off, 7 days after the proposal (+180)
            oldest = min(t.transaction_id for t in story.txns.values() if t.kind == "invoice")
            story.on(date(2026, 8, 10)).write_off([(oldest, None)])
        model.consume([story.events], date(2026, 9, 30))
    facts = model.runner.run(company_facts(model, company))
    return company, facts


async def company_facts(model: Model, company: str) -> Facts:
    async with model.engine.connect() as conn:

        async def rows(table: sa.Table, kind: Any) -> list[Any]:
            found = await conn.execute(sa.select(table).where(table.c.company == company))
            return [store.fact_of(kind, r) for r in found]

        return Facts(
            customers=await rows(store.customers, CustomerFacts),
            transactions=await rows(store.transactions, OpenItemFacts),
            movements=await rows(store.movements, Movement),
            statuses=await rows(store.statuses, StatusFacts),
        )


STRATEGY_BODY = ISSUE_EXAMPLE | {"created_by": "anna"}


async def test_strategies_over_the_api_and_a_backtest_equal_to_a_daily_loop(
    model: Model, aging: httpx.AsyncClient, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # the model runs its own event loop: apply the histories from a thread
    company, facts = await asyncio.to_thread(several_customers, model)
    base = f"/v1/companies/{company}/strategies"

    bad = await aging.put(f"{base}/default", json={"created_by": "anna", "steps": [
        {"kind": "letter", "days": 15}]})  # fmt: skip
    assert bad.status_code == 422, bad.text
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "a letter needs its level" in bad.json()["detail"]
    missing = await aging.put(f"{base}/no-such-pool", json=STRATEGY_BODY)
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_pool"
    assert (await aging.get(f"{base}/default")).status_code == 404

    first = await aging.put(f"{base}/default", json=STRATEGY_BODY)
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 1 and first.json()["created"]
    assert [s["offset_days"] for s in first.json()["steps"]] == [-3, 3, 15, 20, 30, 45, 60, 180]
    same = await aging.put(f"{base}/default", json=STRATEGY_BODY)
    assert same.json()["version"] == 1 and not same.json()["created"]
    changed = await aging.put(
        f"{base}/default", json=STRATEGY_BODY | {"steps": STRATEGY_BODY["steps"][:3]}
    )
    assert changed.json()["version"] == 2 and changed.json()["created"]
    anonymous = await aging.put(f"{base}/default", json={"steps": STRATEGY_BODY["steps"]})
    assert anonymous.status_code == 422 and anonymous.json()["code"] == "missing_actor"
    by_header = await aging.put(
        f"{base}/default",
        json={"steps": STRATEGY_BODY["steps"][:2]},
        headers={"X-Arrears-Actor": "ben"},
    )
    assert (by_header.json()["version"], by_header.json()["created_by"]) == (3, "ben")
    versions = (await aging.get(f"{base}/default/versions")).json()["versions"]
    assert [(v["version"], len(v["steps"])) for v in versions] == [(1, 8), (2, 3), (3, 2)]
    assert (await aging.get(f"{base}/default", params={"version": 1})).json()[
        "steps"
    ] == first.json()["steps"]

    # C-1 paid on its due date, 02-04: only C-0 and C-2 are reminded at +3
    due = await aging.get(f"{base}/default/due", params={"as_of": "2026-02-07", "version": 1})
    assert due.status_code == 200, due.text
    assert {(i["customer_id"], i["kind"]) for i in due.json()["items"]} == {
        ("C-0", "reminder_email"),
        ("C-2", "reminder_email"),
    }
    assert not due.json()["truncated"]
    first_only = await aging.get(
        f"{base}/default/due", params={"as_of": "2026-02-07", "version": 1, "limit": 1}
    )
    assert len(first_only.json()["items"]) == 1 and first_only.json()["truncated"]
    # without a version, the one in force at the day's end: version 1 was made on 09-30
    assert (
        await aging.get(f"{base}/default/due", params={"as_of": "2026-02-07"})
    ).status_code == 404
    in_force = await aging.get(f"{base}/default/due", params={"as_of": "2026-09-30"})
    assert in_force.json()["version"] == 3

    body = {"version": 1, "from": "2026-01-01", "to": "2026-09-30", "paid_within_days": 10}
    report = await aging.post(f"{base}/default/backtest", json=body)
    assert report.status_code == 200, report.text
    found = report.json()
    strategy = Strategy.from_dict({"steps": STRATEGY_BODY["steps"]})
    expected = loop_backtest(strategy, facts, date(2026, 1, 1), date(2026, 9, 30), 10)
    assert found["weeks"] == expected["weeks"]
    assert found["customers_contacted"] == expected["customers_contacted"] == 3
    assert found["items_covered"] == expected["items_covered"]
    assert Decimal(found["amount_covered"]) == expected["amount_covered"]
    # only C-1 pays within 10 days of its first contact (C-0 pays 25 days late)
    assert found["contacted_and_paid"] == expected["contacted_and_paid"] == 1
    # C-2's invoices due 02-04 and 03-07 reach +180 in the period; the first was written off
    assert found["write_offs"] == {"proposed": 2, "recorded": 1, "proposed_and_recorded": 1}
    assert [(w["week"], w["write_offs"], Decimal(w["written_off"])) for w in found["recorded"]] == [
        ("2026-08-10", 1, Decimal(102))
    ]
    assert found["version"] == 1

    # the command line prints the same report
    args = build_parser().parse_args(
        ["strategy", "backtest", company, "default", "--from", "2026-01-01", "--to",
         "2026-09-30", "--version", "1", "--paid-within", "10", "--schema", model.schema]
    )  # fmt: skip
    assert await asyncio.to_thread(cli_strategies.run, args, lambda: (postgres_url, None)) == 0
    printed = capsys.readouterr().out
    assert "customers contacted: 3, of whom paid within 10 days of the first contact: 1" in printed
    assert "write-offs proposed 2, recorded 1, both 1" in printed

    wrong = await aging.post(f"{base}/default/backtest", json=body | {"to": "2025-12-01"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_period"

    expected_payments = await aging.get(
        f"/v1/companies/{company}/customers/C-2/expected-payments", params={"as_of": "2026-09-30"}
    )
    items = expected_payments.json()["items"]
    assert len(items) == 5 and all(i["basis"] == "company" for i in items)
    median, n = median_days_late(facts, date(2026, 9, 30), None)
    assert (Decimal(items[0]["median_days_late"]), items[0]["sample_size"]) == (median, n)
    own = await aging.get(f"/v1/companies/{company}/customers/C-0/expected-payments")
    assert own.json()["items"] == []  # every invoice settled


def test_a_pool_strategy_acts_on_the_pool_and_the_default_on_everyone_else(model: Model) -> None:
    company, _ = several_customers(model)
    only_c0 = [Filter("customer_id", "eq", "C-0")]
    strategy = Strategy.from_dict({"steps": [{"kind": "call", "days": 3}]})

    async def run() -> tuple[set[str], set[str]]:
        async with model.engine.begin() as conn:
            pooled = await strategy_store.due_steps(
                conn, strategy, date(2026, 1, 1), date(2026, 9, 30),
                StrategyScope(company, pool=only_c0),
            )  # fmt: skip
            rest = await strategy_store.due_steps(
                conn, strategy, date(2026, 1, 1), date(2026, 9, 30),
                StrategyScope(company, excluded=[only_c0]),
            )  # fmt: skip
        return {d.customer_id for d in pooled}, {d.customer_id for d in rest}

    assert model.runner.run(run()) == ({"C-0"}, {"C-2"})
