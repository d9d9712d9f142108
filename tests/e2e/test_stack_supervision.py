"""The supervisor of `arrears up`: one service stopped, started and restarted on request
(`arrears stop|start|restart SERVICE`), and the broker restarted like any other child when
it dies (SIGKILL): the system works again on it with no manual step."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.local_stack import RunningStack, running_stack, stack_env
from tests.support import poll_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]


def arrears(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arrears.cli.main", *args],
        env=stack_env(state),
        capture_output=True,
        text=True,
        timeout=900,
    )


def service_pid(stack: RunningStack, name: str) -> int:
    supervisor = psutil.Process(int(stack.addresses["pid"]))
    for child in supervisor.children():
        try:
            if f"arrears.{name}" in " ".join(child.cmdline()):
                return int(child.pid)
        except psutil.Error:  # exited (a zombie until the supervisor reaps it)
            continue
    raise LookupError(name)


def broker(stack: RunningStack) -> psutil.Process | None:
    supervisor = psutil.Process(int(stack.addresses["pid"]))
    for child in supervisor.children():
        try:
            if "tansu" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def status(url: str) -> int:
    return answer(f"{url}/readyz")


def answer(url: str) -> int:
    """The status code of a GET, 0 when nothing answers (a service starting)."""
    try:
        return httpx.get(url, timeout=10).status_code
    except httpx.HTTPError:
        return 0


def test_one_service_on_request_and_the_broker_after_sigkill(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running_stack(state, "--no-demo") as stack:
        try:
            supervise(state, stack)
        except BaseException:
            print("".join(stack.output[-150:]))  # what the stack said, for the report
            raise


def supervise(state: Path, stack: RunningStack) -> None:
    """The requests, then the broker's death, on one running stack."""
    aging = stack.url("aging")
    before = service_pid(stack, "aging")
    done = arrears(state, "restart", "aging")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "aging restart done" in done.stdout
    assert service_pid(stack, "aging") != before and status(aging) == 200

    summary = stack.url("summary")
    stopped = arrears(state, "stop", "summary")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert status(summary) == 0  # and the supervisor leaves it stopped
    assert "summary exited" not in "".join(stack.output)
    started = arrears(state, "start", "summary")
    assert started.returncode == 0, started.stdout + started.stderr
    assert status(summary) == 200
    unknown = arrears(state, "restart", "nothing")
    assert unknown.returncode == 2

    killed = broker(stack)
    assert killed is not None
    killed.kill()
    poll_until(
        lambda: broker(stack),
        lambda found: found is not None and found.pid != killed.pid,
        timeout=300,
        interval=0.5,
        what="the supervisor to restart the broker",
    )
    # Facts recorded after the loss flow through the new broker to aging.
    ledger = stack.url("ledger")
    registered = httpx.post(
        f"{ledger}/v1/companies/usmf/customers",
        json={
            "customer_id": "AFTER-LOSS",
            "profile": {"name": "After the loss"},
            "currency": "USD",
            "accounting_currency": "USD",
        },
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    poll_until(  # aging starts again meanwhile, to read its topics from the start
        lambda: answer(f"{aging}/v1/companies/usmf/customers/AFTER-LOSS/aging"),
        lambda code: code == 200,
        timeout=300,
        interval=1.0,
        what="aging to see a customer registered after the broker restarted",
    )
    output = "".join(stack.output)
    assert "the broker exited" in output and "broker restarted" in output
    assert "the broker lost its data since this service started" in output
    assert json.loads((state / "stack.json").read_text())["kafka_bootstrap"]

    # A read model rebuilt while the stack runs: its service is stopped meanwhile and started
    # again afterwards, and every read model then agrees with the event store.
    timeline = service_pid(stack, "timeline")
    rebuilt = arrears(state, "replay", "timeline")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "stopping timeline" in rebuilt.stdout and "starting timeline again" in rebuilt.stdout
    assert service_pid(stack, "timeline") != timeline and status(stack.url("timeline")) == 200
    verified = poll_until(
        lambda: arrears(state, "verify"),
        lambda done: done.returncode == 0,
        timeout=300,
        interval=2.0,
        what="every read model to agree with the event store",
    )
    assert "every read model agrees with the event store" in verified.stdout
