"""Progress bars for long-running commands (rich on a terminal, plain lines otherwise)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

Report = Callable[[int, int | None], None]


@contextmanager
def progress_bar(description: str, unit: str = "events") -> Iterator[Report]:
    """Yields report(done, total); total may be None when unknown (e.g. a streamed file)."""
    if not sys.stderr.isatty():
        started = time.monotonic()
        last = [0.0]

        def plain(done: int, total: int | None) -> None:
            now = time.monotonic()
            if now - last[0] >= 2.0 or (total is not None and done >= total):
                last[0] = now
                print(
                    f"{description}: {plain_line(done, total, now - started, unit)}",
                    file=sys.stderr,
                    flush=True,
                )

        yield plain
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(description, total=None)

        def rich_report(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield rich_report


def plain_line(done: int, total: int | None, elapsed: float, unit: str) -> str:
    """`1,200/5,000 events, 400/s, 9 s left` (without a total: done and rate only)."""
    rate = done / elapsed if elapsed > 0 else 0.0
    text = f"{done:,}" + (f"/{total:,}" if total is not None else "") + f" {unit}, {rate:,.0f}/s"
    if total is not None and rate > 0 and done < total:
        left = round((total - done) / rate)
        text += f", {left // 60} min {left % 60} s left" if left >= 60 else f", {left} s left"
    return text
