"""What every benchmark shares: its own embedded PostgreSQL and broker, the common options,
and writing its section of bench/RESULTS.md."""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from arrears.cli.infra import LocalBroker, LocalPostgres
from arrears.shared.logging import configure_logging

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"

Bench = Callable[[argparse.Namespace, str, str, Path], Coroutine[Any, Any, str | list[str]]]


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
