"""The importer: a file's rows through the ledger's bulk path, one chunk at a time.

Each chunk of `batch_size` rows becomes bulk requests (a command per row, plus the
registration of a missing customer and the dispute of a disputed invoice, decided in the same
chunk) that the ledger decides in memory and appends in one transaction. Every row ends as
one of three outcomes: accepted (its events were appended), already present (its customer,
document or settlement is in the ledger already, so a re-import appends nothing), or rejected
(reported with its row number and reason). With `concurrency` above 1 the next chunk is read
and decided while one is being written (`Ledger.plan_many` / `write_many`); at most two
chunks are held at a time, so memory stays flat in the file size. An import stopped between
chunks has appended whole chunks only, and running it again continues where it stopped (what
it appended is already present).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import functools
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from arrears.ledger import store
from arrears.ledger.application import Ledger
from arrears.ledger.bulk import Builder, BulkItem, bulk_collection
from arrears.ledger.domain import (
    AllocationRequest,
    ChangeCollectionStatus,
    Command,
    CustomerAccount,
    NotFound,
    RegisterCustomer,
    Rejected,
    SettleTransactions,
)
from arrears.ledger.imports.mapping import (
    FIELDS,
    Item,
    Record,
    SettlementRow,
    Source,
    check_columns,
    parse_item,
    resolve_fields,
    text_of,
    validation_reason,
)
from arrears.ledger.imports.options import ImportOptions
from arrears.ledger.imports.reader import SourceFile
from arrears.ledger.records import BulkResult
from arrears.shared.errors import Problem
from arrears.shared.events.customers import CustomerProfile
from arrears.shared.events.invoices import CollectionStatus
from arrears.shared.ids import uuid7

PRESENT_CODES: dict[str, frozenset[str]] = {
    "customers": frozenset({"customer_already_registered"}),
    "invoices": frozenset({"duplicate_document"}),
    "payments": frozenset({"duplicate_document"}),
    "settlements": frozenset(),
}
"""Refusals that mean "this row is in the ledger already": counted, not rejected."""

YIELD_EVERY = 250
"""Rows read between two turns of the chunk being written (when chunks overlap)."""

PAYING_KINDS = ("payment", "credit_note")
SETTLED_KINDS = ("invoice", "interest_note", "fee")


# ---------------------------------------------------------------------------- reporting


@dataclass
class ImportSummary:
    kind: str
    path: Path
    correlation_id: str
    rows: int = 0
    accepted: int = 0
    present: int = 0
    rejected: int = 0
    events: int = 0
    customers_registered: int = 0
    seconds: float = 0.0
    stopped: bool = False
    """Stopped on request between two chunks: the rows after `rows` were not read."""

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def text(self) -> str:
        lines = [
            f"{self.kind} from {self.path.name}: {self.rows} rows read in {self.seconds:.1f} s "
            f"({self.rows_per_second:,.0f} rows/s)",
            f"  accepted         {self.accepted:>9,}",
            f"  already present  {self.present:>9,}",
            f"  rejected         {self.rejected:>9,}",
            f"  events appended  {self.events:>9,}",
        ]
        if self.customers_registered:
            lines.append(f"  customers registered {self.customers_registered:>5,}")
        lines.append(f"  import job       {self.correlation_id}")
        if self.stopped:
            lines.append(
                f"  stopped after row {self.rows:,}: run the same import again to continue "
                "(rows already imported are counted as present)"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class Progress:
    """Where an import stands: rows done, bytes of the file read, time spent."""

    rows: int
    bytes_read: int
    total_bytes: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the pace so far (by bytes read); None before any."""
        if self.bytes_read <= 0 or self.seconds <= 0:
            return None
        left = max(self.total_bytes - self.bytes_read, 0)
        return left * self.seconds / self.bytes_read


Rejection = Callable[[Record, str, str], None]
OnProgress = Callable[[Progress], None]


class RejectsFile:
    """Every rejected row as CSV: row, code, reason, then the row's own values."""

    def __init__(self, path: Path, columns: list[str] | None) -> None:
        self.columns = columns
        self._file = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(["row", "code", "reason", *(columns or ["record"])])

    def write(self, record: Record, code: str, reason: str) -> None:
        if self.columns is None:
            values = [json.dumps(dict(record.values), ensure_ascii=False)]
        else:
            values = [text_of(record.values.get(c)) or "" for c in self.columns]
        self._writer.writerow([record.number, code, reason, *values])

    def close(self) -> None:
        self._file.close()


# ---------------------------------------------------------------------------- settlements


def _settled(state: CustomerAccount, paying: str, target: str) -> bool:
    """A settlement in force already settles `target` by `paying`."""
    return any(
        s.paying_transaction_id == paying
        and not s.reversed
        and any(part.transaction_id == target for part in s.parts)
        for s in state.settlements.values()
    )


