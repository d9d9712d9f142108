"""`arrears import customers|invoices|payments|settlements|statement|ubl FILE`: the command
line of the ledger's imports (`arrears.ledger.imports`): arguments, progress (rows/s and the
time left), and Ctrl-C, which stops the import cleanly after the chunk being written (a second
Ctrl-C abandons that chunk, which then appends nothing). docs/import.md is the user's guide;
statements and UBL documents are imported by `arrears.cli.statements` and
`arrears.cli.einvoices` (docs/cash-application.md).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from arrears.cli.infra import LocalPostgres
from arrears.ledger.imports import KINDS, ImportOptions, ImportSummary, UsageError, import_file
from arrears.ledger.imports import Progress as ImportProgress


def _statement(
    args: argparse.Namespace, database_url: Callable[[], tuple[str, LocalPostgres | None]]
) -> int:
    from arrears.cli import statements

    return statements.run(args, database_url)


def _ubl(
    args: argparse.Namespace, database_url: Callable[[], tuple[str, LocalPostgres | None]]
) -> int:
    from arrears.cli import einvoices

    return einvoices.run(args, database_url)


OTHER_KINDS: dict[str, Callable[..., int]] = {"statement": _statement, "ubl": _ubl}
"""Imports of standard documents rather than mapped rows."""

INTERRUPTED = 130
"""Exit code of an import stopped by Ctrl-C (the shell's code for SIGINT)."""


def options_from_args(args: argparse.Namespace) -> ImportOptions:
    return ImportOptions.create(
        args.kind,
        args.file,
        format=args.format,
        delimiter=args.delimiter,
        encoding=args.encoding,
        maps=args.map or (),
        date_format=args.date_format,
        company=args.company,
        currency=args.currency,
        accounting_currency=args.accounting_currency,
        decimal_comma=args.decimal_comma,
        actor=args.actor,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        rejects=args.rejects,
        register_missing_customers=args.register_missing_customers,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Import customers, invoices, payments or settlements from CSV or JSON lines through "
        "the ledger, streaming in batches; or a bank statement (camt.053/.054, then cash "
        "application) or UBL invoices and credit notes. Re-importing a file appends nothing "
        "twice. Exit code 0 when no row was rejected, 1 otherwise, 2 when nothing could be "
        "imported. See docs/import.md and docs/cash-application.md."
    )
    parser.add_argument("kind", choices=(*KINDS, *OTHER_KINDS), help="what the file holds")
    parser.add_argument(
        "file",
        help="CSV file, or JSON lines (.jsonl, .ndjson); for 'statement' an ISO 20022 "
        "camt.053 or camt.054 XML file; for 'ubl' a UBL invoice or credit note, or a folder "
        "of them (see docs/cash-application.md)",
    )
    parser.add_argument(
        "--format", choices=("csv", "jsonl"), help="file format (default: by extension)"
    )
    parser.add_argument("--delimiter", help="CSV delimiter (default: sniffed); 'tab' for tabs")
    parser.add_argument("--encoding", default="utf-8-sig", help="text encoding (default utf-8)")
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="take FIELD from COLUMN; FIELD='text {COLUMN} text' fills a template; "
        "FIELD==VALUE sets a constant (repeatable)",
    )
    parser.add_argument(
        "--date-format", metavar="FORMAT", help="strptime format of dates (default ISO 8601)"
    )
    parser.add_argument("--company", help="company of every row without a company column")
    parser.add_argument("--currency", help="currency of rows without a currency column")
    parser.add_argument(
        "--accounting-currency", help="accounting currency of new customers (default: currency)"
    )
    parser.add_argument("--decimal-comma", action="store_true", help="amounts are written 1.234,56")
    parser.add_argument("--actor", default="import", help="actor recorded on every event")
    parser.add_argument(
        "--batch-size", type=int, default=5000, help="rows per ledger batch (default 5000)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="1: one chunk at a time; 2 or more (default 4): read and decide the next chunk "
        "while one is written",
    )
    parser.add_argument("--rejects", metavar="FILE", help="also write rejected rows to FILE (CSV)")
    parser.add_argument(
        "--register-missing-customers",
        action="store_true",
        help="register unknown customers of invoices/payments (name: customer_name or id)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="statement: import a statement whose balances do not reconcile",
    )
    parser.add_argument("--schema", default="ledger", help="the ledger's database schema")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@contextmanager
def import_progress(description: str) -> Iterator[Callable[[ImportProgress], None]]:
    """A progress display: a bar over the file's bytes, rows, rows/s and the time left (rich
    on a terminal; a plain line every few seconds otherwise)."""
    if not sys.stderr.isatty():
        last = [0.0]

        def plain(p: ImportProgress) -> None:
            now = time.monotonic()
            if now - last[0] >= 2.0 or p.bytes_read >= p.total_bytes:
                last[0] = now
                print(
                    f"{description}: {p.rows:,} rows, {p.rows_per_second:,.0f} rows/s, "
                    f"{p.bytes_read * 100 // max(p.total_bytes, 1)}% of the file, "
                    f"{_duration(p.eta_seconds)} left",
                    file=sys.stderr,
                    flush=True,
                )

        yield plain
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:>10,} rows {task.fields[rate]:>8,.0f} rows/s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(description, total=None, rows=0, rate=0.0)

        def rich_report(p: ImportProgress) -> None:
            bar.update(
                task,
                completed=p.bytes_read,
                total=p.total_bytes,
                rows=p.rows,
                rate=p.rows_per_second,
            )

        yield rich_report


def run(
    args: argparse.Namespace, database_url: Callable[[], tuple[str, LocalPostgres | None]]
) -> int:
    from arrears.cli.ledger_access import open_ledger

    if args.kind in OTHER_KINDS:
        return OTHER_KINDS[args.kind](args, database_url)
    try:
        options = options_from_args(args)
    except UsageError as error:
        print(f"arrears import: {error}", file=sys.stderr)
        return 2
    url, postgres = database_url()
    stop = [False]

    async def load() -> ImportSummary:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()

        def interrupted() -> None:
            if stop[0] and task is not None:
                task.cancel()  # the second Ctrl-C: abandon the chunk being written
                return
            stop[0] = True
            print(
                "\narrears import: stopping after the chunk being written "
                "(Ctrl-C again to abandon it)",
                file=sys.stderr,
            )

        loop.add_signal_handler(signal.SIGINT, interrupted)
        try:
            async with open_ledger(url, schema=args.schema) as ledger:
                with import_progress(f"import {options.kind}") as report:
                    return await import_file(
                        ledger, options, on_progress=report, should_stop=lambda: stop[0]
                    )
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    try:
        summary = asyncio.run(load())
    except UsageError as error:
        print(f"arrears import: {error}", file=sys.stderr)
        return 2
    except asyncio.CancelledError:
        print("arrears import: abandoned; run it again to continue", file=sys.stderr)
        return INTERRUPTED
    finally:
        if postgres is not None:
            postgres.stop()
    print(summary.text())
    if summary.stopped:
        return INTERRUPTED
    return 0 if summary.rejected == 0 else 1
