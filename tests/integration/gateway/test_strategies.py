"""Collection strategies through the gateway, on the real stack: the aging service's routes
forwarded with the gateway's roles and pool scope and the caller as the author of a version,
its problems passed through; the Strategies page's editor making a version from its rows (a
refusal shown beside the form, the values kept); the backtest page showing aging's report."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from arrears.gateway.domain.access import Role
from tests.integration.gateway.conftest import ADMIN_PASSWORD, COMPANY, Browser, Stack

pytestmark = pytest.mark.integration
POOL = "north"
OTHER_POOL = "south"
STEPS = [
    {"kind": "reminder_email", "days": 3},
    {"kind": "letter", "level": 1, "days": 15, "conditions": {"min_amount": "100"}},
    {"kind": "call", "days": 5, "relative_to": "previous_step"},
]
PERIOD = {"from": "2026-03-01", "to": "2026-05-31", "paid_within_days": 10}


def strategy_path(scope: str, suffix: str = "") -> str:
    return f"/v1/companies/{COMPANY}/strategies/{scope}{suffix}"


def bearer(text: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {text}"}


@pytest.fixture(scope="module")
def world(stack: Stack) -> dict[str, str]:
    """Two pools of two customers each, with invoices due 2026-03-31; API tokens of a
    supervisor and an agent of the north pool, an agent of the south pool, an admin who may
    view all pools."""
    stack.pool(POOL, "nora")
    stack.pool(OTHER_POOL, "sam")
    for customer, responsible, amount in (
        ("N-1", "nora", "500.00"),
        ("N-2", "nora", "80.00"),
        ("S-1", "sam", "700.00"),
    ):
        stack.register(customer, responsible)
        stack.invoice(customer, f"INV-{customer}", amount)
    # a south invoice paid 16 days early: the company's basis of expected payment dates
    stack.register("S-2", "sam")
    invoice = stack.invoice("S-2", "INV-S-2", "300.00")
    stack.pay("S-2", invoice, "300.00", "2026-03-15")
    stack.wait_for_aging("N-1", "N-2", "S-1", "S-2")
    stack.account("nora", {Role.SUPERVISOR}, (POOL,))
    _, supervisor = stack.token("north-supervisor", {Role.SUPERVISOR}, (POOL,))
    _, agent = stack.token("north-agent", {Role.AGENT}, (POOL,))
    _, south = stack.token("south-agent", {Role.AGENT}, (OTHER_POOL,))
    _, admin = stack.token("admin-all", {Role.ADMIN}, may_view_all=True)
    return {"supervisor": supervisor, "agent": agent, "south": south, "admin": admin}


@pytest.fixture(scope="module")
def admin(stack: Stack) -> Iterator[Browser]:
    with stack.sign_in("admin", ADMIN_PASSWORD) as browser:
        yield browser


def versions(stack: Stack, scope: str) -> list[dict[str, Any]]:
    with stack.client("aging") as aging:
        answer = aging.get(strategy_path(scope, "/versions"))
    if answer.status_code == 404:
        return []
    found: list[dict[str, Any]] = answer.json()["versions"]
    return found


def test_the_api_forwards_strategies_with_roles_scope_and_the_caller_as_author(
    stack: Stack, world: dict[str, str]
) -> None:
    with stack.client() as gateway:
        put = gateway.put(
            strategy_path(POOL), json={"steps": STEPS}, headers=bearer(world["supervisor"])
        )
        assert put.status_code == 200, put.text
        made = put.json()
        assert made["created"] is True
        assert made["created_by"] == "token:north-supervisor"
        assert [s["offset_days"] for s in made["steps"]] == [3, 15, 20]

        # an agent of the pool reads it, and its history, but may not change it
        read = gateway.get(strategy_path(POOL), headers=bearer(world["agent"]))
        assert read.status_code == 200 and read.json()["version"] == made["version"]
        history = gateway.get(strategy_path(POOL, "/versions"), headers=bearer(world["agent"]))
        assert [v["version"] for v in history.json()["versions"]] == [made["version"]]
        refused = gateway.put(
            strategy_path(POOL), json={"steps": STEPS[:1]}, headers=bearer(world["agent"])
        )
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"

        # another pool's agent does not see it at all; the default's customers are for
        # those who may view all pools
        for path in (strategy_path(POOL), strategy_path(POOL, "/versions")):
            hidden = gateway.get(path, headers=bearer(world["south"]))
            assert hidden.status_code == 404 and hidden.json()["code"] == "unknown_pool"
        default_run = gateway.post(
            strategy_path("default", "/backtest"), json=PERIOD, headers=bearer(world["agent"])
        )
        assert default_run.status_code == 404
        default_put = gateway.put(
            strategy_path("default"), json={"steps": STEPS}, headers=bearer(world["supervisor"])
        )
        assert default_put.status_code == 404
        assert versions(stack, "default") == []

        # the dry run and the backtest answer what the aging service answers
        due = gateway.get(
            strategy_path(POOL, "/due"),
            params={"as_of": "2026-04-03", "version": made["version"]},
            headers=bearer(world["agent"]),
        )
        assert due.status_code == 200, due.text
        assert {(i["customer_id"], i["kind"]) for i in due.json()["items"]} == {
            ("N-1", "reminder_email"),
            ("N-2", "reminder_email"),
        }
        through = gateway.post(
            strategy_path(POOL, "/backtest"), json=PERIOD, headers=bearer(world["agent"])
        )
    with stack.client("aging") as aging:
        direct = aging.post(strategy_path(POOL, "/backtest"), json=PERIOD)
    assert through.status_code == direct.status_code == 200
    assert through.json() == direct.json()
    report = through.json()
    # the letter needs 100 open: N-2 (80.00) gets the reminder only
    assert report["items_covered"] == 2 and report["customers_contacted"] == 2
    by_currency = report["amount_covered_by_currency"]
    assert {currency: Decimal(amount) for currency, amount in by_currency.items()} == {
        "USD": Decimal("580")
    }
    assert Decimal(report["amount_covered"]) == Decimal("580")
    assert report["limitations"]


def test_the_api_passes_the_aging_services_problems_through_and_changes_nothing(
    stack: Stack, world: dict[str, str]
) -> None:
    before = versions(stack, POOL)
    with stack.client() as gateway:
        bad = gateway.put(
            strategy_path(POOL),
            json={"steps": [{"kind": "letter", "days": 15}]},
            headers=bearer(world["admin"]),
        )
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["code"] == "invalid_strategy"
        assert "steps[0]: a letter needs its level" in bad.json()["detail"]
        period = gateway.post(
            strategy_path(POOL, "/backtest"),
            json={"from": "2026-05-01", "to": "2026-04-01"},
            headers=bearer(world["admin"]),
        )
        assert period.status_code == 422 and period.json()["code"] == "invalid_period"
        unknown = gateway.get(strategy_path("no-such-pool"), headers=bearer(world["admin"]))
        assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_strategy"
        anonymous = gateway.get(strategy_path(POOL))
        assert anonymous.status_code == 401
    assert versions(stack, POOL) == before


def test_the_expected_payment_dates_are_forwarded_for_customers_in_scope(
    stack: Stack, world: dict[str, str]
) -> None:
    path = f"/v1/companies/{COMPANY}/customers/N-1/expected-payments"
    with stack.client() as gateway:
        mine = gateway.get(path, params={"as_of": "2026-06-01"}, headers=bearer(world["agent"]))
        other = gateway.get(path, headers=bearer(world["south"]))
    with stack.client("aging") as aging:
        direct = aging.get(path, params={"as_of": "2026-06-01"})
    assert mine.status_code == 200 and mine.json() == direct.json()
    (item,) = mine.json()["items"]
    assert (item["basis"], item["expected_date"], item["sample_size"]) == (
        "company",
        "2026-03-15",
        1,
    )
    assert other.status_code == 404 and other.json()["code"] == "unknown_customer"


def test_the_open_transactions_tab_says_when_an_invoice_is_expected_to_be_paid(
    stack: Stack, world: dict[str, str]
) -> None:
    words = "expected 15 Mar 2026 (median 16 days early over 1 invoice of the company)"
    with stack.sign_in("nora") as supervisor:
        page = supervisor.http.get(f"/companies/{COMPANY}/customers/N-1")
        assert page.status_code == 200, page.text
        assert f'class="expected" title="{words}">2026-03-31' in html.unescape(page.text)
        disputed = supervisor.http.get(
            f"/companies/{COMPANY}/customers/N-1", params={"tab": "disputed"}
        )
        assert "expected 15 Mar" not in disputed.text


def rows(*steps: dict[str, str]) -> dict[str, list[str]]:
    """The editor's posted columns for these rows (blank fields filled in)."""
    blank = {
        "kind": "",
        "level": "",
        "days": "",
        "relative_to": "due_date",
        "min_amount": "",
        "min_risk_score": "",
        "max_risk_score": "",
        "segments": "",
        "disputed": "skip",
        "promised": "skip",
    }
    filled = [blank | step for step in (*steps, {})]
    return {f"step_{name}": [row[name] for row in filled] for name in blank}


