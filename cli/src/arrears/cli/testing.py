"""`arrears test`: ruff, mypy and pytest, each step reported; any failure fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

PYTEST_NO_TESTS = 5


def _step(title: str, command: list[str], root: Path) -> int:
    print(f"\n=== {title}: {' '.join(command)}", flush=True)
    started = time.monotonic()
    code = subprocess.call(command, cwd=root)
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


def run_test_suite(root: Path, pytest_args: list[str], *, lint: bool = True) -> int:
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
                    *(str(p) for p in sorted(root.glob("services/*/src/arrears/*"))),
                ],
            ),
        ):
            code = _step(title, command, root)
            if code != 0:
                return code
    code = _step("pytest", [sys.executable, "-m", "pytest", *parallel(pytest_args)], root)
    if code == PYTEST_NO_TESTS:
        print("pytest collected no tests: that is a failure", flush=True)
        return 1
    return code
