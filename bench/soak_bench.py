"""Soak: the local stack (`arrears up`, every service its own process) under a steady stream of
mixed commands for `--minutes`, while every component is killed at random moments (SIGKILL of
each service and of the broker, a fast restart of PostgreSQL), one fault at a time.

Method: the load and the faults are those of the fault matrix (`tests/faults.py`): commands
(new customers, invoices, payments) go to the ledger's HTTP API from one thread, each retried
with its `Idempotency-Key` while the answer is an outage (503, no answer). Every `--gap`
seconds on average (uniformly 0.5 to 1.5 times it) a component is picked at random and
struck; the next fault waits until the supervisor brought it back. When the time is up the
load stops and the run waits (at most `--settle` seconds) until the read models agree, then
counts: commands accepted, events stored for them, faults injected per component, and the
differences found: answered events not stored exactly once, `arrears verify` differences, and
tables of aging, timeline and summary whose checksum differs from a replay of the event store
into a fresh schema. Goal (issue #15): 0 differences.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import harness

sys.path.insert(0, str(harness.ROOT))  # the fault matrix's load, faults and checks

from arrears.cli.verify import Report, verify
from tests.e2e.local_stack import RunningStack, running_stack
from tests.faults import (
    CommandLoad,
    replay_differences,
    restart_database,
    sigkill,
    stored_once,
)
from tests.support import wait_until

COMPONENTS = ("broker", "postgres", "ledger", "aging", "timeline", "summary", "notifier", "gateway")


def strike(stack: RunningStack, component: str) -> None:
    if component == "postgres":
        restart_database(stack)
    else:
        sigkill(stack, component)


def soak(args: argparse.Namespace, stack: RunningStack) -> list[str]:
    rng = random.Random(args.seed)
    load = CommandLoad(stack.url("ledger"), "SOAK", interval_s=args.interval, seed=args.seed)
    load_before = harness.load_average()
    started = time.monotonic()
    deadline = started + args.minutes * 60
    faults: Counter[str] = Counter()
    load.start()
    while time.monotonic() < deadline:
        time.sleep(min(rng.uniform(0.5, 1.5) * args.gap, max(deadline - time.monotonic(), 0)))
        if time.monotonic() >= deadline:
            break
        component = rng.choice(COMPONENTS)
        harness.say(
            f"fault {sum(faults.values()) + 1}: {component} ({len(load.accepted)} accepted)"
        )
        strike(stack, component)
        faults[component] += 1
    load.stop()
    drove = time.monotonic() - started
    load_end = harness.load_average()
    harness.say(f"load stopped: {len(load.accepted)} accepted; waiting for the read models")
    return count_differences(args, stack, load, faults, drove, load_before, load_end)


def count_differences(
    args: argparse.Namespace,
    stack: RunningStack,
    load: CommandLoad,
    faults: Counter[str],
    drove: float,
    load_before: str,
    load_end: str,
) -> list[str]:
    database_url = stack.addresses["database_url"]
    stored = asyncio.run(stored_once(database_url, load))
    not_once = sum(1 for n in stored.times.values() if n != 1) + len(stored.unanswered)

    async def settled() -> tuple[Report, dict[str, list[str]]]:
        try:
            report = await wait_until(
                lambda: verify(database_url), lambda r: r.ok, timeout=args.settle, interval=5
            )
        except AssertionError:  # what still differs is counted; the replays are compared once
            return await verify(database_url), await replay_differences(database_url)
        try:
            differing = await wait_until(
                lambda: replay_differences(database_url),
                lambda d: not d,
                timeout=args.settle,
                interval=5,
            )
        except AssertionError:
            differing = await replay_differences(database_url)
        return report, differing

    report, replay_differing = asyncio.run(settled())
    verify_differences = len(report.differences)
    kinds = Counter(f"{d.service}/{d.consumer} {d.kind.split(' (')[0]}" for d in report.differences)
    tables = sum(len(v) for v in replay_differing.values())
    total = not_once + verify_differences + tables + len(load.refused)
    faults_text = ", ".join(f"{c} {faults[c]}" for c in COMPONENTS if faults[c])
    lines = [
        f"### {args.minutes:g} minutes, a fault every {args.gap:g} s on average",
        "",
        f"{harness.invocation('soak_bench.py')}; load average {load_before} before, "
        f"{load_end} when the drive ended.",
        "",
        "| what | count |",
        "| --- | ---: |",
        f"| commands accepted | {len(load.accepted):,} |",
        f"| events stored for them | {sum(stored.times.values()):,} |",
        f"| retries of an outage (503, no answer) | {load.retries:,} |",
        f"| commands refused or never answered | {len(load.refused):,} |",
        f"| faults injected | {sum(faults.values())} ({faults_text}) |",
        f"| events not stored exactly once (or never answered) | {not_once} |",
        f"| `arrears verify` differences after settling | {verify_differences} |",
        f"| tables differing from a replay (aging, timeline, summary) | {tables} |",
        f"| **differences found** | **{total}** |",
        "",
        f"Drove {drove / 60:.1f} minutes; goal: 0 differences.",
    ]
    if kinds:
        lines += ["", "verify: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))]
    for service, differing in sorted(replay_differing.items()):
        lines += ["", f"{service}: " + "; ".join(differing)]
    for path, status, text in load.refused[:10]:
        lines += ["", f"refused: {path} {status} {text}"]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to drive")
    parser.add_argument("--gap", type=float, default=20.0, help="mean seconds between faults")
    parser.add_argument("--interval", type=float, default=0.2, help="pause between commands")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--settle", type=float, default=900.0, help="longest wait for the read models to agree"
    )
    harness.add_common_arguments(parser)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="arrears-soak-bench-") as tmp,
        running_stack(Path(tmp) / "state", "--no-demo") as stack,
    ):
        section = soak(args, stack)
    print()
    print("\n".join(section))
    if not args.no_write:
        harness.write_results(
            "\n".join(section),
            args.notes,
            title="Soak",
            intro="## Soak\n\n`bench/soak_bench.py`: " + __doc__.split("\n\n")[0][len("Soak: ") :],
        )


if __name__ == "__main__":
    main()
