"""`arrears test`: ruff, mypy and pytest, each step reported; any failure fails the run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PYTEST_NO_TESTS = 5


def _step(title: str, command: list[str], root: Path, *, env: dict[str, str] | None = None) -> int:
    print(f"\n=== {title}: {' '.join(command)}", flush=True)
    started = time.monotonic()
    code = subprocess.call(command, cwd=root, env=env)
    print(f"=== {title}: exit {code} in {time.monotonic() - started:.1f}s", flush=True)
    return code


def parallel(pytest_args: list[str]) -> list[str]:
    """Spread test files over one worker per core (each with its own PostgreSQL and broker)
    unless the caller chose (`-n 0` runs in this process)."""
    if any(
        a in ("-n", "--numprocesses") or a.startswith(("-n", "--numprocesses="))
        for a in pytest_args
    ):
        return pytest_args
    workers = max(1, min(os.cpu_count() or 1, 4))
    return ["-n", str(workers), "--dist", "loadfile", *pytest_args]


CHROMIUM = Path("/usr/bin/chromium")


def ensure_browser() -> None:
    """The browser tests drive Debian's Chromium. When it is missing and this process may
    install packages (root), install it with apt-get; otherwise say how to get it (those
    tests then skip)."""
    if CHROMIUM.exists():
        return
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(
            f"\n=== browser: {CHROMIUM} is missing, so the browser tests will be skipped; "
            "install Debian's chromium package (apt-get install chromium) to run them",
            flush=True,
        )
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "chromium"],
    ):
        code = _step("browser", command, Path.cwd(), env=env)
        if code != 0:
            print("=== browser: could not install chromium; the browser tests will be skipped")
            return


def run_test_suite(root: Path, pytest_args: list[str], *, lint: bool = True) -> int:
    ensure_browser()
    bin_dir = Path(sys.executable).parent
    if lint:
        for title, command in (
            ("ruff", [str(bin_dir / "ruff"), "check", "."]),
            (
                "mypy",
                [
                    str(bin_dir / "mypy"),
                    "shared/src/arrears/shared",
                    "cli/src/arrears/cli",
                    "demo/src/arrears/demo",
                    *(str(p) for p in sorted(root.glob("services/*/src/arrears/*"))),
                ],
            ),
        ):
            code = _step(title, command, root)
            if code != 0:
                return code
    code = _step(
        "pytest",
        [sys.executable, "-m", "pytest", "--durations=20", *parallel(pytest_args)],
        root,
    )
    if code == PYTEST_NO_TESTS:
        print("pytest collected no tests: that is a failure", flush=True)
        return 1
    return code