def test_the_editor_makes_a_version_from_its_rows_and_keeps_them_when_refused(
    stack: Stack, world: dict[str, str], admin: Browser
) -> None:
    before = versions(stack, "default")
    form = {"company": COMPANY, "scope": "default"}

    # refused by the aging service: its reason beside the form, the rows as typed
    refused = admin.form(
        "/admin/strategies",
        form | rows({"kind": "reminder_email", "days": "-3"}, {"kind": "letter", "days": "17"}),
    )
    assert refused.status_code == 422
    page = html.unescape(refused.text)
    assert "the aging service refused it: step 2: a letter needs its level" in page
    assert 'name="step_days" aria-label="Days of step 2" value="17"' in refused.text
    assert 'value="-3"' in refused.text

    # refused before it is sent: days that are not a number
    typo = admin.form("/admin/strategies", form | rows({"kind": "call", "days": "ten"}))
    assert typo.status_code == 422
    assert "step 1 (row 1): days must be a whole number" in html.unescape(typo.text)
    assert 'value="ten"' in typo.text
    assert versions(stack, "default") == before

    steps = rows(
        {"kind": "reminder_email", "days": "-3"},
        {"kind": "letter", "level": "1", "days": "15", "min_amount": "50"},
        {
            "kind": "call",
            "days": "10",
            "relative_to": "previous_step",
            "min_risk_score": "200",
            "max_risk_score": "800",
            "segments": "Key, Standard",
            "disputed": "act",
        },
    )
    saved = admin.form("/admin/strategies", form | steps)
    assert saved.status_code == 303, saved.text
    after = versions(stack, "default")
    assert len(after) == len(before) + 1
    newest = after[-1]
    assert newest["created_by"] == "admin"
    assert [(s["kind"], s["days"], s["relative_to"], s["level"]) for s in newest["steps"]] == [
        ("reminder_email", -3, "due_date", None),
        ("letter", 15, "due_date", 1),
        ("call", 10, "previous_step", None),
    ]
    call = newest["steps"][2]["conditions"]
    assert call["segments"] == ["Key", "Standard"]
    assert Decimal(call["min_risk_score"]) == 200 and Decimal(call["max_risk_score"]) == 800
    assert call["skip_disputed"] is False and call["skip_promised"] is True

    shown = html.unescape(admin.http.get(saved.headers["location"]).text)
    assert f"Version {newest['version']} of the strategy of default saved" in shown
    for words in (
        "3 days before the due date",
        "+15 days after the due date",
        "+10 days after the previous step",
        "Letter, level 1",
        "open amount at least 50",
        "risk score 200 to 800; credit group Key or Standard; also while disputed",
    ):
        assert words in shown, words
    assert re.search(rf"Version {newest['version']}</a> \(in force\)</td><td>admin</td>", shown)

    # the same steps again add nothing
    again = admin.form("/admin/strategies", form | steps)
    assert again.status_code == 303
    assert "No change" in admin.http.get(again.headers["location"]).text
    assert len(versions(stack, "default")) == len(after)


