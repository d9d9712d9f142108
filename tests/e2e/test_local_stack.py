"""`arrears up` brings every service to ready; Ctrl-C and `arrears down` leave nothing behind."""

from __future__ import annotations

import functools
import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.local_stack import SERVICES, stack_env
from tests.support import poll_until

pytestmark = pytest.mark.e2e


def postgres_pid(state: Path) -> int:
    return int((state / "pgdata" / "postmaster.pid").read_text().splitlines()[0])


def check_running_stack(state: Path) -> list[psutil.Process]:
    """Every service answers /readyz and /metrics; returns every process of the stack."""
    addresses = json.loads((state / "stack.json").read_text())
    assert set(addresses["services"]) == SERVICES
    for name, url in addresses["services"].items():
        ready = httpx.get(f"{url}/readyz", timeout=5)
        assert ready.status_code == 200, (name, ready.text)
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}
        assert httpx.get(f"{url}/healthz", timeout=5).json()["status"] == "ok"
        assert "arrears_http_request_duration_seconds" in httpx.get(f"{url}/metrics").text
    supervisor = psutil.Process(int(addresses["pid"]))
    processes = [
        supervisor,
        *supervisor.children(recursive=True),
        psutil.Process(postgres_pid(state)),
    ]
    names = " ".join(" ".join(p.cmdline()) for p in processes)
    for service in SERVICES:
        assert f"arrears.{service}" in names
    assert "tansu" in names
    return processes


def applied(url: str) -> float:
    """Events a service's projections applied, from its /metrics."""
    total = 0.0
    for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith("arrears_events_applied_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def assert_events_flow_to_projections(state: Path) -> None:
    """The demo's events go ledger → outbox relay → Kafka → every consuming service."""
    services = json.loads((state / "stack.json").read_text())["services"]
    for name in ("aging", "timeline", "summary", "notifier"):
        poll_until(
            functools.partial(applied, services[name]),
            lambda total: total > 0,
            interval=0.5,
            what=f"{name} to apply an event",
        )


def assert_all_gone(processes: list[psutil.Process]) -> None:
    _gone, alive = psutil.wait_procs(processes, timeout=30)
    assert not alive, [" ".join(p.cmdline()) for p in alive]


def test_up_ctrl_c_then_detached_up_and_down(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = stack_env(state)
    up = subprocess.Popen(
        [sys.executable, "-m", "arrears.cli.main", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert up.stdout is not None
    for line in up.stdout:
        lines.append(line)
        if "ready. Press Ctrl-C" in line:
            break
    else:
        pytest.fail("".join(lines[-60:]))
    # however long a loaded machine takes: every service reported ready on its own
    for service in SERVICES:
        assert any(f"{service} ready at http" in seen for seen in lines), service
    output = "".join(lines)
    assert "Web UI" in output and "/metrics" in output
    assert "demo data loaded: 40 customers" in output
    processes = check_running_stack(state)
    assert_events_flow_to_projections(state)
    up.send_signal(signal.SIGINT)
    up.wait(60)
    assert_all_gone(processes)
    assert not (state / "stack.json").exists()

    # Detached: the same data directory is reused, `down` stops everything.
    detached = subprocess.run(
        [sys.executable, "-m", "arrears.cli.main", "up", "--detach"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert detached.returncode == 0, detached.stdout + detached.stderr
    assert "Web UI" in detached.stdout
    assert "data present, no demo loaded" in (state / "logs" / "stack.log").read_text()
    processes = check_running_stack(state)
    again = subprocess.run(
        [sys.executable, "-m", "arrears.cli.main", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert again.returncode == 1 and "already running" in again.stdout
    down = subprocess.run(
        [sys.executable, "-m", "arrears.cli.main", "down"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert down.returncode == 0, down.stdout + down.stderr
    assert_all_gone(processes)
