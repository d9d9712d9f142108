"""`arrears strategy backtest COMPANY POOL --from --to`: replay a collection strategy over a
past period on the aging read model (`arrears.aging.strategy_store.backtest`, read-only,
emitting nothing) and print the report. docs/strategies.md is the user's guide."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import date

from arrears.cli.infra import LocalPostgres


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="strategy_command", required=True, metavar="ACTION")
    p = sub.add_parser("backtest", help="what a strategy would have done over a past period")
    p.add_argument("company")
    p.add_argument("pool", help="a pool id, or `default` for the company's default strategy")
    p.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    p.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    p.add_argument("--version", type=int, help="the strategy version (default: the newest)")
    p.add_argument("--paid-within", type=int, default=14, help="days after a first contact")
    p.add_argument("--schema", default="aging", help="the aging service's schema")


def run(
    args: argparse.Namespace, database_url: Callable[[], tuple[str, LocalPostgres | None]]
) -> int:
    from arrears.cli.progress import progress_bar

    if args.end < args.start:
        print(f"arrears strategy: --to {args.end} precedes --from {args.start}", file=sys.stderr)
        return 2
    url, postgres = database_url()
    days = (args.end - args.start).days + 1
    try:
        # one statement evaluates every day: the bar says when it is done, not how far
        with progress_bar(f"backtest {args.company}/{args.pool}", unit="days") as report:
            report(0, days)
            found = asyncio.run(_backtest(url, args))
            report(days, days)
    finally:
        if postgres is not None:
            postgres.stop()
    if isinstance(found, str):
        print(f"arrears strategy: {found}", file=sys.stderr)
        return 1
    for line in found:
        print(line)
    return 0


async def _backtest(url: str, args: argparse.Namespace) -> list[str] | str:
    from arrears.aging import strategy_store
    from arrears.shared.db import create_engine

    engine = create_engine(url, args.schema, pool_size=1)
    try:
        async with engine.connect() as conn:
            await strategy_store.read_only(conn)
            version = await strategy_store.strategy_version(
                conn, args.company, args.pool, args.version
            )
            if version is None:
                return f"no strategy {args.pool} in {args.company}"
            scope = await strategy_store.scope_of(conn, args.company, args.pool)
            if scope is None:
                return f"no pool {args.pool} in {args.company}"
            report = await strategy_store.backtest(
                conn, version.strategy, args.start, args.end, scope,
                paid_within_days=args.paid_within,
            )  # fmt: skip
    finally:
        await engine.dispose()
    return strategy_store.report_lines(report, version.version, args.start, args.end)
