"""The aging service on the real broker and database, fed by the real ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from arrears.aging.app import SPEC as AGING_SERVICE
from arrears.aging.settings import AgingSettings
from arrears.shared.codec import decode
from arrears.shared.topics import AGING
from tests.integration.ledger.conftest import LedgerHarness
from tests.support import read_topic, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
async def aging(ledger: LedgerHarness) -> AsyncIterator[httpx.AsyncClient]:
    settings = AgingSettings(
        **(ledger.settings.model_dump() | {"db_schema": ledger.settings.schema_name + "_aging"})
    )
    app = AGING_SERVICE.create_app(settings, clock=ledger.clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://aging") as client:
            yield client


async def post(h: LedgerHarness, customer: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await h.client.post(h.url(customer, path), json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["events"][0]["data"]
    return data


async def test_aged_balances_live_and_as_of(
    ledger: LedgerHarness, aging: httpx.AsyncClient
) -> None:
    h = ledger  # today is 2026-06-15
    await h.register("A-1", credit_limit="5000.00")
    inv_old = await post(
        h,
        "A-1",
        "/invoices",
        {
            "document_number": "A-1-1",
            "posting_date": "2026-01-01",
            "due_date": "2026-02-01",
            "amount": "1000.00",
        },
    )
    await post(
        h,
        "A-1",
        "/invoices",
        {
            "document_number": "A-1-2",
            "posting_date": "2026-05-01",
            "due_date": "2026-05-31",
            "amount": "300.00",
        },
    )
    await post(
        h,
        "A-1",
        "/invoices",
        {
            "document_number": "A-1-3",
            "posting_date": "2026-06-10",
            "due_date": "2026-07-10",
            "amount": "200.00",
        },
    )
    payment = await post(h, "A-1", "/payments", {"payment_date": "2026-03-01", "amount": "400.00"})
    await post(
        h,
        "A-1",
        "/settlements",
        {
            "paying_transaction_id": payment["transaction_id"],
            "allocations": [{"transaction_id": inv_old["transaction_id"]}],
        },
    )
    dispute = await h.client.put(
        h.url("A-1", f"/transactions/{inv_old['transaction_id']}/collection-status"),
        json={"status": "disputed"},
    )
    assert dispute.status_code == 201

    async def aged() -> dict[str, Any]:
        response = await aging.get("/v1/companies/usmf/customers/A-1/aging")
        return response.json() if response.status_code == 200 else {}

    def settled(body: dict[str, Any]) -> bool:
        """Every event seen: the balance is 1,100 both before and after the settlement
        (payment netted or applied), so wait for the settled oldest period and the dispute,
        which travel on two topics."""
        aging = body.get("aging", {})
        periods = {p["name"]: Decimal(p["amount"]) for p in aging.get("periods", ())}
        return periods.get("Over 120") == 600 and aging.get("disputed_count") == 1

    body = await wait_until(aged, settled, timeout=60, what="aging to see every event")
    balance = body["aging"]
    periods = {p["name"]: p["amount"] for p in balance["periods"]}
    assert sum(map(Decimal, periods.values())) == Decimal(1100)
    assert Decimal(periods["Current"]) == 200
    assert Decimal(periods["1-30"]) == 300
    assert Decimal(periods["Over 120"]) == 600
    assert Decimal(balance["overdue"]) == 900
    assert balance["disputed_count"] == 1 and Decimal(balance["credit_remaining"]) == 3900
    assert body["header"]["open_invoice_count"] == 3
    # the figures say which ledger position they reflect: the stream's head (the ledger's
    # position route answers it) once every event is applied
    head = (await h.client.get(h.url("A-1", "/position"))).json()
    assert head["sequence"] == len(await h.stream("A-1"))
    assert body["position"]["sequence"] == head["sequence"]
    assert body["position"]["recorded_at"] == head["recorded_at"]

    # As of a past date: before the payment, only the first invoice existed.
    past = (
        await aging.get("/v1/companies/usmf/customers/A-1/aging", params={"as_of": "2026-02-15"})
    ).json()["aging"]
    assert Decimal(past["balance"]) == 1000 and Decimal(past["overdue"]) == 1000
    before = (
        await aging.get("/v1/companies/usmf/customers/A-1/aging", params={"as_of": "2025-12-31"})
    ).json()["aging"]
    assert Decimal(before["balance"]) == 0

    tabs = (
        await aging.get("/v1/companies/usmf/customers/A-1/transactions", params={"tab": "disputed"})
    ).json()
    assert [i["document_number"] for i in tabs["items"]] == ["A-1-1"]
    # A customer page reads the aging and its tabs at once: the same rows as tab by tab.
    combined = (
        await aging.get(
            "/v1/companies/usmf/customers/A-1/aging",
            params={"tab": ["open", "disputed", "unsettled_payments"]},
        )
    ).json()
    assert combined["aging"] == body["aging"]
    for tab in ("open", "disputed", "unsettled_payments"):
        alone = (
            await aging.get(
                "/v1/companies/usmf/customers/A-1/transactions", params={"tab": tab, "limit": 500}
            )
        ).json()
        assert combined["transactions"][tab] == alone, tab
    assert combined["transactions"]["open"]["total"] == 3
    assert "transactions" not in body

    # The lists read the stored aging, which the refresher writes off the event path.
    async def listed() -> dict[str, Any]:
        response = await aging.get("/v1/companies/usmf/aging", params={"sort": "balance"})
        return dict(response.json())

    top = await wait_until(
        listed,
        lambda body: bool(body["items"]) and Decimal(body["items"][0]["balance"]) == 1100,
        timeout=30,
        what="the refreshed aging in the list",
    )
    assert top["items"][0]["customer_id"] == "A-1"

    # Every change of the figures is published on arrears.aging.v1, the last one final.
    async def published() -> list[Any]:
        records = await read_topic(h.settings.kafka_bootstrap, h.settings.topic_name(AGING), 1)
        return [decode(r.value, r.headers, r.key) for r in records]

    def figures(events: list[Any]) -> list[Any]:
        return [e for e in events if e.type == "CustomerAgingChanged"]

    events = await wait_until(
        published,
        lambda events: any(
            e.data.balance.amount == Decimal("1100")
            and e.data.disputed_count == 1
            and Decimal(e.data.periods[-1].amount.amount) == 600
            for e in figures(events)
        ),
        timeout=30,
        what="CustomerAgingChanged with the final figures",
    )
    changes = figures(events)
    last = max(changes, key=lambda e: e.sequence)
    assert last.customer_id == "A-1"
    assert [e.sequence for e in sorted(changes, key=lambda e: e.sequence)] == list(
        range(1, len(changes) + 1)
    )
    assert last.data.position == len(await h.stream("A-1"))
    # Open amounts travel beside the figures, each revision's changed transactions before its
    # CustomerAgingChanged: the newest revision of each transaction is what aging holds.
    newest: dict[str, Any] = {}
    for e in sorted(events, key=lambda e: e.sequence):
        if e.type == "OpenItemsChanged":
            assert e.data.revision == e.sequence and e.data.position <= last.data.position
            newest.update({i.transaction_id: i for i in e.data.items})
    assert {tid: i.open_amount.amount for tid, i in newest.items()} == {
        inv_old["transaction_id"]: Decimal(600),
        payment["transaction_id"]: Decimal(0),
        **{i["transaction_id"]: Decimal(i["open_amount_txn"]) for i in tabs["items"]},
        **{
            i["transaction_id"]: Decimal(i["open_amount_txn"])
            for i in combined["transactions"]["open"]["items"]
        },
    }

    missing = await aging.get("/v1/companies/usmf/customers/NOPE/aging")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_customer"
    bad = await aging.get("/v1/companies/usmf/customers/A-1/aging", params={"as_of": "2026-02-30"})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_failed"


async def test_definitions_pools_lists_snapshots_and_kpis(
    ledger: LedgerHarness, aging: httpx.AsyncClient
) -> None:
    h = ledger
    for n, (amount, due) in enumerate(
        [("900.00", "2026-01-10"), ("120.00", "2026-06-01"), ("40.00", "2026-07-01")]
    ):
        await h.register(
            f"B-{n}", profile={"name": f"Buyer {n}", "credit_group": "retail" if n else "wholesale"}
        )
        await post(
            h,
            f"B-{n}",
            "/invoices",
            {
                "document_number": f"B-{n}-1",
                "posting_date": "2025-12-01",
                "due_date": due,
                "amount": amount,
            },
        )

    async def listed(**params: Any) -> dict[str, Any]:
        response = await aging.get("/v1/companies/usmf/aging", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    await wait_until(lambda: listed(), lambda b: b["total"] == 3, timeout=60, what="3 customers")
    top = await listed(sort="balance", order="desc")
    assert [r["customer_id"] for r in top["items"]] == ["B-0", "B-1", "B-2"]
    uncounted = await listed(sort="balance", order="desc", limit=2, count="false")
    assert uncounted == {"total": None, "items": top["items"][:2]}
    most_aged = await listed(sort="oldest_period", order="desc")
    assert most_aged["items"][0]["customer_id"] == "B-0"
    filtered = await listed(filter=["credit_group:eq:retail", "balance:gte:100"])
    assert [r["customer_id"] for r in filtered["items"]] == ["B-1"]
    bad = await aging.get("/v1/companies/usmf/aging", params={"filter": "colour:eq:red"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"

    pool = await aging.put(
        "/v1/companies/usmf/pools/big",
        json={
            "name": "Big balances",
            "filters": [{"field": "balance", "op": "gte", "value": "500"}],
        },
    )
    assert pool.status_code == 200, pool.text
    assert [r["customer_id"] for r in (await listed(pool_id="big"))["items"]] == ["B-0"]
    membership = await aging.post(
        "/v1/companies/usmf/pools/big/membership",
        json={"customers": ["B-2", "B-0", "NOPE", "B-1", "B-0"]},
    )
    assert membership.json() == {"pool_id": "big", "members": ["B-0"]}
    gone = await aging.post("/v1/companies/usmf/pools/nope/membership", json={"customers": []})
    assert gone.status_code == 404 and gone.json()["code"] == "unknown_pool"
    assert (
        await aging.get("/v1/companies/usmf/aging", params={"pool_id": "nope"})
    ).status_code == 404

    definition = await aging.put(
        "/v1/companies/usmf/aging-definitions/quarters",
        json={
            "name": "Quarters",
            "periods": [
                {"name": "Not due", "from_days": None, "to_days": 0},
                {"name": "1-90", "from_days": 1, "to_days": 90},
                {"name": "Over 90", "from_days": 91, "to_days": None},
            ],
        },
    )
    assert definition.status_code == 200, definition.text
    quarters = (
        await aging.get(
            "/v1/companies/usmf/customers/B-0/aging", params={"definition_id": "quarters"}
        )
    ).json()["aging"]
    assert [p["name"] for p in quarters["periods"]] == ["Not due", "1-90", "Over 90"]
    assert Decimal(quarters["periods"][2]["amount"]) == 900
    broken = await aging.put(
        "/v1/companies/usmf/aging-definitions/bad",
        json={
            "name": "Gap",
            "periods": [
                {"name": "a", "from_days": None, "to_days": 0},
                {"name": "b", "from_days": 5, "to_days": None},
            ],
        },
    )
    assert broken.status_code == 422

    taken = await aging.post("/v1/companies/usmf/snapshots", json={"as_of": "2026-05-31"})
    assert taken.status_code == 200 and taken.json()["customers"] == 3
    history = (await aging.get("/v1/companies/usmf/customers/B-0/snapshots")).json()["items"]
    assert any(s["as_of"] == "2026-05-31" and s["header"]["balance"] == "900.00" for s in history)

    kpis = await aging.get(
        "/v1/companies/usmf/kpis", params={"start": "2025-12-01", "end": "2026-05-31"}
    )
    assert kpis.status_code == 200, kpis.text
    assert Decimal(kpis.json()["inputs"]["credit_sales"]) == 1060
    assert kpis.json()["kpis"]["cei"] is not None
    in_pool = await aging.get(
        "/v1/companies/usmf/kpis",
        params={"start": "2025-12-01", "end": "2026-05-31", "pool_id": "big"},
    )
    assert Decimal(in_pool.json()["inputs"]["credit_sales"]) == 900
    one = await aging.get(
        "/v1/companies/usmf/kpis",
        params={"start": "2025-12-01", "end": "2026-05-31", "customer_id": "B-1"},
    )
    assert Decimal(one.json()["inputs"]["credit_sales"]) == 120
    reversed_period = await aging.get(
        "/v1/companies/usmf/kpis", params={"start": "2026-05-31", "end": "2026-01-01"}
    )
    assert reversed_period.status_code == 422
    by_filter = await aging.get(
        "/v1/companies/usmf/kpis",
        params={"start": "2025-12-01", "end": "2026-05-31", "filter": "credit_group:eq:retail"},
    )
    assert Decimal(by_filter.json()["inputs"]["credit_sales"]) == 160
    assert by_filter.json()["promises"] == {"kept": 0, "broken": 0}

    behind = await aging.get(
        "/v1/companies/usmf/kpis/customers", params={"start": "2025-12-01", "end": "2026-05-31"}
    )
    assert behind.status_code == 200, behind.text
    items = behind.json()["items"]
    assert [(i["customer_id"], i["name"]) for i in items] == [
        ("B-0", "Buyer 0"),
        ("B-1", "Buyer 1"),
        ("B-2", "Buyer 2"),
    ]
    for field in ("beginning_receivables", "ending_receivables", "credit_sales"):
        total = sum(Decimal(i["inputs"][field]) for i in items)
        assert total == Decimal(kpis.json()["inputs"][field]), field
    assert items[1]["kpis"]["dso"] == one.json()["kpis"]["dso"]
    pooled = await aging.get(
        "/v1/companies/usmf/kpis/customers",
        params={"start": "2025-12-01", "end": "2026-05-31", "pool_id": "big"},
    )
    assert [i["customer_id"] for i in pooled.json()["items"]] == ["B-0"]
    monthly = await aging.get(
        "/v1/companies/usmf/kpis/months", params={"end": "2026-05-31", "months": 6}
    )
    assert monthly.status_code == 200, monthly.text
    months = monthly.json()["months"]
    assert (months[0]["start"], months[0]["end"]) == ("2025-12-01", "2025-12-31")
    assert (months[-1]["start"], months[-1]["end"]) == ("2026-05-01", "2026-05-31")
    assert Decimal(months[0]["inputs"]["credit_sales"]) == 1060
    assert Decimal(months[-1]["inputs"]["ending_receivables"]) == Decimal(
        kpis.json()["inputs"]["ending_receivables"]
    )
    too_many = await aging.get(
        "/v1/companies/usmf/kpis/months", params={"end": "2026-05-31", "months": 99}
    )
    assert too_many.status_code == 422
