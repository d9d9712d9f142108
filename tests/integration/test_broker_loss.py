"""A broker that loses its data (the in-memory broker restarted) while the services run: every
publisher recreates its topics and queues again what it owns, with no manual step. Aging's
`arrears.aging.v1` events are back on the new broker, and summary ends equal to a fresh
computation from the ledger's store and aging's."""

from __future__ import annotations

import pytest

from arrears.aging.handlers import published_state
from arrears.aging.settings import AgingSettings
from arrears.cli.infra import LocalBroker
from arrears.cli.replay import replay
from arrears.shared.codec import decode
from arrears.shared.db import create_engine
from arrears.shared.settings import ServiceSettings
from arrears.shared.topics import AGING
from tests.integration.ledger.conftest import LedgerHarness, ledger
from tests.integration.summary.conftest import aging_and_summary
from tests.integration.summary.test_replay import caught_up, facts_of
from tests.integration.summary.test_summary_api import history_of_s1
from tests.support import read_topic, wait_until

__all__ = ["ledger"]

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings: ServiceSettings, own_broker: LocalBroker) -> ServiceSettings:
    """The test's settings on a broker of its own, which it restarts."""
    return settings.model_copy(update={"kafka_bootstrap": own_broker.bootstrap})


async def aging_published(aging: AgingSettings) -> dict[str, str]:
    """Customer → the event id of the last CustomerAgingChanged aging stored as published."""
    engine = create_engine(aging.database_url, aging.schema_name)
    try:
        return {
            e.customer_id: str(e.event_id)
            async for events in published_state(engine)
            for e in events
            if e.type == "CustomerAgingChanged"
        }
    finally:
        await engine.dispose()


async def aging_on_topic(bootstrap: str, aging: AgingSettings, count: int) -> dict[str, set[str]]:
    records = await read_topic(bootstrap, aging.topic_name(AGING), count, timeout=10)
    found: dict[str, set[str]] = {}
    for record in records:
        event = decode(record.value, record.headers, record.key)
        if event.type == "CustomerAgingChanged":
            found.setdefault(event.customer_id, set()).add(str(event.event_id))
    return found


async def test_a_broker_that_lost_everything_gets_what_every_publisher_owns_again(
    ledger: LedgerHarness, own_broker: LocalBroker
) -> None:
    h = ledger
    await history_of_s1(h)
    await h.register("BL-1", profile={"name": "Broker Loss Ltd"})
    invoice = await h.invoice("BL-1", "BL-1-1", "75.00")
    customers = ["BL-1", "S-1"]
    async with aging_and_summary(h) as (aging, live, _):
        await caught_up(h, live, customers)
        before = await aging_published(aging)
        assert set(before) == set(customers)

        own_broker.restart()  # in memory: every topic, message and group offset is gone

        # No manual step: aging queues its published state again, under the same event ids.
        republished = await wait_until(
            lambda: _aging_on_topic_or_nothing(own_broker.bootstrap, aging, len(customers)),
            lambda found: all(before[c] in found.get(c, set()) for c in customers),
            timeout=240,
            what="aging's events republished on the new broker",
        )
        assert set(republished) == set(customers)

        # The system goes on: a payment after the loss reaches aging and summary.
        payment = await h.client.post(
            h.url("BL-1", "/payments"),
            json={"payment_date": "2026-06-15", "amount": "75.00"},
        )
        assert payment.status_code == 201, payment.text
        paid = payment.json()["events"][0]["data"]["transaction_id"]
        settle = await h.client.post(
            h.url("BL-1", "/settlements"),
            json={
                "paying_transaction_id": paid,
                "settlement_date": "2026-06-15",
                "allocations": [{"transaction_id": invoice}],
            },
        )
        assert settle.status_code == 201, settle.text
        await caught_up(h, live, customers)
        await wait_until(
            lambda: facts_of(live.database_url, live.schema_name, customers),
            lambda sheets: sheets[0].value("history.invoices_paid") == 1,
            timeout=240,
            what="aging's open amounts after the loss to reach summary",
        )
        live_facts = await facts_of(live.database_url, live.schema_name, customers)

    fresh = h.settings.schema_name + "_fresh"
    await replay(
        "summary",
        h.settings.database_url,
        schema=fresh,
        ledger_schema=h.settings.schema_name,
        aging_schema=aging.schema_name,
    )
    assert await facts_of(h.settings.database_url, fresh, customers) == live_facts


async def _aging_on_topic_or_nothing(
    bootstrap: str, aging: AgingSettings, count: int
) -> dict[str, set[str]]:
    try:
        return await aging_on_topic(bootstrap, aging, count)
    except AssertionError:  # not there yet
        return {}
