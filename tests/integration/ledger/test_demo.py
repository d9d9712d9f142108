"""`arrears demo` writes a realistic history through the ledger's own commands: every event type
it promises, nothing refused, the same facts for the same seed, untrusted text stored as is."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from arrears.cli.ledger_access import open_ledger
from arrears.demo import (
    AGENTS,
    PROMISED_EVENT_TYPES,
    XSS_CUSTOMER_NAME,
    XSS_MEMO,
    DemoConflict,
    DemoSummary,
    generate,
)
from arrears.ledger import store
from arrears.shared.clock import FixedClock
from arrears.shared.events.envelope import Event
from arrears.shared.events.registry import parse_event
from tests.conftest import unique_name

pytestmark = pytest.mark.integration

TODAY = date(2025, 6, 30)
CUSTOMERS, MONTHS, SEED = 8, 6, 11
LEDGER_ID = re.compile(r"^[A-Z]+-[0-9a-f]{32}$")
"""Ids the ledger assigns (prefix and a UUIDv7): they differ between runs."""


@dataclass
class DemoRun:
    summary: DemoSummary
    events: list[Event]
    raw: list[dict[str, Any]]


async def run_demo(postgres_url: str, seed: int) -> DemoRun:
    clock = FixedClock(datetime(2020, 1, 1, tzinfo=UTC))
    async with open_ledger(postgres_url, schema=unique_name("demo"), clock=clock) as ledger:
        summary = await generate(ledger, customers=CUSTOMERS, months=MONTHS, seed=seed, today=TODAY)
        raw = [
            envelope async for batch in store.iterate_events(ledger.engine) for _, envelope in batch
        ]
    return DemoRun(summary, [parse_event(envelope) for envelope in raw], raw)


@pytest.fixture(scope="module")
async def first(postgres_url: str) -> DemoRun:
    return await run_demo(postgres_url, SEED)


@pytest.fixture(scope="module")
async def second(postgres_url: str) -> DemoRun:
    return await run_demo(postgres_url, SEED)


def facts(events: list[Event]) -> list[tuple[Any, ...]]:
    """Each event as (customer, sequence, type, occurred_at, recorded_at, actor, data) with the
    ledger's ids blanked out, in stream order."""

    def blank(value: Any) -> Any:
        if isinstance(value, str) and LEDGER_ID.match(value):
            return "<id>"
        if isinstance(value, dict):
            return {k: blank(v) for k, v in value.items()}
        if isinstance(value, list):
            return [blank(v) for v in value]
        return value

    ordered = sorted(events, key=lambda e: (e.customer_id, e.sequence))
    return [
        (
            e.customer_id,
            e.sequence,
            e.type,
            e.occurred_at,
            e.recorded_at,
            e.actor,
            json.dumps(blank(e.data.model_dump(mode="json")), sort_keys=True),
        )
        for e in ordered
    ]


async def test_every_promised_event_type_is_written_and_nothing_refused(first: DemoRun) -> None:
    written = Counter(e.type for e in first.events)
    missing = [t for t in PROMISED_EVENT_TYPES if not written[t]]
    assert not missing, f"the demo wrote no {missing}"
    # generate() stops at the first refused command and at any effect the plan did not foresee;
    # that it returned, with a count equal to what is stored, means every command was accepted.
    assert first.summary.events == len(first.events)
    assert first.summary.events_by_type == dict(sorted(written.items()))
    assert first.summary.customers == CUSTOMERS
    assert len({e.customer_id for e in first.events}) == CUSTOMERS
    assert min(e.occurred_at for e in first.events).date() >= date(2024, 12, 30)
    assert max(e.occurred_at for e in first.events).date() <= TODAY


async def test_the_same_seed_gives_the_same_facts(first: DemoRun, second: DemoRun) -> None:
    assert {e.event_id for e in first.events}.isdisjoint(e.event_id for e in second.events)
    assert facts(first.events) == facts(second.events)


async def test_another_seed_gives_other_facts(first: DemoRun, postgres_url: str) -> None:
    other = await run_demo(postgres_url, SEED + 1)
    assert facts(other.events) != facts(first.events)


async def test_untrusted_text_is_stored_verbatim(first: DemoRun) -> None:
    names = [e["data"]["profile"]["name"] for e in first.raw if e["type"] == "CustomerRegistered"]
    assert XSS_CUSTOMER_NAME in names
    memos = [
        (e["data"].get("memo"), e["data"]["responsible"])
        for e in first.raw
        if e["type"] == "ActivityCreated"
    ]
    assert (XSS_MEMO, "anna") in memos


async def test_every_agent_has_overdue_and_upcoming_open_activities(first: DemoRun) -> None:
    open_activities: dict[str, Any] = {}
    for event in sorted(first.events, key=lambda e: (e.customer_id, e.sequence)):
        if event.type == "ActivityCreated":
            open_activities[event.data.activity_id] = event.data
        elif event.type == "ActivityChanged" and event.data.activity_id in open_activities:
            changes = event.data.changes.model_dump(exclude_none=True)
            merged = open_activities[event.data.activity_id].model_copy(update=changes)
            open_activities[event.data.activity_id] = merged
        elif event.type == "ActivityClosed":
            open_activities.pop(event.data.activity_id, None)
    now = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC)
    for agent in AGENTS:
        ends = [a.end for a in open_activities.values() if a.responsible == agent]
        assert any(end < now for end in ends), f"{agent} has no overdue open activity"
        assert any(end > now for end in ends), f"{agent} has no upcoming open activity"


async def test_two_currencies_with_exchange_rates(first: DemoRun) -> None:
    invoices = [e.data for e in first.events if e.type == "InvoicePosted"]
    currencies = {i.amount.currency for i in invoices}
    assert currencies == {"USD", "EUR"}
    for invoice in invoices:
        assert invoice.accounting_amount.currency == "USD"
        if invoice.amount.currency == "EUR":
            assert Decimal("1.0") <= invoice.exchange_rate <= Decimal("1.2")
            assert invoice.accounting_amount.amount != invoice.amount.amount


async def test_the_demo_refuses_a_company_that_already_has_it(postgres_url: str) -> None:
    clock = FixedClock(datetime(2020, 1, 1, tzinfo=UTC))
    async with open_ledger(postgres_url, schema=unique_name("demo"), clock=clock) as ledger:
        await generate(ledger, customers=2, months=1, seed=3, today=TODAY)
        before = await store.count_events(ledger.engine)
        with pytest.raises(DemoConflict):
            await generate(ledger, customers=2, months=1, seed=4, today=TODAY)
        assert await store.count_events(ledger.engine) == before
