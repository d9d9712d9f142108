"""Sample summaries and reminder drafts from the demo data, written by the deterministic writer.

Runs the demo history (`arrears demo`) through the real ledger into a fresh schema, replays
it through the aging projections (whose `CustomerAgingChanged` events land in aging's
outbox) and through the summary projections on the real database, then picks three
contrasting customers and prints their summary and reminder draft. `docs/summary.md` shows
its output:

    .venv/bin/python -m tests.integration.summary.samples [--customers 12] [--months 12]

It uses ARREARS_DATABASE_URL when set, otherwise starts an embedded PostgreSQL server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from arrears.aging.app import SPEC as AGING
from arrears.aging.settings import AgingSettings
from arrears.cli.ledger_access import open_ledger
from arrears.demo import generate
from arrears.ledger import store as ledger_store
from arrears.shared.clock import FixedClock
from arrears.shared.consumer import BatchConsumer, Delivered
from arrears.shared.db import create_engine, quoted
from arrears.shared.events.envelope import Event
from arrears.shared.events.registry import parse_event
from arrears.shared.ids import uuid7
from arrears.shared.kafka import create_broker
from arrears.shared.migrations import upgrade
from arrears.shared.outbox import outbox
from arrears.shared.service import ServiceContext, ServiceSpec
from arrears.summary import store as summary_store
from arrears.summary.app import SPEC as SUMMARY
from arrears.summary.domain import (
    Draft,
    FactSheet,
    Grounding,
    ReminderRefused,
    check,
    compute_facts,
    draft_reminder,
    write_summary,
)
from arrears.summary.settings import SummarySettings

TODAY = date(2026, 3, 31)
SEED = 1


@dataclass(frozen=True)
class Sample:
    sheet: FactSheet
    name: str
    why: str
    text: str
    grounding: Grounding
    draft: Draft | None
    draft_grounding: Grounding | None
    refused: str | None


async def _replay(
    spec: ServiceSpec,
    settings: Any,
    clock: FixedClock,
    events: Sequence[Event],
) -> Any:
    """Apply `events` through every projection of `spec` into a fresh schema; the engine."""
    engine = create_engine(settings.database_url, settings.schema_name)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {quoted(settings.schema_name)} CASCADE"))
    await upgrade(engine, spec.migrations, settings.schema_name)
    ctx = ServiceContext(settings, engine, create_broker(settings), clock)
    consumers = [BatchConsumer(p, engine, ctx.broker, settings) for p in spec.projections(ctx)]
    for start in range(0, len(events), 2000):
        chunk = [
            Delivered(e, e.topic.name, -1, start + n)
            for n, e in enumerate(events[start : start + 2000])
        ]
        for consumer in consumers:
            topics = set(consumer.projection.topics)
            await consumer.apply([d for d in chunk if d.event.topic in topics])
    for consumer in consumers:
        settle = getattr(consumer.projection, "settle", None)
        if settle is not None:
            await settle(engine)
    return engine


async def build_samples(
    database_url: str, *, customers: int = 12, months: int = 12, today: date = TODAY
) -> list[Sample]:
    prefix = f"samples_{uuid7().hex[-8:]}"
    clock = FixedClock(datetime.combine(today, time(18), tzinfo=UTC))
    async with open_ledger(database_url, schema=f"{prefix}_ledger", clock=clock) as ledger:
        await generate(ledger, customers=customers, months=months, seed=SEED, today=today)
        events = [
            parse_event(envelope)
            async for batch in ledger_store.iterate_events(ledger.engine)
            for _, envelope in batch
        ]
    clock.set(datetime.combine(today, time(18), tzinfo=UTC))
    aging_settings = AgingSettings(database_url=database_url, db_schema=f"{prefix}_aging")
    aging_engine = await _replay(AGING, aging_settings, clock, events)
    async with aging_engine.connect() as conn:
        rows = await conn.execute(sa.select(outbox.c.envelope).order_by(outbox.c.position))
        derived = [parse_event(r[0]) for r in rows]
    await aging_engine.dispose()
    summary_settings = SummarySettings(database_url=database_url, db_schema=f"{prefix}_summary")
    engine = await _replay(SUMMARY, summary_settings, clock, [*events, *derived])
    try:
        sheets = []
        async with engine.connect() as conn:
            for customer in sorted({e.customer_id for e in events}):
                history = await summary_store.load_history(conn, "usmf", customer)
                sheets.append(compute_facts(history, today))
    finally:
        await engine.dispose()
    return [_sample(sheet, why) for sheet, why in pick(sheets)]


def pick(sheets: Sequence[FactSheet]) -> list[tuple[FactSheet, str]]:
    """Three contrasting customers with something overdue, one per reminder tone where the
    demo has one: for a friendly reminder the payer with the best on-time record, for a firm
    one the latest payer, for a final one the oldest overdue debt; German-speaking customers
    first among equals. Customers whose names hold markup (the demo's escaping test) are
    left out of the printed samples."""

    def num(sheet: FactSheet, key: str) -> float:
        value = sheet.value(key)
        return float(value) if value is not None else 0.0

    def tone(sheet: FactSheet) -> str | None:
        try:
            return draft_reminder(sheet).tone
        except ReminderRefused:
            return None

    plain = [s for s in sheets if "<" not in str(s.value("customer.name") or "")]
    chosen: list[tuple[FactSheet, str]] = []
    wanted = (
        ("friendly", lambda s: (num(s, "history.on_time_share"), s.language == "de")),
        ("firm", lambda s: (num(s, "history.weighted_days_late"), s.language == "de")),
        ("final", lambda s: (num(s, "open.oldest_days_overdue"), s.language == "de")),
    )
    for wanted_tone, key in wanted:
        taken = {c.customer_id for c, _ in chosen}
        candidates = [s for s in plain if s.customer_id not in taken and tone(s) == wanted_tone]
        candidates = candidates or [s for s in plain if s.customer_id not in taken]
        if candidates:
            chosen.append((max(candidates, key=key), wanted_tone))
    return chosen


def _sample(sheet: FactSheet, why: str) -> Sample:
    text = write_summary(sheet)
    draft: Draft | None = None
    refused = None
    try:
        draft = draft_reminder(sheet)
    except ReminderRefused as exc:
        refused = f"{exc.code}: {exc.detail}"
    return Sample(
        sheet=sheet,
        name=str(sheet.value("customer.name") or sheet.customer_id),
        why=why,
        text=text,
        grounding=check(text, sheet),
        draft=draft,
        draft_grounding=check(f"{draft.subject}\n{draft.body}", draft.facts) if draft else None,
        refused=refused,
    )


def render(samples: Sequence[Sample]) -> str:
    out = []
    for n, s in enumerate(samples, start=1):
        out.append(
            f"### Sample {n}: {s.name} ({s.sheet.customer_id}, language {s.sheet.language}, "
            f"picked for a {s.why} reminder)\n"
        )
        out.append(f"Summary (grounding {s.grounding.result}, {s.grounding.figures} figures):\n")
        out.append("> " + s.text + "\n")
        if s.draft is None:
            out.append(f"No reminder draft: {s.refused}\n")
            continue
        grounding = s.draft_grounding.result if s.draft_grounding else "?"
        out.append(
            f"Reminder draft (tone {s.draft.tone}, language {s.draft.language}, "
            f"grounding {grounding}), to {s.draft.recipient_name} <{s.draft.recipient_email}>:\n"
        )
        out.append("```text\nSubject: " + s.draft.subject + "\n\n" + s.draft.body + "```\n")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=12)
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
    url = os.environ.get("ARREARS_DATABASE_URL")
    server = None
    if not url:
        from arrears.cli.infra import LocalPostgres

        server = LocalPostgres(
            Path(tempfile.mkdtemp(prefix="summary-samples-")) / "data",
            preferred_port=None,
            durable=False,
        )
        url = server.start()
    try:
        samples = asyncio.run(build_samples(url, customers=args.customers, months=args.months))
    finally:
        if server is not None:
            server.stop()
    print(render(samples))


if __name__ == "__main__":
    main()
