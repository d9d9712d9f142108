"""Every event type through its topic on the real broker, CloudEvents headers intact."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from arrears.shared.codec import decode
from arrears.shared.events.registry import ALL_EVENTS
from arrears.shared.events.samples import sample_events
from arrears.shared.kafka import create_broker, ensure_topics, publish_event, topic_names
from arrears.shared.settings import ServiceSettings
from arrears.shared.topics import ALL_TOPICS
from tests.support import read_topic

pytestmark = pytest.mark.integration


async def test_every_event_type_round_trips_through_its_topic(settings: ServiceSettings) -> None:
    await ensure_topics(settings.kafka_bootstrap, topic_names(settings), partitions=3)
    events = sample_events(
        company="usmf", customer_id="US-004", start=datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
    )
    assert {e.type for e in events} == {cls.model_fields["type"].default for cls in ALL_EVENTS}
    broker = create_broker(settings)
    await broker.start()
    try:
        for event in events:
            await publish_event(broker, settings, event)
    finally:
        await broker.stop()

    sent = {e.event_id: e for e in events}
    seen = 0
    for topic in ALL_TOPICS:
        expected = [e for e in events if e.topic == topic]
        records = await read_topic(
            settings.kafka_bootstrap, settings.topic_name(topic), len(expected)
        )
        assert len(records) == len(expected)
        for record in records:
            headers = {k: v.decode() for k, v in record.headers}
            event = decode(record.value, record.headers, record.key)
            original = sent[event.event_id]
            assert event == original
            assert event.model_dump_json() == original.model_dump_json()
            assert record.key == b"usmf/US-004"
            assert headers["ce_specversion"] == "1.0"
            assert headers["ce_id"] == str(original.event_id)
            assert headers["ce_type"] == original.type
            assert headers["ce_source"] == "/arrears/test"
            assert headers["ce_subject"] == "usmf/US-004"
            assert headers["ce_time"] == original.recorded_at.isoformat().replace("+00:00", "Z")
            assert headers["content-type"] == "application/json"
            seen += 1
    assert seen == len(events)
