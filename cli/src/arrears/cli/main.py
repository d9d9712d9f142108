"""Entry point of the `arrears` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path

from arrears.cli.infra import LocalPostgres


def project_root() -> Path:
    """The checkout this command belongs to (the wrapper exports it; else search upwards)."""
    if os.environ.get("ARREARS_ROOT"):
        return Path(os.environ["ARREARS_ROOT"])
    for candidate in (Path.cwd(), *Path.cwd().parents):
        if (candidate / "arrears").is_file() and (candidate / "services").is_dir():
            return candidate
    return Path.cwd()


def state_dir() -> Path:
    return Path(os.environ.get("ARREARS_STATE_DIR") or project_root() / ".arrears")


def cmd_up(args: argparse.Namespace) -> int:
    from arrears.cli.stack import parse_replicas, up
    from arrears.shared.clock import clock_of

    try:
        clock_of(args.clock)
        replicas = parse_replicas(args.replicas)
    except ValueError as exc:
        print(f"arrears up: {exc}", file=sys.stderr)
        return 2
    return int(
        up(
            state_dir(),
            detach=args.detach,
            demo=not args.no_demo,
            clock=args.clock,
            replicas=replicas,
            usual_ports=not args.any_ports,
        )
    )


def cmd_down(args: argparse.Namespace) -> int:
    from arrears.cli.stack import down

    return int(down(state_dir()))


def cmd_service(args: argparse.Namespace) -> int:
    from arrears.cli.stack import service_command

    return service_command(state_dir(), args.action, args.service)


def cmd_migrate(args: argparse.Namespace) -> int:
    from arrears.cli.migrate import SCHEMA_OWNERS, migrate_all

    services = args.service or list(SCHEMA_OWNERS)
    unknown = sorted(set(services) - set(SCHEMA_OWNERS))
    if unknown:
        print(f"unknown service(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    url, postgres = database_url()
    try:
        asyncio.run(migrate_all(url, services))
    finally:
        if postgres is not None:
            postgres.stop()
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from arrears.shared.schema_export import export

    target = Path(args.dir) if args.dir else project_root() / "docs" / "events"
    written = export(target)
    print(f"wrote {len(written)} files to {target}")
    return 0


def cmd_schema_lock(args: argparse.Namespace) -> int:
    from arrears.shared.schema_export import lock_path, write_lock

    added = write_lock()
    print(f"{lock_path()}: {len(added)} new entries" + (f" ({', '.join(added)})" if added else ""))
    return 0


def database_url() -> tuple[str, LocalPostgres | None]:
    """ARREARS_DATABASE_URL, or the local stack's embedded server (started when needed)."""
    from arrears.shared.settings import asyncpg_url

    url = os.environ.get("ARREARS_DATABASE_URL")
    if url:
        return asyncpg_url(url), None
    postgres = LocalPostgres(state_dir() / "pgdata")
    return postgres.start(), postgres


def cmd_replay(args: argparse.Namespace) -> int:
    from arrears.cli.progress import progress_bar
    from arrears.cli.replay import replay
    from arrears.cli.stack import ServicePaused, paused

    url, postgres = database_url()
    try:
        # Into the service's own schema on a running stack: the service is stopped meanwhile.
        pause = contextlib.nullcontext(False) if args.schema else paused(state_dir(), args.service)
        with pause, progress_bar(f"replay {args.service}") as report:
            total = asyncio.run(replay(args.service, url, schema=args.schema, on_progress=report))
        print(f"{args.service}: read model rebuilt from {total} stored events")
    except ServicePaused as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        if postgres is not None:
            postgres.stop()
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from arrears.cli.progress import progress_bar
    from arrears.cli.verify import SERVICES, verify

    unknown = sorted(set(args.service) - set(SERVICES))
    if unknown:
        print(f"unknown service {', '.join(unknown)}; one of {', '.join(SERVICES)}")
        return 2
    url, postgres = database_url()
    try:
        with progress_bar("verify: figures", unit="customers") as report:
            found = asyncio.run(verify(url, services=args.service or None, on_progress=report))
    finally:
        if postgres is not None:
            postgres.stop()
    shown = found.differences[: args.limit]
    for difference in shown:
        print(difference.line())
    if len(found.differences) > len(shown):
        print(f"... and {len(found.differences) - len(shown)} more")
    for consumer, streams in sorted(found.checked.items()):
        wrong = sum(1 for d in found.differences if f"{d.service}/{d.consumer}" == consumer)
        print(f"{consumer}: {streams} customer streams checked, {wrong} differences")
    print("every read model agrees with the event store" if found.ok else "differences found")
    return 0 if found.ok else 1


