"""Requests to a running local stack's supervisor: stop, start or restart one service.

`arrears stop|start|restart SERVICE` drops a request file into `<state>/control/`; the
supervisor of the stack (`arrears up`, in the foreground or detached) picks it up within a
second, carries it out — a started service is waited for until its /readyz answers, as at
start-up — and writes the answer beside it.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ACTIONS = ("stop", "start", "restart")
CONTROL_DIR = "control"


@dataclass(frozen=True)
class ControlRequest:
    path: Path
    action: str
    service: str

    def answer(self, ok: bool, message: str) -> None:
        _write(self.path.with_suffix(".answer"), {"ok": ok, "message": message})
        self.path.unlink(missing_ok=True)


def _write(path: Path, document: dict[str, object]) -> None:
    """Write a whole file or nothing (the reader never sees half of it)."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document))
    partial.replace(path)


def control_requests(state_dir: Path) -> list[ControlRequest]:
    """The requests waiting for the supervisor, oldest first."""
    directory = state_dir / CONTROL_DIR
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.glob("*.request"), key=lambda p: p.stat().st_mtime):
        try:
            document = json.loads(path.read_text())
            request = ControlRequest(path, str(document["action"]), str(document["service"]))
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)
            continue
        if request.action not in ACTIONS:
            request.answer(False, f"unknown action {request.action}")
            continue
        found.append(request)
    return found


def ask(state_dir: Path, action: str, service: str, supervisor_pid: int) -> tuple[bool, str]:
    """Send a request to the supervisor and wait for its answer as long as it runs (starting
    a service takes as long as the service takes; the supervisor gives up on one that stops
    progressing)."""
    directory = state_dir / CONTROL_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.request"
    _write(path, {"action": action, "service": service})
    answer = path.with_suffix(".answer")
    while True:
        if answer.exists():
            document = json.loads(answer.read_text())
            answer.unlink(missing_ok=True)
            return bool(document["ok"]), str(document["message"])
        try:
            os.kill(supervisor_pid, 0)
        except OSError:
            path.unlink(missing_ok=True)
            return False, "the stack stopped before answering"
        time.sleep(0.2)