def test_the_pages_are_for_supervisors_and_admins_in_their_pools(
    stack: Stack, world: dict[str, str]
) -> None:
    stack.account("ana", {Role.AGENT}, (POOL,))
    with stack.sign_in("ana") as agent:
        assert agent.http.get("/admin/strategies").status_code == 403
        assert agent.http.get("/admin/strategies/backtest").status_code == 403
        posted = agent.form("/admin/strategies", {"company": COMPANY, "scope": POOL})
        assert posted.status_code == 403
    with stack.sign_in("nora") as supervisor:
        page = supervisor.http.get("/admin/strategies")
        assert page.status_code == 200
        assert f'<option value="{POOL}" selected>' in page.text
        assert 'value="default"' not in page.text and OTHER_POOL not in page.text
        assert 'href="/admin/strategies">Strategies</a>' in page.text
        other = supervisor.http.get("/admin/strategies", params={"scope": OTHER_POOL})
        assert other.status_code == 404
        before = versions(stack, POOL)
        steps = rows({"kind": "call", "days": "40"})
        for scope in (OTHER_POOL, "default", ""):
            refused = supervisor.form("/admin/strategies", {"company": COMPANY, "scope": scope})
            assert refused.status_code == 404, scope
        no_token = supervisor.form(
            "/admin/strategies", {"company": COMPANY, "scope": POOL} | steps, csrf=False
        )
        assert no_token.status_code == 403
        assert versions(stack, POOL) == before
        saved = supervisor.form("/admin/strategies", {"company": COMPANY, "scope": POOL} | steps)
        assert saved.status_code == 303
        assert versions(stack, POOL)[-1]["created_by"] == "nora"