def _find(state: CustomerAccount, kinds: Sequence[str], number: str) -> str | None:
    for kind in kinds:
        txn = state.find_document(kind, number)
        if txn is not None:
            return txn.transaction_id
    return None


def settle_command(request: SettlementRow, state: CustomerAccount) -> SettleTransactions | None:
    """The command settling one settlement row on the customer's current state; None when
    a settlement in force already settles the invoice by the payment (already present)."""
    if not state.registered:
        raise NotFound(
            "unknown_customer", f"no customer {state.customer_id} in company {state.company}"
        )
    paying = _find(state, PAYING_KINDS, request.payment_document)
    if paying is None:
        raise NotFound(
            "unknown_document",
            f"no payment or credit note {request.payment_document} on customer {state.customer_id}",
        )
    target = _find(state, SETTLED_KINDS, request.invoice_document)
    if target is None:
        raise NotFound(
            "unknown_document",
            f"no invoice {request.invoice_document} on customer {state.customer_id}",
        )
    if _settled(state, paying, target):
        return None
    try:
        return SettleTransactions(
            company=state.company,
            customer_id=state.customer_id,
            paying_transaction_id=paying,
            allocations=(AllocationRequest(transaction_id=target, amount=request.amount),),
            settlement_date=request.settlement_date,
            exchange_rate=request.exchange_rate,
        )
    except ValidationError as error:
        raise Rejected("invalid_field", validation_reason(error)) from None


def dispute_command(number: str, state: CustomerAccount) -> ChangeCollectionStatus | None:
    """Mark disputed the invoice with this document number (posted just before)."""
    invoice = state.find_document("invoice", number)
    if invoice is None:
        return None
    return ChangeCollectionStatus(
        company=state.company,
        customer_id=state.customer_id,
        transaction_id=invoice.transaction_id,
        status=CollectionStatus.DISPUTED,
    )


def registration(template: RegisterCustomer, state: CustomerAccount) -> RegisterCustomer | None:
    """Register the customer unless it is registered already."""
    return None if state.registered else template


# ---------------------------------------------------------------------------- the import


@dataclass
class _Row:
    """What became of one row: accepted (events), already present, or rejected."""

    outcome: str
    events: int = 0
    code: str = ""
    reason: str = ""


@dataclass
class _Chunk:
    """The bulk requests of one chunk, and which row each belongs to."""

    items: list[BulkItem] = field(default_factory=list)
    main: dict[int, int] = field(default_factory=dict)
    """Row (index in the chunk) -> its request."""
    disputes: dict[int, int] = field(default_factory=dict)
    registrations: list[int] = field(default_factory=list)

    def add(self, item: BulkItem) -> int:
        self.items.append(item)
        return len(self.items) - 1


@dataclass
class _Writing:
    """A chunk being written, and what its rows need to be accounted for afterwards."""

    task: asyncio.Task[BulkResult]
    batch: list[Item]
    chunk: _Chunk
    results: dict[int, _Row]


