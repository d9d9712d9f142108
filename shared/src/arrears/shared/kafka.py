"""Kafka plumbing: the broker factory, topic creation and event publishing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from faststream.kafka import KafkaBroker

from arrears.shared.codec import encode
from arrears.shared.events.envelope import Event
from arrears.shared.logging import get_logger
from arrears.shared.settings import ServiceSettings
from arrears.shared.topics import ALL_TOPICS, Topic
from arrears.shared.waiting import cancel_and_wait

log = get_logger(__name__)


def create_broker(settings: ServiceSettings) -> KafkaBroker:
    """A FastStream Kafka broker: acks=all, no idempotent producer (consumers dedupe instead)."""
    return KafkaBroker(
        settings.kafka_bootstrap,
        client_id=f"arrears-{settings.service}",
        acks="all",
        enable_idempotence=False,
        graceful_timeout=10.0,
        log_level=logging.DEBUG,  # per-message "Received"/"Processed" lines
        logger=get_logger(f"arrears.{settings.service}.broker"),
    )


async def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    *,
    partitions: int,
    replication: int = 1,
    attempts: int = 30,
) -> list[str]:
    """Create missing topics (idempotent). Returns the names that were created."""
    wanted = sorted(set(names))
    for attempt in range(1, attempts + 1):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="arrears-admin")
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [name for name in wanted if name not in existing]
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):  # created concurrently
                    await admin.create_topics(
                        [NewTopic(name, partitions, replication) for name in missing]
                    )
            return missing
        except KafkaConnectionError:
            if attempt == attempts:
                raise
            await asyncio.sleep(min(0.2 * attempt, 2.0))
        finally:
            await admin.close()
    return []


def topic_names(settings: ServiceSettings, topics: Sequence[Topic] = ALL_TOPICS) -> list[str]:
    """Every topic and its dead-letter twin, with the configured prefix."""
    return [n for t in topics for n in (settings.topic_name(t), settings.dlq_name(t))]


async def publish_event(broker: KafkaBroker, settings: ServiceSettings, event: Event) -> None:
    """Publish one event to its topic with its key and CloudEvents headers; waits for acks."""
    wire = encode(event, source=f"/arrears/{settings.service}")
    await broker.publish(
        wire.value,
        topic=settings.topic_name(event.topic),
        key=wire.key,
        headers=wire.headers,
        correlation_id=event.correlation_id or str(event.event_id),
    )


class BrokerMemory:
    """Notices a broker that lost its data (the local in-memory broker after a restart, a
    cluster rebuilt empty) for one publisher.

    The publisher writes a marker message to its own one-partition topic once it has queued
    again everything it owns; a broker without that marker has lost every message since. Each
    check first recreates the publisher's topics (and their dead-letter twins) that the broker
    lacks, so what is published next lands in topics with the configured partitions."""

    def __init__(self, settings: ServiceSettings, topics: Sequence[Topic], marker: str) -> None:
        self.settings = settings
        self.topics = topics
        self.marker_topic = f"{settings.topic_prefix}{marker}"

    async def lost(self) -> bool:
        """Whether the broker has lost what was published (its topics are there afterwards)."""
        await ensure_topics(
            self.settings.kafka_bootstrap,
            topic_names(self.settings, self.topics),
            partitions=self.settings.topic_partitions,
            replication=self.settings.topic_replication,
        )
        await ensure_topics(
            self.settings.kafka_bootstrap,
            [self.marker_topic],
            partitions=1,
            replication=self.settings.topic_replication,
        )
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partition = TopicPartition(self.marker_topic, 0)
            ends = await consumer.end_offsets([partition])
            return not ends.get(partition, 0) > 0
        finally:
            await consumer.stop()

    async def remember(self, send: Callable[[str, bytes], Awaitable[object]]) -> None:
        """Write the marker with the publisher's own producer (`send(topic, value)`): call it
        once everything owned is queued again."""
        await send(self.marker_topic, b"marker")


INCARNATION_TOPIC = "arrears.broker-incarnation.v1"
BROKER_CHECK_S = 10.0
"""How often a consuming service asks the broker which contents it holds."""


async def broker_incarnation(settings: ServiceSettings) -> str:
    """The id of what the broker holds: the first message of a one-partition topic, written
    (a random id) by whoever finds the topic empty. It changes only when the broker lost its
    data: the local in-memory broker restarted, or a cluster rebuilt empty."""
    topic = f"{settings.topic_prefix}{INCARNATION_TOPIC}"
    await ensure_topics(
        settings.kafka_bootstrap, [topic], partitions=1, replication=settings.topic_replication
    )
    partition = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([partition])
        if not (await consumer.end_offsets([partition])).get(partition, 0):
            producer = AIOKafkaProducer(
                bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=False
            )
            await producer.start()
            try:
                await producer.send_and_wait(topic, uuid.uuid4().hex.encode(), partition=0)
            finally:
                await producer.stop()
        await consumer.seek_to_beginning(partition)
        found = await consumer.getmany(partition, timeout_ms=10_000, max_records=1)
        records = found.get(partition) or []
        if not records or records[0].value is None:
            raise KafkaConnectionError("the broker's incarnation could not be read")
        return bytes(records[0].value).decode()
    finally:
        await consumer.stop()


@contextlib.asynccontextmanager
async def watching_the_broker(
    settings: ServiceSettings, known: str, on_lost: Callable[[], None]
) -> AsyncIterator[None]:
    """While the block runs, notice when the broker loses its data (`broker_incarnation`
    changes from `known`, the incarnation the service's consumers read) and call `on_lost`
    once. A consumer's position means nothing on a broker refilled from scratch: the
    publishers put everything back from offset 0. The service's process stops on it
    (`ServiceSpec.main`); its supervisor (the local stack, Kubernetes) starts it again on the
    new incarnation, and its consumers read every partition from the start, as their read
    positions are on the old one (`BatchConsumer.start_where_read`); every event they applied
    already is recognised by its id."""

    async def watch() -> None:
        seen = known
        while True:
            try:
                now = await broker_incarnation(settings)
            except (KafkaError, OSError, TimeoutError) as exc:
                log.info("the broker could not be asked what it holds", error=str(exc)[:200])
            else:
                if now != seen:
                    log.error(
                        "the broker lost its data since this service started; stopping so "
                        "that it starts again and reads its topics from the start"
                    )
                    on_lost()
                    return
                seen = now
            await asyncio.sleep(BROKER_CHECK_S)

    task = asyncio.create_task(watch(), name="broker-watch")
    try:
        yield
    finally:
        await cancel_and_wait(task)
