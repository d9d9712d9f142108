"""The outbox relay: publishes stored events to their topics, at least once, in stream order.

One relay is active at a time (a PostgreSQL advisory lock elects it). It takes the oldest
unpublished events, publishes them with their key and CloudEvents headers, waits for the
broker's acknowledgements and only then deletes their outbox rows, so a crash anywhere
re-publishes (consumers dedupe on event_id) and never loses an event.

The relay also notices a broker that lost its messages (the local in-memory broker after a
restart): a marker message it wrote is gone. It then queues every stored event again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import cast

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.ledger import store
from arrears.ledger.settings import LedgerSettings
from arrears.shared.codec import cloudevents_headers
from arrears.shared.db import leading
from arrears.shared.events.envelope import Event
from arrears.shared.kafka import BrokerMemory
from arrears.shared.logging import get_logger
from arrears.shared.topics import LEDGER_TOPICS
from arrears.shared.waiting import wait_event

TOPICS = {topic.name: topic for topic in LEDGER_TOPICS}

log = get_logger(__name__)

PUBLISHED = Counter("arrears_relay_published_total", "Events published by the outbox relay.")
BACKLOG = Gauge("arrears_relay_backlog", "Events stored but not yet published.")
REWINDS = Counter(
    "arrears_relay_rewinds_total", "Times the broker had lost messages and all were republished."
)
MARKER_TOPIC = "arrears.relay-marker.v1"
FAILURES = Counter("arrears_relay_failures_total", "Publish rounds that failed and were retried.")


class OutboxRelay:
    def __init__(
        self, engine: AsyncEngine, settings: LedgerSettings, *, idle_interval: float = 0.05
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.batch_size = settings.relay_batch_size
        self.idle_interval = idle_interval
        self.check_interval = settings.relay_check_interval_s
        self.source = f"/arrears/{settings.service}"
        self._producer: AIOKafkaProducer | None = None
        self._partitioner = DefaultPartitioner()
        self._partition_of: dict[tuple[str, bytes], int] = {}
        self._stopping = asyncio.Event()
        self.memory = BrokerMemory(settings, LEDGER_TOPICS, MARKER_TOPIC)

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Until stopped: hold the relay lock, publish, recover from any failure."""
        failures = 0
        while not self._stopping.is_set():
            try:
                async with leading(self.engine, f"{self.settings.schema_name}.relay") as leader:
                    if not leader:
                        await self._sleep(1.0)
                        continue
                    log.info("outbox relay active")
                    await self._serve()
                    failures = 0
            except (KafkaError, OSError, sa.exc.DBAPIError, sa.exc.OperationalError) as exc:
                failures += 1
                FAILURES.inc()
                pause = min(0.2 * 2**failures, 5.0)
                log.warning("relay round failed, retrying", error=str(exc)[:300], pause=pause)
                await self._close_producer()
                await self._sleep(pause)
        await self._close_producer()

    async def _serve(self) -> None:
        await self._ensure_broker()
        last_check = time.monotonic()
        while not self._stopping.is_set():
            published = await self.publish_once()
            if time.monotonic() - last_check > self.check_interval:
                await self.check_broker_has_everything()
                last_check = time.monotonic()
            if not published:
                await self._sleep(self.idle_interval)

    async def _ensure_broker(self) -> None:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.settings.kafka_bootstrap,
                client_id=f"arrears-{self.settings.service}-relay",
                acks="all",
                enable_idempotence=False,
                linger_ms=5,
                max_batch_size=256 * 1024,
                request_timeout_ms=15000,
            )
            await producer.start()
            self._producer = producer
        await self.check_broker_has_everything()

    async def publish_once(self) -> int:
        """Publish the oldest batch of the outbox; returns how many events were published.

        The stored JSON text is the message value (nothing is parsed or serialized again);
        the messages go to the broker as one record batch per partition, each customer's in
        stream order (a customer's key always lands on the same partition)."""
        async with self.engine.connect() as conn:
            batch = await store.outbox_batch(conn, self.batch_size)
            BACKLOG.set(await store.outbox_backlog(conn))
        if not batch:
            return 0
        producer = self._producer
        assert producer is not None
        builders: dict[tuple[str, int], BatchBuilder] = {}
        futures = []
        for row in batch:
            topic = self.settings.topic_name(TOPICS[row.topic])
            key = row.stream.encode()
            partition = await self._partition(topic, key)
            headers = cloudevents_headers(cast(Event, row), self.source)
            record = {
                "timestamp": None,
                "key": key,
                "value": row.text.encode(),
                "headers": [(k, v.encode()) for k, v in headers.items()],
            }
            builder = builders.get((topic, partition))
            if builder is None or builder.append(**record) is None:
                if builder is not None:  # full: send it, go on in a new one
                    futures.append(await producer.send_batch(builder, topic, partition=partition))
                builder = builders[(topic, partition)] = producer.create_batch()
                if builder.append(**record) is None:
                    raise ValueError(f"event {row.event_id} does not fit a record batch")
        for (topic, partition), builder in builders.items():
            futures.append(await producer.send_batch(builder, topic, partition=partition))
        await asyncio.gather(*futures)
        positions = [row.global_position for row in batch]
        async with self.engine.begin() as conn:
            await store.mark_published(conn, positions)
        PUBLISHED.inc(len(positions))
        return len(positions)

    async def _partition(self, topic: str, key: bytes) -> int:
        """The partition the producer's default partitioner gives the key (kept per key: a
        customer's events share it)."""
        found = self._partition_of.get((topic, key))
        if found is None:
            assert self._producer is not None
            partitions = sorted(await self._producer.partitions_for(topic))
            if len(self._partition_of) >= 100_000:
                self._partition_of.clear()
            found = self._partition_of[(topic, key)] = self._partitioner(key, partitions, [])
        return found

    async def check_broker_has_everything(self) -> None:
        """Rewind the outbox when the broker lost what was published to it (`BrokerMemory`:
        the marker written after the last rewind is gone); the topics a new broker lacks are
        created before anything is republished."""
        if not await self.memory.lost():
            return
        async with self.engine.begin() as conn:
            queued = await store.rewind_outbox(conn)
        REWINDS.inc()
        log.warning(
            "the broker has no relay marker; republishing every stored event", queued=queued
        )
        assert self._producer is not None
        await self.memory.remember(self._producer.send_and_wait)

    async def _close_producer(self) -> None:
        self._partition_of.clear()  # a new broker may have other partitions
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None

    async def _sleep(self, seconds: float) -> None:
        await wait_event(self._stopping, seconds)


def main() -> None:
    import signal

    from arrears.shared.db import create_engine
    from arrears.shared.logging import configure_logging

    settings = LedgerSettings()
    configure_logging("ledger-relay", settings.log_level, settings.log_format)

    async def serve() -> None:
        engine = create_engine(settings.database_url, settings.schema_name)
        relay = OutboxRelay(engine, settings)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, relay.stop)
        try:
            await relay.run()
        finally:
            await engine.dispose()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
