"""The summary projections on the real database: the same facts whatever the cross-topic
interleaving, batch boundaries and redeliveries, and the same as the in-memory reference."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import pytest

from arrears.shared.consumer import BatchConsumer, Delivered
from arrears.shared.db import create_engine
from arrears.shared.events.envelope import Event
from arrears.shared.kafka import create_broker
from arrears.shared.migrations import upgrade
from arrears.shared.settings import ServiceSettings
from arrears.summary import store
from arrears.summary.app import SPEC
from arrears.summary.domain import FactSheet, compute_facts
from arrears.summary.handlers import AgingFacts, LedgerFacts
from arrears.summary.settings import SummarySettings
from tests.unit.aging import Story, arrivals
from tests.unit.summary import INJECTION, activity, aging_event
from tests.unit.summary.reference import MemoryReadModel
from tests.unit.summary.test_facts import regular

pytestmark = pytest.mark.integration

TODAY = date(2025, 6, 1)


def story_with_everything() -> tuple[Story, list[Event]]:
    s, ids = regular()
    s.on(date(2025, 5, 12))
    fee = s.fee("15.00")
    assert s.waive(fee) and s.reinstate(fee)
    payment = s.payment("100.00")
    s.settle(payment, [(ids["i3"], Decimal("100.00"))])
    s.on(date(2025, 5, 14))
    assert s.nsf(payment, fee=Decimal("20.00"))
    bounced = s.payment("50.00")
    settlement = s.settle(bounced, [(ids["i3"], None)])
    assert settlement is not None and s.reverse(settlement)
    assert s.write_off([(fee, None)])
    s.change_profile(account_status="on hold", language="de")
    activity(s, "Call about the promise", INJECTION)
    s.change_credit_limit(Decimal("8000.00"))
    agings = [
        aging_event(s, revision=1, balance="815.00", periods=["15.00", "800.00"]),
        aging_event(
            s, revision=2, balance="700.00", periods=["0", "700.00"], credit_limit="8000.00"
        ),
    ]
    return s, [*s.events, *agings[::-1]]


async def project(settings: ServiceSettings, arrivals_: Sequence[Event], seed: int) -> FactSheet:
    """Apply the events through the real batch consumers in random batch sizes."""
    summary_settings = SummarySettings(**settings.model_dump())
    engine = create_engine(summary_settings.database_url, summary_settings.schema_name)
    try:
        await upgrade(engine, SPEC.migrations, summary_settings.schema_name)
        broker = create_broker(summary_settings)
        consumers = [
            BatchConsumer(p, engine, broker, summary_settings)
            for p in (LedgerFacts(), AgingFacts())
        ]
        rng = random.Random(seed)
        position = 0
        while position < len(arrivals_):
            size = rng.randint(1, 7)
            batch = [
                Delivered(e, e.topic.name, 0, position + n)
                for n, e in enumerate(arrivals_[position : position + size])
            ]
            position += size
            for consumer in consumers:
                topics = set(consumer.projection.topics)
                await consumer.apply([d for d in batch if d.event.topic in topics])
        async with engine.connect() as conn:
            history = await store.load_history(conn, "usmf", "C-0001")
        return compute_facts(history, TODAY)
    finally:
        await engine.dispose()


async def test_any_interleaving_and_redelivery_give_the_reference_facts(
    settings: ServiceSettings,
) -> None:
    story, events = story_with_everything()
    reference = compute_facts(
        MemoryReadModel().apply_all(events).history(story.company, story.customer_id), TODAY
    )
    assert reference.get("debt.balance") is not None
    assert reference.value("debt.balance") == Decimal("700.00")  # the newer revision wins
    assert reference.value("credit.limit") == Decimal("8000.00")
    assert reference.value("history.returned_payments") == 1
    assert reference.language == "de"
    for attempt, seed in enumerate((3, 11)):
        schema = settings.model_copy(update={"db_schema": f"{settings.schema_name}_{attempt}"})
        order = arrivals(events, seed, redeliver=0.25)
        assert len(order) > len(events)
        facts = await project(schema, order, seed)
        assert facts == reference
