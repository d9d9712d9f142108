"""The batch-consumer building block every projection runs on.

A batch taken from Kafka is applied in ONE database transaction together with the ids of the
events it applied; offsets are committed only after that transaction. Redelivered events are
recognized by `event_id` and skipped. A message that cannot be parsed or breaks the contract
goes to `<topic>.dlq` with the reason, and the batch goes on without it.

The hot path, per batch: the bookkeeping statement (applied ids and stream positions, one
statement) is sent from what the records' CloudEvents headers claim, the values are decoded
into the contract's msgspec Structs while PostgreSQL runs it, and the projection gets the
first deliveries, each with its Struct (`Delivered.message`) and its pydantic model
(`Delivered.event`, validated only if the projection asks for it).

Where the time goes (cProfile and statement timings of `bench/timeline_bench.py`'s
projection, 21,000 events, load 2 to 4 on two cores). Before: validating each value with
the pydantic models, 25 to 40 µs an event (half of it Python callbacks: the UTC timestamp
validator and the cross-field model validators), the timeline rule built on `model_dump`
about 30 µs, and binding rows to executemany or to one array per column, where asyncpg
checks every element against the collection ABCs in Python (about 50 checks an event, as
much as the decoding). Now: decoding into the Structs 10 to 15 µs an event (half of it the
same cross-field validators and the amounts' conversion to `Decimal`), the timeline rule
10 to 15 µs, encoding the rows as one JSON document per statement 2 µs, aiokafka's record
unpacking 5 to 10 µs; PostgreSQL's statements take the rest, 50 to 70 µs an event on a
loaded machine: the entries (JSONB details, two indexes) about 40% of it, the bookkeeping
25%, the links 20%.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
import sqlalchemy as sa
import structlog
from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.shared import metrics
from arrears.shared.codec import read
from arrears.shared.db import json_rows, recordset
from arrears.shared.events.envelope import Event
from arrears.shared.events.messages import Message, message_of
from arrears.shared.events.registry import ContractViolation
from arrears.shared.logging import get_logger
from arrears.shared.settings import ServiceSettings
from arrears.shared.topics import Topic

log = get_logger(__name__)

tracking = sa.MetaData()
applied_events = sa.Table(
    "applied_events",
    tracking,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("event_id", sa.Uuid, primary_key=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("partition", sa.Integer, nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)
stream_positions = sa.Table(
    "stream_positions",
    tracking,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("max_sequence", sa.BigInteger, nullable=False),
    sa.Column("events_applied", sa.BigInteger, nullable=False),
    sa.Column("last_recorded_at", sa.DateTime(timezone=True), nullable=False),
)
read_positions = sa.Table(
    "read_positions",
    tracking,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("topic", sa.Text, primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("incarnation", sa.Text, nullable=False),
    sa.Column("next_offset", sa.BigInteger, nullable=False),
)
"""Per consumer and partition, the offset after the last record a committed batch held, and
the broker's incarnation (`arrears.shared.kafka.broker_incarnation`) it was read from;
written in the batch's own transaction. A consumer starts each partition it is given from
here rather than from the group's offset in Kafka: a broker that lost its data and was filled
again from offset 0 has another incarnation, and its partitions are read from the start (a
group offset committed there by a consumer still reading at its old position would skip what
was published below it)."""


async def applied_positions(
    conn: AsyncConnection, consumer: str
) -> dict[tuple[str, str], tuple[int, int]]:
    """Per customer stream: how many events `consumer` applied, and the last sequence."""
    p = stream_positions.c
    rows = await conn.execute(
        sa.select(p.company, p.customer_id, p.events_applied, p.max_sequence).where(
            p.consumer == consumer
        )
    )
    return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}


class Delivered:
    """An event together with where it was read from, in two forms: `message`, the event's
    msgspec Struct (what the consumer decoded; cheap to read), and `event`, the pydantic
    model (validated from the same bytes the first time it is asked for). A projection reads
    whichever it needs; each is built once."""

    __slots__ = ("_event", "_message", "_value", "offset", "partition", "topic")

    def __init__(
        self,
        event: Event | None,
        topic: str,
        partition: int,
        offset: int,
        *,
        message: Message | None = None,
        value: bytes | None = None,
    ) -> None:
        if event is None and message is None:
            raise ValueError("a delivery needs its event or its message")
        self._event = event
        self._message = message
        self._value = value
        self.topic = topic
        self.partition = partition
        self.offset = offset

    @property
    def message(self) -> Message:
        if self._message is None:
            assert self._event is not None
            self._message = message_of(self._event)
        return self._message

    @property
    def event(self) -> Event:
        if self._event is None:
            message = self.message
            value = msgspec.json.encode(message) if self._value is None else self._value
            self._event = message.model.model_validate_json(value)  # type: ignore[assignment]
        assert self._event is not None
        return self._event

    def __repr__(self) -> str:
        m = self.message
        return f"Delivered({m.type} {m.event_id} from {self.topic}/{self.partition}@{self.offset})"


class Projection(Protocol):
    """A read model fed by the batch consumer."""

    @property
    def name(self) -> str:
        """Consumer name: the group id suffix and the key of its applied-event records."""

    @property
    def topics(self) -> Sequence[Topic]:
        """Topics it consumes."""

    async def apply(self, conn: AsyncConnection, batch: Sequence[Delivered]) -> None:
        """Apply first deliveries, in order, inside the open transaction. Never commit."""


def _record_statement() -> sa.Select[Any]:
    """Insert the batch's ids into `applied_events` (those there already are redeliveries)
    and, for the newly applied ones, advance `stream_positions` per stream, in stream order
    (one lock order for concurrent consumers); select the newly applied ids."""
    consumer = sa.bindparam("consumer", type_=sa.Text)
    a, p = applied_events.c, stream_positions.c
    batch = sa.select(
        recordset(
            [
                ("event_id", a.event_id.type),
                ("topic", a.topic.type),
                ("partition", a.partition.type),
                ("offset", a.offset.type),
                ("company", p.company.type),
                ("customer_id", p.customer_id.type),
                ("sequence", p.max_sequence.type),
                ("recorded_at", p.last_recorded_at.type),
            ],
            name="given",
        )
    ).cte("batch")
    b = batch.c
    fresh = (
        insert(applied_events)
        .from_select(
            ["consumer", "event_id", "topic", "partition", "offset", "applied_at"],
            sa.select(consumer, b.event_id, b.topic, b.partition, b.offset, sa.func.now()),
        )
        .on_conflict_do_nothing()
        .returning(a.event_id)
        .cte("fresh")
    )
    per_stream = (
        sa.select(
            consumer,
            b.company,
            b.customer_id,
            sa.func.max(b.sequence),
            sa.func.count(),
            sa.func.max(b.recorded_at),
        )
        .select_from(batch.join(fresh, fresh.c.event_id == b.event_id))
        .group_by(b.company, b.customer_id)
        .order_by(b.company, b.customer_id)
    )
    upsert = insert(stream_positions).from_select([c.name for c in stream_positions.c], per_stream)
    positions = upsert.on_conflict_do_update(
        index_elements=["consumer", "company", "customer_id"],
        set_={
            "max_sequence": sa.func.greatest(p.max_sequence, upsert.excluded.max_sequence),
            "events_applied": p.events_applied + upsert.excluded.events_applied,
            "last_recorded_at": sa.func.greatest(
                p.last_recorded_at, upsert.excluded.last_recorded_at
            ),
        },
    ).cte("positions")
    return sa.select(fresh.c.event_id).add_cte(positions)


_RECORD = _record_statement()


def _read_up_to_statement() -> Any:
    """Upsert one partition's read position: further on the same contents, replaced on
    others."""
    stmt = insert(read_positions)
    r, new = read_positions.c, stmt.excluded
    same = r.incarnation == new.incarnation
    return stmt.on_conflict_do_update(
        index_elements=["consumer", "topic", "partition"],
        set_={
            "incarnation": new.incarnation,
            "next_offset": sa.case(
                (same, sa.func.greatest(r.next_offset, new.next_offset)), else_=new.next_offset
            ),
        },
    )


_READ_UP_TO = _read_up_to_statement()


@dataclass(slots=True)
class BatchResult:
    applied: list[Delivered] = field(default_factory=list)
    duplicates: int = 0
    dead_lettered: int = 0


OnCommitted = Callable[[BatchResult], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Poison:
    record: ConsumerRecord[Any, Any]
    reason: str


class BatchConsumer:
    """Runs one projection: decode, dead-letter, dedupe and apply, one transaction a batch."""

    def __init__(
        self,
        projection: Projection,
        engine: AsyncEngine,
        broker: KafkaBroker,
        settings: ServiceSettings,
        *,
        on_committed: OnCommitted | None = None,
    ) -> None:
        self.projection = projection
        self.engine = engine
        self.broker = broker
        self.settings = settings
        self.on_committed = on_committed
        self.consumer_name = projection.name
        self.incarnation: str | None = None
        """The broker's incarnation this consumer reads (set by the service before its broker
        starts); None keeps no read positions."""
        self._failures = 0

    def register(self) -> Any:
        """Subscribe on the broker (before it starts); offsets commit after a successful batch,
        and each partition assigned starts where `read_positions` says."""
        s = self.settings
        listener = _StartWhereRead(self)
        subscriber = self.broker.subscriber(
            *(s.topic_name(t) for t in self.projection.topics),
            batch=True,
            group_id=s.group_id(self.consumer_name),
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            max_records=s.consumer_max_records,
            batch_timeout_ms=s.consumer_batch_timeout_ms,
            session_timeout_ms=s.consumer_session_timeout_ms,
            rebalance_timeout_ms=s.consumer_rebalance_timeout_ms,
            heartbeat_interval_ms=s.consumer_heartbeat_interval_ms,
            decoder=_keep_raw,
            listener=listener,
            title=f"{self.consumer_name}",
            description=f"Batch projection {self.consumer_name} of the {s.service} service.",
        )

        async def handle(body: Any, message: KafkaMessage) -> None:
            records: tuple[ConsumerRecord[Any, Any], ...] = message.raw_message
            await self.handle_records(records)
            self._record_lag(message, records)

        subscriber(handle)
        listener.subscriber = subscriber
        return subscriber

    async def handle_records(self, records: Sequence[ConsumerRecord[Any, Any]]) -> BatchResult:
        if not records:
            return BatchResult()
        first = records[0]
        with structlog.contextvars.bound_contextvars(
            consumer=self.consumer_name,
            batch=f"{first.topic}/{first.partition}@{first.offset}",
            batch_size=len(records),
        ):
            return await self._handle(records)

    async def _handle(self, records: Sequence[ConsumerRecord[Any, Any]]) -> BatchResult:
        started = time.perf_counter()
        try:
            try:
                result, poison = await self._apply_as_claimed(records)
            except _Unsettled as unsettled:
                good, poison = unsettled.decoded or _decoded(records)
                for item in poison:
                    await self._dead_letter(item)
                result = await self.apply(good, records)
        except Exception:
            self._failures += 1
            metrics.BATCH_FAILURES.labels(self.consumer_name).inc()
            log.exception(
                "batch failed, will be redelivered",
                consumer=self.consumer_name,
                size=len(records),
                attempt=self._failures,
            )
            await asyncio.sleep(min(0.1 * 2**self._failures, 5.0))
            raise
        self._failures = 0
        result.dead_lettered = len(poison)
        self._observe(result, len(records), time.perf_counter() - started)
        if self.on_committed is not None:
            await self.on_committed(result)
        return result

    async def _apply_as_claimed(
        self, records: Sequence[ConsumerRecord[Any, Any]]
    ) -> tuple[BatchResult, list[_Poison]]:
        """Apply a batch whose records all say in their CloudEvents headers and key what
        their bookkeeping needs: the bookkeeping statement goes to PostgreSQL first, and the
        values are decoded while it runs. Raises `_Unsettled` (nothing written) when a record
        does not say it, or its value turns out not to say the same or to be poison; the
        batch then takes the plain way, `apply` after decoding."""
        claims: dict[str, dict[str, Any]] = {}
        for record in records:
            claim = _claim(record)
            if claim is None:
                raise _Unsettled(None)
            claims.setdefault(claim["event_id"], claim)
        result = BatchResult()
        async with self.engine.begin() as conn:
            recording = asyncio.ensure_future(self._record_rows(conn, list(claims.values())))
            try:
                await asyncio.sleep(0)  # let the statement go out before decoding
                good, poison = _decoded(records)
            finally:
                fresh_ids = await recording
            unique: dict[Any, Delivered] = {}
            for item in good:
                unique.setdefault(item.message.event_id, item)
            if poison or not all(_as_claimed(d, claims) for d in unique.values()):
                raise _Unsettled((good, poison))
            fresh = [d for d in unique.values() if d.message.event_id in fresh_ids]
            if fresh:
                await self.projection.apply(conn, fresh)
            await self._read_up_to(conn, records)
        result.applied = fresh
        result.duplicates = len(good) - len(fresh)
        return result, poison

    async def apply(
        self, good: Sequence[Delivered], read: Sequence[ConsumerRecord[Any, Any]] = ()
    ) -> BatchResult:
        """Apply decoded events in one transaction, skipping ids already applied; `read`, the
        records they came from (poison included), moves the consumer's read positions."""
        unique: dict[Any, Delivered] = {}
        for item in good:
            unique.setdefault(item.message.event_id, item)
        result = BatchResult()
        fresh: list[Delivered] = []
        async with self.engine.begin() as conn:
            if unique:
                fresh_ids = await self._record(conn, list(unique.values()))
                fresh = [d for d in unique.values() if d.message.event_id in fresh_ids]
            if fresh:
                await self.projection.apply(conn, fresh)
            await self._read_up_to(conn, read)
        result.applied = fresh
        result.duplicates = len(good) - len(fresh)
        return result

    async def _record(self, conn: AsyncConnection, batch: Sequence[Delivered]) -> set[Any]:
        """Record the batch's event ids and advance its streams' positions, in one statement;
        returns the ids not applied before (the others are redeliveries)."""
        rows = []
        for d in batch:
            m = d.message
            rows.append(
                {
                    "event_id": m.event_id,
                    "topic": d.topic,
                    "partition": d.partition,
                    "offset": d.offset,
                    "company": m.company,
                    "customer_id": m.customer_id,
                    "sequence": m.sequence,
                    "recorded_at": m.recorded_at,
                }
            )
        return await self._record_rows(conn, rows)

    async def _read_up_to(
        self, conn: AsyncConnection, records: Sequence[ConsumerRecord[Any, Any]]
    ) -> None:
        """Move `read_positions` past `records`, on the broker's incarnation the consumer
        reads (nothing when it does not know it: a consumer outside a service)."""
        if self.incarnation is None or not records:
            return
        ends: dict[tuple[str, int], int] = {}
        for r in records:
            key = (r.topic, r.partition)
            ends[key] = max(ends.get(key, 0), r.offset + 1)
        await conn.execute(
            _READ_UP_TO,
            [
                {
                    "consumer": self.consumer_name,
                    "topic": topic,
                    "partition": partition,
                    "incarnation": self.incarnation,
                    "next_offset": end,
                }
                for (topic, partition), end in sorted(ends.items())
            ],
        )

    async def start_where_read(self, consumer: Any, assigned: Iterable[TopicPartition]) -> None:
        """Seek each partition just assigned to where this consumer's committed batches left
        it on the broker's current contents; to the start when they read it on other contents,
        or never read it while they read others (a group offset there may have been committed
        at a position held over from other contents). A consumer that never kept a position
        (its first start) starts where the group's offsets put it."""
        assigned = list(assigned)
        if self.incarnation is None or not assigned:
            return
        r = read_positions.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(r.topic, r.partition, r.incarnation, r.next_offset).where(
                    r.consumer == self.consumer_name
                )
            )
            stored = {(row[0], row[1]): (row[2], int(row[3])) for row in rows}
        if not stored:
            return
        restart: list[TopicPartition] = []
        changed: list[str] = []
        for tp in assigned:
            incarnation, next_offset = stored.get((tp.topic, tp.partition), (None, 0))
            if incarnation == self.incarnation:
                consumer.seek(tp, next_offset)
                continue
            restart.append(tp)
            if incarnation is not None:
                changed.append(f"{tp.topic}/{tp.partition}")
        if changed:
            log.warning(
                "the broker's contents changed since these partitions were read; reading them "
                "from the start",
                consumer=self.consumer_name,
                partitions=changed,
            )
        if restart:
            await consumer.seek_to_beginning(*restart)

    async def _record_rows(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> set[Any]:
        """Rows go in stream order: instances of one consumer that meet on the same events
        (a rebalance redelivers what another instance is applying) or streams lock them in
        the same order, and wait for each other instead of deadlocking."""
        rows.sort(key=_stream_order)
        inserted = await conn.execute(
            _RECORD, {"consumer": self.consumer_name, "rows": json_rows(rows)}
        )
        return set(inserted.scalars())

    async def _dead_letter(self, poison: _Poison) -> None:
        record = poison.record
        headers = {
            name: value.decode(errors="replace") if isinstance(value, bytes) else str(value)
            for name, value in (record.headers or ())
        }
        headers.update(
            {
                "x-arrears-error": poison.reason[:2000],
                "x-arrears-source-topic": record.topic,
                "x-arrears-source-partition": str(record.partition),
                "x-arrears-source-offset": str(record.offset),
                "x-arrears-consumer": self.consumer_name,
            }
        )
        await self.broker.publish(
            record.value or b"", topic=f"{record.topic}.dlq", key=record.key, headers=headers
        )
        metrics.EVENTS_DEAD_LETTERED.labels(self.consumer_name, record.topic).inc()
        log.warning(
            "dead-lettered a message",
            consumer=self.consumer_name,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=poison.reason[:500],
        )

    def _observe(self, result: BatchResult, size: int, seconds: float) -> None:
        name = self.consumer_name
        metrics.BATCH_SIZE.labels(name).observe(size)
        metrics.BATCH_SECONDS.labels(name).observe(seconds)
        now = datetime.now(UTC)
        delay = metrics.PROJECTION_DELAY.labels(name)
        for d in result.applied:
            delay.observe(max(0.0, (now - d.message.recorded_at).total_seconds()))
        for topic, applied in Counter(d.topic for d in result.applied).items():
            metrics.EVENTS_APPLIED.labels(name, topic).inc(applied)
        if result.duplicates:
            metrics.EVENTS_DUPLICATE.labels(name, "all").inc(result.duplicates)
        log.debug(
            "batch applied",
            consumer=name,
            size=size,
            applied=len(result.applied),
            duplicates=result.duplicates,
            dead_lettered=result.dead_lettered,
            ms=round(seconds * 1000, 1),
        )

    def _record_lag(
        self, message: KafkaMessage, records: Sequence[ConsumerRecord[Any, Any]]
    ) -> None:
        consumer = getattr(message, "consumer", None)
        if consumer is None or not hasattr(consumer, "highwater"):
            return
        last: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            last[tp] = max(last.get(tp, -1), r.offset)
        for tp, offset in last.items():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                metrics.CONSUMER_LAG.labels(self.consumer_name, tp.topic, str(tp.partition)).set(
                    max(0, highwater - offset - 1)
                )


class _StartWhereRead(ConsumerRebalanceListener):  # type: ignore[misc]
    """Seeks the partitions a rebalance gives the consumer (`BatchConsumer.start_where_read`).
    A position that cannot be read (PostgreSQL away) is asked again; after
    `POSITION_TRIES` the partitions are read from the start, which skips nothing."""

    POSITION_TRIES = 10

    def __init__(self, batch: BatchConsumer) -> None:
        self.batch = batch
        self.subscriber: Any = None

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        consumer = getattr(self.subscriber, "consumer", None)
        if consumer is None:
            return
        for attempt in range(1, self.POSITION_TRIES + 1):
            try:
                await self.batch.start_where_read(consumer, assigned)
                return
            except (OSError, DBAPIError) as exc:
                log.warning(
                    "read positions could not be read",
                    consumer=self.batch.consumer_name,
                    attempt=attempt,
                    error=str(exc)[:200],
                )
                await asyncio.sleep(min(0.5 * attempt, 3.0))
        log.error(
            "read positions unreadable; reading the assigned partitions from the start",
            consumer=self.batch.consumer_name,
        )
        await consumer.seek_to_beginning(*assigned)


class _Unsettled(Exception):
    """A batch that cannot be applied as its headers claim (see `_apply_as_claimed`); carries
    what was decoded of it, if anything."""

    def __init__(self, decoded: tuple[list[Delivered], list[_Poison]] | None) -> None:
        super().__init__("batch not applied as claimed")
        self.decoded = decoded


def _decoded(records: Sequence[ConsumerRecord[Any, Any]]) -> tuple[list[Delivered], list[_Poison]]:
    """The records decoded (see `codec.read`), and those that violate the contract."""
    good: list[Delivered] = []
    poison: list[_Poison] = []
    for record in records:
        try:
            message, event = read(record.value, record.headers or (), record.key)
        except ContractViolation as exc:
            poison.append(_Poison(record, str(exc)))
            continue
        good.append(
            Delivered(
                event,
                record.topic,
                record.partition,
                record.offset,
                message=message,
                value=record.value,
            )
        )
    return good, poison


def _stream_order(row: dict[str, Any]) -> tuple[str, str, int]:
    return (row["company"], row["customer_id"], row["sequence"])


_CLAIMING = ("ce_id", "ce_sequence", "ce_time")


def _claim(record: ConsumerRecord[Any, Any]) -> dict[str, Any] | None:
    """The bookkeeping row a record's headers and key state (`ce_id`, `ce_sequence`,
    `ce_time`, key `company/customer`), each parsed; None when one is missing or malformed."""
    found = {name: raw for name, raw in record.headers or () if name in _CLAIMING}
    if len(found) != len(_CLAIMING) or record.key is None:
        return None
    try:
        company, slash, customer_id = bytes(record.key).decode().partition("/")
        event_id = str(uuid.UUID(bytes(found["ce_id"]).decode()))
        sequence = int(found["ce_sequence"])
        recorded_at = datetime.fromisoformat(bytes(found["ce_time"]).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    if not slash or recorded_at.tzinfo is None:
        return None
    return {
        "event_id": event_id,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "company": company,
        "customer_id": customer_id,
        "sequence": sequence,
        "recorded_at": recorded_at,
    }


def _as_claimed(delivered: Delivered, claims: dict[str, dict[str, Any]]) -> bool:
    """Whether the decoded event says what its record's headers claimed."""
    m = delivered.message
    claim = claims.get(str(m.event_id))
    return (
        claim is not None
        and claim["company"] == m.company
        and claim["customer_id"] == m.customer_id
        and claim["sequence"] == m.sequence
        and claim["recorded_at"] == m.recorded_at
    )


async def _keep_raw(message: Any) -> Any:
    """Skip FastStream's body decoding: records are decoded and validated by the contract."""
    return None