class Importer:
    """Sends a file's rows through the ledger's bulk path and accounts for every row."""

    def __init__(
        self,
        ledger: Ledger,
        options: ImportOptions,
        *,
        on_reject: Rejection,
        on_progress: OnProgress | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.ledger = ledger
        self.options = options
        self.on_reject = on_reject
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.correlation_id = f"import-{uuid7().hex}"
        self.summary = ImportSummary(options.kind, options.path, self.correlation_id)
        self._customers_seen: set[tuple[str, str]] = set()

    async def run(self, source: SourceFile) -> ImportSummary:
        started = time.perf_counter()
        kind = self.options.kind
        fields_of = self._field_resolver(source)
        batch: list[Item] = []

        def report() -> None:
            self.summary.seconds = time.perf_counter() - started
            if self.on_progress is not None:
                self.on_progress(
                    Progress(
                        self.summary.rows, source.bytes_read, source.size, self.summary.seconds
                    )
                )

        report()
        overlap = self.options.concurrency > 1
        writing: _Writing | None = None  # the chunk being written, while the next is read

        async def written() -> bool:
            """Account for the chunk being written once it is, if any; True when the import
            is to stop after it (`should_stop` is asked after each chunk written)."""
            nonlocal writing
            if writing is None:
                return False
            done, writing = writing, None
            bulk = await done.task
            await self._account(done.batch, done.chunk, done.results, bulk)
            report()
            return self._stop_requested()

        async def write(batch: list[Item]) -> bool:
            """Decide the chunk (while the previous one is being written), then write it;
            True when the import is to stop before it."""
            nonlocal writing
            results, chunk = await self._requests(batch)
            plan = await self.ledger.plan_many(
                chunk.items, actor=self.options.actor, correlation_id=self.correlation_id
            )
            if await written():
                self.ledger.discard(plan)
                return True
            task = asyncio.create_task(self.ledger.write_many(plan))
            writing = _Writing(task, batch, chunk, results)
            return not overlap and await written()

        try:
            for record in source.records():
                batch.append(parse_item(kind, record, fields_of(record), self.options))
                if writing is not None and len(batch) % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # let the chunk being written go on
                if len(batch) >= self.options.batch_size:
                    if await write(batch):
                        return self.summary
                    batch = []
            if batch and await write(batch):
                return self.summary
            await written()
            return self.summary
        finally:
            if writing is not None:  # abandoned: its transaction rolls back
                writing.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writing.task
            report()

    def _stop_requested(self) -> bool:
        if self.should_stop is not None and self.should_stop():
            self.summary.stopped = True
        return self.summary.stopped

    def _field_resolver(self, source: SourceFile) -> Callable[[Record], Mapping[str, Source]]:
        fields, mapping = FIELDS[self.options.kind], self.options.mapping
        if source.columns is not None:
            fixed = resolve_fields(fields, mapping, source.columns)
            return lambda record: fixed
        cache: dict[tuple[str, ...], dict[str, Source]] = {}

        def per_record(record: Record) -> Mapping[str, Source]:
            keys = tuple(record.values)
            if keys not in cache:
                if len(cache) > 1000:
                    cache.clear()
                cache[keys] = resolve_fields(fields, mapping, keys)
            return cache[keys]

        return per_record

    async def _requests(self, batch: list[Item]) -> tuple[dict[int, _Row], _Chunk]:
        """The bulk requests of a chunk's rows, and the rows refused before any request."""
        results: dict[int, _Row] = {
            i: _Row("rejected", code=item.error.code, reason=item.error.reason)
            for i, item in enumerate(batch)
            if item.error is not None
        }
        ready = [i for i, item in enumerate(batch) if item.error is None]
        if self.options.kind == "settlements":
            chunk = await self._settlements(batch, ready, results)
        else:
            chunk = self._commands(batch, ready, results)
        return results, chunk

    async def _account(
        self, batch: list[Item], chunk: _Chunk, results: dict[int, _Row], bulk: BulkResult
    ) -> None:
        """Every row of a written chunk into the summary; rejected rows reported in order."""
        await self._outcomes(batch, chunk, bulk, results)
        for i, item in enumerate(batch):
            result = results[i]
            self.summary.rows += 1
            self.summary.events += result.events
            if result.outcome == "accepted":
                self.summary.accepted += 1
            elif result.outcome == "present":
                self.summary.present += 1
            else:
                self.summary.rejected += 1
                self.on_reject(item.record, result.code, result.reason)

    # -- rows to requests

    def _commands(self, batch: list[Item], ready: list[int], results: dict[int, _Row]) -> _Chunk:
        """Customers, invoices, payments: one command per row (after the registration of a
        missing customer), and the dispute of a disputed invoice right after it."""
        chunk = _Chunk()
        registered: set[tuple[str, str]] = set()
        for i in ready:
            item = batch[i]
            command = item.command
            assert command is not None
            stream = (command.company, command.customer_id)
            if self.options.kind == "customers" and stream in self._customers_seen:
                results[i] = _Row("present")  # a customers file repeats a customer per row
                continue
            if self.options.register_missing_customers and stream not in registered:
                registered.add(stream)
                chunk.registrations.append(
                    chunk.add(BulkItem(*stream, self._registration(item, command)))
                )
            main = chunk.main[i] = chunk.add(BulkItem.of(command))
            if item.disputed:
                number = str(getattr(command, "document_number", ""))
                dispute = functools.partial(dispute_command, number)
                chunk.disputes[i] = chunk.add(BulkItem(*stream, dispute, after=main))
        return chunk

    def _registration(self, item: Item, command: Command) -> Builder:
        currency = getattr(command, "currency", None) or self.options.currency
        assert currency is not None
        template = RegisterCustomer(
            company=command.company,
            customer_id=command.customer_id,
            profile=CustomerProfile(name=item.customer_name or command.customer_id),
            currency=currency,
            accounting_currency=self.options.accounting_currency or currency,
        )
        return functools.partial(registration, template)

    async def _settlements(
        self, batch: list[Item], ready: list[int], results: dict[int, _Row]
    ) -> _Chunk:
        """Settlements: decided on the customer's state when their turn comes (so they find
        the documents by number, also those posted earlier in the chunk); the customer is
        the row's, or the holder of the payment's document number."""
        wanted = {i: batch[i].settlement for i in ready}
        lookups = [
            (request.company, kind, request.payment_document)
            for request in wanted.values()
            if request is not None and request.customer_id is None
            for kind in PAYING_KINDS
        ]
        holders: dict[store.DocumentKey, str] = {}
        if lookups:
            async with self.ledger.engine.connect() as conn:
                holders = await store.document_holders(conn, lookups)
        chunk = _Chunk()
        for i, request in wanted.items():
            assert request is not None
            customer_id = request.customer_id or next(
                (
                    holders[key]
                    for key in (
                        (request.company, kind, request.payment_document) for kind in PAYING_KINDS
                    )
                    if key in holders
                ),
                None,
            )
            if customer_id is None:
                results[i] = _Row(
                    "rejected",
                    code="unknown_document",
                    reason=f"no payment or credit note {request.payment_document} "
                    f"in company {request.company}",
                )
                continue
            settle = functools.partial(settle_command, request)
            chunk.main[i] = chunk.add(BulkItem(request.company, customer_id, settle))
        return chunk

    # -- requests' results to rows

    async def _outcomes(
        self, batch: list[Item], chunk: _Chunk, bulk: BulkResult, results: dict[int, _Row]
    ) -> None:
        for index in chunk.registrations:
            outcome = bulk.outcomes.get(index)
            if outcome is not None and outcome.events:
                self.summary.customers_registered += 1
                self.summary.events += len(outcome.events)
        holders = await self._holders(chunk, bulk)
        for i, index in chunk.main.items():
            outcome = bulk.outcomes.get(index)
            if outcome is not None:
                results[i] = _Row("accepted", events=len(outcome.events))
            elif index in bulk.skipped:
                results[i] = _Row("present")
            else:
                results[i] = self._refused(batch[i], bulk.rejections[index], holders)
        for i, index in chunk.disputes.items():
            outcome = bulk.outcomes.get(index)
            if outcome is not None:
                results[i].events += len(outcome.events)
            elif index in bulk.rejections:
                problem = bulk.rejections[index]
                results[i] = _Row(
                    "rejected",
                    events=results[i].events,
                    code=problem.code,
                    reason=f"the invoice was posted, but marking it disputed was refused: "
                    f"{problem.detail}",
                )
        if self.options.kind == "customers":
            for i in chunk.main:
                command = batch[i].command
                if command is not None and results[i].outcome != "rejected":
                    self._customers_seen.add((command.company, command.customer_id))

    async def _holders(self, chunk: _Chunk, bulk: BulkResult) -> dict[store.DocumentKey, str]:
        """The customers holding the document numbers the store found taken."""
        keys = [
            (
                chunk.items[index].company,
                str(problem.extra["document_type"]),
                str(problem.extra["document_number"]),
            )
            for index, problem in bulk.rejections.items()
            if "document_number" in problem.extra
        ]
        if not keys:
            return {}
        async with self.ledger.engine.connect() as conn:
            return await store.document_holders(conn, keys)

    def _refused(
        self, item: Item, problem: Problem, holders: Mapping[store.DocumentKey, str]
    ) -> _Row:
        if problem.code not in PRESENT_CODES[self.options.kind]:
            return _Row("rejected", code=problem.code, reason=problem.detail)
        command = item.command
        assert command is not None
        kind, number = problem.extra.get("document_type"), problem.extra.get("document_number")
        holder = holders.get((command.company, kind, number)) if kind and number else None
        if holder is None or holder == command.customer_id:
            return _Row("present")
        return _Row(
            "rejected",
            code=problem.code,
            reason=f"{problem.detail}: it belongs to customer {holder}",
        )


# ---------------------------------------------------------------------------- entry point


async def import_file(
    ledger: Ledger,
    options: ImportOptions,
    *,
    on_reject: Rejection | None = None,
    on_progress: OnProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
    err: IO[str] | None = None,
) -> ImportSummary:
    """Import one file through `ledger`; every rejected row goes to `err` (stderr) and to
    the rejects file. Raises UsageError before importing anything when the file cannot work.
    `should_stop` is asked after each chunk: True stops the import there."""
    stream = err if err is not None else sys.stderr
    source = SourceFile(options)
    rejects: RejectsFile | None = None
    try:
        if source.columns is not None:
            fields = check_columns(options, source.columns)
            described = ", ".join(f"{name}<-{src}" for name, src in fields.items())
            print(f"{options.kind}: {described}", file=stream)
        if options.rejects is not None:
            rejects = RejectsFile(options.rejects, source.columns)

        def reject(record: Record, code: str, reason: str) -> None:
            print(f"row {record.number}: {code}: {reason}", file=stream)
            if rejects is not None:
                rejects.write(record, code, reason)
            if on_reject is not None:
                on_reject(record, code, reason)

        importer = Importer(
            ledger, options, on_reject=reject, on_progress=on_progress, should_stop=should_stop
        )
        with bulk_collection():
            return await importer.run(source)
    finally:
        source.close()
        if rejects is not None:
            rejects.close()