def test_the_backtest_page_shows_the_aging_services_report(
    stack: Stack, world: dict[str, str], admin: Browser
) -> None:
    with stack.client("aging") as aging:
        report = aging.post(strategy_path(POOL, "/backtest"), json=PERIOD).json()
    page = admin.http.get(
        "/admin/strategies/backtest", params={"company": COMPANY, "scope": POOL, **PERIOD}
    )
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert f'id="bt-contacted">{report["customers_contacted"]}<' in text
    assert f'id="bt-items">{report["items_covered"]}<' in text
    assert "580.00 USD" in text
    assert f"Version {report['version']} of {POOL}, 2026-03-01 to 2026-05-31" in text
    for week in report["weeks"]:
        assert f"<td>{week['week']}</td>" in text
    assert report["limitations"][0] in text

    bad = admin.http.get(
        "/admin/strategies/backtest",
        params={"company": COMPANY, "scope": POOL, "from": "2026-05-01", "to": "2026-04-01"},
    )
    assert bad.status_code == 422
    assert "to 2026-04-01 precedes from 2026-05-01" in html.unescape(bad.text)
    assert 'value="2026-05-01"' in bad.text
    typo = admin.http.get(
        "/admin/strategies/backtest",
        params={"company": COMPANY, "scope": POOL, "from": "May", "to": "2026-04-01"},
    )
    assert typo.status_code == 422 and "from is a date" in html.unescape(typo.text)


def test_an_aging_service_that_does_not_answer_is_a_503_with_retry_after(
    stack: Stack, world: dict[str, str], admin: Browser
) -> None:
    """The gateway's upstream errors, on these routes: aging reached on a closed port."""
    assert stack.gateway_app is not None
    gateway = stack.gateway_app.state.ctx.extras["gateway"]
    aging = gateway.upstreams.clients["aging"]
    working = aging.base_url
    aging.base_url = httpx.URL("http://127.0.0.1:9")
    try:
        with stack.client() as client:
            answer = client.get(strategy_path(POOL), headers=bearer(world["admin"]))
        assert answer.status_code == 503
        assert answer.json()["code"] == "upstream_unavailable"
        assert int(answer.headers["retry-after"]) > 0
        page = admin.http.get(
            "/admin/strategies/backtest", params={"company": COMPANY, "scope": POOL, **PERIOD}
        )
        assert page.status_code == 503 and int(page.headers["retry-after"]) > 0
    finally:
        aging.base_url = working
