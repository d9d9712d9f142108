"""What every benchmark shares: its own embedded PostgreSQL and broker, the common options,
and writing its section of bench/RESULTS.md."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from arrears.cli.infra import LocalBroker, LocalPostgres
from arrears.shared.logging import configure_logging

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"

Bench = Callable[[argparse.Namespace, str, str, Path], Coroutine[Any, Any, str | list[str]]]


def machine() -> str:
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                ram_kb = int(line.split()[1])
    return (
        f"{os.cpu_count()} CPUs ({model}), {ram_kb / 1024 / 1024:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def invocation(script: str) -> str:
    """How this run was started, when and where: the first line of a RESULTS.md entry."""
    command = " ".join([f"bench/{script}", *(shlex.quote(a) for a in sys.argv[1:])])
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    return f"`.venv/bin/python {command}` on {today}: {machine()}"


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    parser.add_argument("--notes", default="", help="text appended to the subsection")


def run(
    args: argparse.Namespace,
    bench: Bench,
    *,
    title: str,
    intro: str,
    data_dir: str | None = None,
) -> None:
    """Start PostgreSQL (durable, fsync on) and the broker, run `bench(args, database url,
    bootstrap, work dir)`, print its subsection and write it under `## {title}`. PostgreSQL's
    data lives in a temporary directory, or in `data_dir` to keep it for a later run."""
    configure_logging("bench", "WARNING", "console")
    with tempfile.TemporaryDirectory(prefix=f"arrears-{title.lower()}-bench-") as tmp:
        work = Path(data_dir) if data_dir else Path(tmp)
        postgres = LocalPostgres(work / "pg", preferred_port=None, durable=True)
        broker = LocalBroker(preferred_port=None, log_file=work / "broker.log")
        url = postgres.start()
        try:
            bootstrap = broker.start()
            result: str | list[str] = asyncio.run(bench(args, url, bootstrap, work))
        finally:
            broker.stop()
            postgres.stop()
    section = result if isinstance(result, str) else "\n".join(result)
    print()
    print(section)
    if not args.no_write:
        write_results(section, getattr(args, "notes", ""), title=title, intro=intro)
        print(f"written to {RESULTS}")


def write_results(subsection: str, notes: str, *, title: str, intro: str) -> None:
    """Put `subsection` (it starts with its `### ` line) in the `## {title}` section of
    bench/RESULTS.md, replacing one of the same heading and keeping the others (in order)
    and every other section."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section_re = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    found = section_re.search(text)
    parts: dict[str, str] = {}
    if found:
        for match in re.finditer(r"^(### [^\n]*)\n.*?(?=^### |\Z)", found.group(0), re.S | re.M):
            parts[match.group(1)] = match.group(0).strip()
    body = "\n\n".join(p for p in (subsection.strip(), notes.strip()) if p)
    parts[body.splitlines()[0]] = body
    section = "\n\n".join([intro, *parts.values()]) + "\n"
    if found:
        text = text[: found.start()] + section + "\n" + text[found.end() :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text.rstrip("\n") + "\n")