def cmd_test(args: argparse.Namespace) -> int:
    from arrears.cli.testing import run_test_suite

    return int(run_test_suite(project_root(), args.pytest_args, lint=not args.no_lint))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arrears", description="Arrears: accounts-receivable collections platform."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("up", help="run the whole system locally (Ctrl-C stops it)")
    p.add_argument("--detach", action="store_true", help="run in the background")
    p.add_argument(
        "--no-demo", action="store_true", help="do not load demo data into an empty ledger"
    )
    p.add_argument(
        "--clock",
        metavar="DATE|OFFSET",
        help="move every service's time: a date (2026-03-01) or an offset (+30d, -2d, +12h); "
        "default ARREARS_CLOCK, else the real time",
    )
    p.add_argument(
        "--replicas",
        metavar="SERVICE=N,...",
        help="run N instances of a service (e.g. aging=3,timeline=2): they share its schema "
        "and consumer groups, Kafka splitting the partitions among them",
    )
    p.add_argument(
        "--any-ports",
        action="store_true",
        help="every process on a free port the kernel picks, never the usual ones (8000-8005, "
        "54320, 9092, 2525): several stacks on one machine",
    )
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("down", help="stop a stack started with --detach")
    p.set_defaults(func=cmd_down)

    from arrears.cli.control import ACTIONS

    for action in ACTIONS:
        p = sub.add_parser(action, help=f"{action} one service of the running stack (./arrears up)")
        p.add_argument(
            "service",
            help="gateway, ledger, aging, timeline, summary, notifier (every instance), or one "
            "instance (aging-2)",
        )
        p.set_defaults(func=cmd_service, action=action)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.add_argument("service", nargs="*", help="services to migrate (default: all)")
    p.set_defaults(func=cmd_migrate)

    from arrears.cli.replay import REPLAYABLE

    p = sub.add_parser("replay", help="rebuild a read model from the ledger's event store")
    p.add_argument("service", choices=REPLAYABLE)
    p.add_argument("--schema", help="replay into this schema instead of the service's own")
    p.set_defaults(func=cmd_replay)

    from arrears.cli.verify import SERVICES as VERIFIABLE

    p = sub.add_parser(
        "verify", help="check every read model against the ledger's event store (exit 1 if not)"
    )
    p.add_argument("service", nargs="*", help=f"of {', '.join(VERIFIABLE)} (default: every one)")
    p.add_argument("--limit", type=int, default=50, help="differences printed at most")
    p.set_defaults(func=cmd_verify)

    from arrears.cli import demo, imports

    p = sub.add_parser(
        "import",
        help="import customers, invoices, payments or settlements; bank statements; UBL",
    )
    imports.add_arguments(p)
    p.set_defaults(func=lambda args: imports.run(args, database_url))

    p = sub.add_parser("demo", help="generate a realistic demo history through the ledger")
    demo.add_arguments(p)
    p.set_defaults(func=lambda args: demo.run(args, database_url))

    from arrears.cli import strategies

    p = sub.add_parser("strategy", help="collection strategies: backtest one over a past period")
    strategies.add_arguments(p)
    p.set_defaults(func=lambda args: strategies.run(args, database_url))

    from arrears.cli import images

    p = sub.add_parser("images", help="container images, one per service (deploy/Dockerfile)")
    images.add_arguments(p)
    p.set_defaults(func=lambda args: images.run(args, project_root(), state_dir() / "cache"))

    from arrears.cli import tokens

    p = sub.add_parser("token", help="API tokens for integrations (create, list, revoke)")
    tokens.add_arguments(p)
    p.set_defaults(func=lambda args: tokens.run(args, database_url))

    p = sub.add_parser("schema", help="the published event contract")
    schema_sub = p.add_subparsers(dest="schema_command", required=True, metavar="ACTION")
    e = schema_sub.add_parser("export", help="write JSON Schemas, AsyncAPI and the catalogue")
    e.add_argument("--dir", help="target directory (default: docs/events)")
    e.set_defaults(func=cmd_schema)
    lock = schema_sub.add_parser(
        "lock", help="record new event versions in the compatibility lock (never rewrites)"
    )
    lock.set_defaults(func=cmd_schema_lock)

    p = sub.add_parser(
        "test",
        help="lint, type-check and run the whole test suite",
        description="Runs ruff, mypy and pytest; every other argument goes to pytest.",
    )
    p.add_argument("--no-lint", action="store_true", help="skip ruff and mypy")
    p.set_defaults(func=cmd_test, pytest_args=[])
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if args.func is not cmd_test:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.pytest_args = extra
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
