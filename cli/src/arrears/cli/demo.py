"""`arrears demo`: the command line of the demo data (`arrears.demo`): arguments, a progress
bar over the days of history written, and the summary."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from arrears.cli.progress import Report
from arrears.demo import DemoError, DemoSummary, generate
from arrears.shared.clock import FixedClock

if TYPE_CHECKING:
    from arrears.cli.infra import LocalPostgres


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=40, help="customers (default 40)")
    parser.add_argument("--months", type=int, default=12, help="months of history (default 12)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--company", default="usmf", help="company (default usmf)")
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="last day of the history, YYYY-MM-DD (default: today)",
    )


def run(
    args: argparse.Namespace, database_url: Callable[[], tuple[str, LocalPostgres | None]]
) -> int:
    """`arrears demo`: plan, write with a progress bar, print the summary."""
    from arrears.cli.ledger_access import open_ledger
    from arrears.cli.progress import progress_bar

    if not 1 <= args.customers <= 10000 or not 1 <= args.months <= 120:
        print("--customers must be 1..10000 and --months 1..120", file=sys.stderr)
        return 2
    today: date = args.today or datetime.now(UTC).date()
    if today > datetime.now(UTC).date():
        print("--today cannot be in the future", file=sys.stderr)
        return 2

    async def write(report: Report) -> DemoSummary:
        clock = FixedClock(datetime.combine(today, time(0), tzinfo=UTC))
        async with open_ledger(url, clock=clock) as ledger:
            return await generate(
                ledger,
                customers=args.customers,
                months=args.months,
                seed=args.seed,
                today=today,
                company=args.company,
                on_progress=report,
            )

    url, postgres = database_url()
    try:
        with progress_bar("demo", "days") as report:
            summary = asyncio.run(write(report))
    except DemoError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    finally:
        if postgres is not None:
            postgres.stop()
    print(summary.render())
    return 0
