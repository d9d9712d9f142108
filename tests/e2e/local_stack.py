"""Running the real local stack (`arrears up`) from end-to-end tests."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SERVICES = {"gateway", "ledger", "aging", "timeline", "summary", "notifier"}
READY = "ready. Press Ctrl-C"
FIRST_ADMIN = re.compile(r"sign in to the Web UI as (\S+) with the password (\S+)")


def stack_env(state: Path) -> dict[str, str]:
    """The environment of an `arrears up` with its own state directory and embedded servers."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ARREARS_DATABASE_URL", "ARREARS_KAFKA_BOOTSTRAP")
    }
    env["ARREARS_STATE_DIR"] = str(state)
    return env


@dataclass
class RunningStack:
    state: Path
    output: list[str]

    @property
    def addresses(self) -> dict[str, Any]:
        addresses: dict[str, Any] = json.loads((self.state / "stack.json").read_text())
        return addresses

    def url(self, service: str) -> str:
        return str(self.addresses["services"][service])

    def first_admin(self) -> tuple[str, str]:
        """The credentials `up` printed once on the first start."""
        for line in self.output:
            match = FIRST_ADMIN.search(line)
            if match:
                return match.group(1), match.group(2)
        raise AssertionError("up printed no first-admin credentials")


@contextmanager
def running_stack(
    state: Path, *extra: str, env: dict[str, str] | None = None
) -> Iterator[RunningStack]:
    """`arrears up --any-ports` in the foreground until it is ready (with `env` added to its
    environment); Ctrl-C (SIGINT) at the end. No usual port: stacks of tests running side by
    side never take a port another's restarting process needs."""
    up = subprocess.Popen(
        [sys.executable, "-m", "arrears.cli.main", "up", "--any-ports", *extra],
        env=stack_env(state) | (env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert up.stdout is not None
        for line in up.stdout:
            lines.append(line)
            if READY in line:
                break
        else:  # the stack's own lines (why it stopped), then the services' last ones
            said = [line for line in lines if line.startswith("arrears | ")]
            pytest.fail("".join(said[-40:]) + "".join(lines[-60:]))
        # Keep reading, so that the stack never blocks on a full pipe.
        threading.Thread(target=lines.extend, args=(up.stdout,), daemon=True).start()
        yield RunningStack(state, lines)
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(90)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait(30)
