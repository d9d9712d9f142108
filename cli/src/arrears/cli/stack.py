"""`arrears up` / `arrears down`: the whole system on one machine, no Docker.

Starts embedded PostgreSQL and the Kafka-protocol broker (unless ARREARS_DATABASE_URL /
ARREARS_KAFKA_BOOTSTRAP point elsewhere), creates the topics, runs the migrations, starts every
service as its own process with prefixed log lines, waits for every /readyz and prints the
addresses. Ctrl-C or SIGTERM stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx

from arrears.cli.infra import LocalBroker, LocalPostgres, die_with_parent, pick_port, terminate
from arrears.cli.migrate import migrate_all
from arrears.shared.kafka import ensure_topics, topic_names
from arrears.shared.settings import ServiceSettings, asyncpg_url

SERVICES: tuple[tuple[str, int], ...] = (
    ("gateway", 8000),
    ("ledger", 8001),
    ("aging", 8002),
    ("timeline", 8003),
    ("summary", 8004),
    ("notifier", 8005),
)
MAIL_SINK = ("mailsink", 8025)
"""The SMTP sink the notifier sends to (an aiosmtpd server keeping what it receives, with an
HTTP list the gateway's admin page "Mail sink" reads): its HTTP port; SMTP is SMTP_PORT."""
SMTP_PORT = 2525
MODULES = {"mailsink": "arrears.notifier.sink"}
DEMO_CUSTOMERS = 40
DEMO_MONTHS = 12
COLORS = ("36", "35", "33", "32", "34", "31", "96", "95")
READY_TIMEOUT = float(os.environ.get("ARREARS_READY_TIMEOUT", "600"))
"""How long start-up may take before the stack gives up. A service that exits fails the
start at once; this only catches one that hangs, so it is generous: a loaded machine starts
slowly (each wait is reported)."""
STATE_FILE = "stack.json"
ADMIN_FILE = "initial-admin.json"
"""The gateway's first start leaves the admin credentials here; `up` prints and deletes them."""
DETACHED_CHILD = "ARREARS_UP_DETACHED"


def _say(message: str) -> None:
    print(f"arrears | {message}", flush=True)


@dataclass
class ServiceProcess:
    name: str
    port: int
    color: str
    process: subprocess.Popen[bytes] | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    restarts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Stack:
    def __init__(self, state_dir: Path, *, colors: bool, usual_ports: bool = True) -> None:
        """`usual_ports=False`: every service on a free port from the kernel, never the usual
        ones (a second stack beside a running one, e.g. a benchmark's)."""
        self.state_dir = state_dir
        self.colors = colors
        self.usual_ports = usual_ports
        self.postgres: LocalPostgres | None = None
        self.broker: LocalBroker | None = None
        self.database_url = ""
        self.kafka_bootstrap = ""
        self.services: list[ServiceProcess] = []
        self.smtp_port = 0
        self.stopping = threading.Event()
        self._print_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        logs = self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        external_db = os.environ.get("ARREARS_DATABASE_URL")
        if external_db:
            self.database_url = asyncpg_url(external_db)
            _say("using PostgreSQL from ARREARS_DATABASE_URL")
        else:
            _say("starting embedded PostgreSQL (data in .arrears/pgdata) ...")
            self.postgres = LocalPostgres(self.state_dir / "pgdata")
            self.database_url = self.postgres.start()
            reuse = "" if self.postgres.started_here else " (already running, reused)"
            _say(f"PostgreSQL ready on 127.0.0.1:{self.postgres.port}{reuse}")
        external_kafka = os.environ.get("ARREARS_KAFKA_BOOTSTRAP")
        if external_kafka:
            self.kafka_bootstrap = external_kafka
            _say(f"using Kafka at {external_kafka}")
        else:
            _say("starting the Kafka-protocol broker (in memory) ...")
            self.broker = LocalBroker(log_file=logs / "broker.log")
            self.kafka_bootstrap = self.broker.start()
            _say(f"broker ready on {self.kafka_bootstrap}")
        settings = ServiceSettings(
            database_url=self.database_url, kafka_bootstrap=self.kafka_bootstrap
        )
        created = asyncio.run(
            ensure_topics(
                self.kafka_bootstrap, topic_names(settings), partitions=settings.topic_partitions
            )
        )
        _say(f"topics ready ({len(created)} created, {settings.topic_partitions} partitions each)")
        asyncio.run(migrate_all(self.database_url, report=_say))
        self.smtp_port = pick_port(SMTP_PORT)
        for index, (name, preferred) in enumerate((MAIL_SINK, *SERVICES)):
            port = pick_port(preferred if self.usual_ports else None)
            service = ServiceProcess(name, port, COLORS[index % len(COLORS)])
            self.services.append(service)
        for service in self.services:
            self._spawn(service)
        self._wait_ready()

    def load_demo_if_empty(self) -> None:
        """First start: write a modest demo history through the ledger so the UI has data."""
        from arrears.cli.ledger_access import open_ledger
        from arrears.demo import generate
        from arrears.ledger.store import count_events

        async def load() -> str | None:
            async with open_ledger(self.database_url) as ledger:
                if await count_events(ledger.engine) > 0:
                    return None
                summary = await generate(
                    ledger,
                    customers=DEMO_CUSTOMERS,
                    months=DEMO_MONTHS,
                    seed=1,
                    today=datetime.now(UTC).date(),
                )
                return f"{summary.customers} customers, {summary.events} events"

        _say("first start: loading demo data (./arrears up --no-demo skips this) ...")
        loaded = asyncio.run(load())
        _say(f"demo data loaded: {loaded}" if loaded else "data present, no demo loaded")
        if loaded:
            self.install_demo_access()

    def install_demo_access(self) -> None:
        """The demo agents' pools (aging) and accounts (gateway), password DEMO_PASSWORD."""
        from arrears.gateway.demo import DEMO_PASSWORD, install_demo_access
        from arrears.shared.db import create_engine

        aging_url = next(s.url for s in self.services if s.name == "aging")

        async def install() -> list[str]:
            engine = create_engine(self.database_url, "gateway", pool_size=1)
            try:
                async with httpx.AsyncClient(base_url=aging_url, timeout=30) as aging:
                    return await install_demo_access(
                        engine,
                        aging,
                        company="usmf",
                        now=datetime.now(UTC),
                        environment=ServiceSettings().environment,
                    )
            finally:
                await engine.dispose()

        logins = asyncio.run(install())
        _say(f"demo agents {', '.join(logins)} can sign in with the password {DEMO_PASSWORD}")

    def _spawn(self, service: ServiceProcess) -> None:
        env = dict(os.environ)
        env.update(
            ARREARS_DATABASE_URL=self.database_url,
            ARREARS_KAFKA_BOOTSTRAP=self.kafka_bootstrap,
            ARREARS_HTTP_PORT=str(service.port),
            ARREARS_LOG_FORMAT="json",
            ARREARS_INITIAL_ADMIN_FILE=str(self.state_dir / ADMIN_FILE),
            PYTHONUNBUFFERED="1",
        )
        env.update({f"ARREARS_{s.name.upper()}_URL": s.url for s in self.services})
        sink = next(s for s in self.services if s.name == MAIL_SINK[0])
        env.update(ARREARS_MAIL_SINK_URL=sink.url, ARREARS_SINK_SMTP_PORT=str(self.smtp_port))
        env.setdefault("ARREARS_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")  # receivers on this host
        if "ARREARS_SMTP_HOST" not in os.environ:  # else: the SMTP server the user named
            env.update(ARREARS_SMTP_HOST="127.0.0.1", ARREARS_SMTP_PORT=str(self.smtp_port))
        module = MODULES.get(service.name, f"arrears.{service.name}")
        service.process = subprocess.Popen(
            [sys.executable, "-m", module],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        assert service.process.stdout is not None
        threading.Thread(
            target=self._pump, args=(service, service.process.stdout), daemon=True
        ).start()

    def _pump(self, service: ServiceProcess, stream: IO[bytes]) -> None:
        for raw in stream:
            line = render_log_line(raw.decode(errors="replace").rstrip())
            service.tail.append(line)
            prefix = f"{service.name:<9}|"
            if self.colors:
                prefix = f"\x1b[{service.color}m{prefix}\x1b[0m"
            with self._print_lock:
                print(f"{prefix} {line}", flush=True)

    def _wait_ready(self) -> None:
        started = time.monotonic()
        deadline, report = started + READY_TIMEOUT, started + 15
        pending = {s.name for s in self.services}
        with httpx.Client(timeout=2.0) as client:
            while pending:
                if self.stopping.is_set():
                    raise KeyboardInterrupt
                for service in self.services:
                    if service.name not in pending:
                        continue
                    assert service.process is not None
                    if service.process.poll() is not None:
                        tail = "\n".join(service.tail)
                        raise RuntimeError(f"{service.name} exited during start-up:\n{tail}")
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(f"{service.url}/readyz").status_code == 200:
                            pending.discard(service.name)
                            _say(f"{service.name} ready at {service.url}")
                now = time.monotonic()
                if now > deadline:
                    raise TimeoutError(f"not ready after {READY_TIMEOUT:.0f}s: {sorted(pending)}")
                if pending and now > report:
                    _say(f"waiting for {', '.join(sorted(pending))} ({now - started:.0f} s)")
                    report = now + 15
                time.sleep(0.2)

    def supervise(self) -> None:
        """Until asked to stop: restart a service that died, with a growing pause."""
        while not self.stopping.wait(0.5):
            for service in self.services:
                assert service.process is not None
                code = service.process.poll()
                if code is None:
                    continue
                service.restarts += 1
                pause = min(2.0**service.restarts, 30.0)
                _say(f"{service.name} exited with {code}; restarting in {pause:.0f}s")
                if self.stopping.wait(pause):
                    return
                self._spawn(service)

    def stop(self) -> None:
        self.stopping.set()
        _say("stopping ...")
        for service in self.services:
            if service.process is not None and service.process.poll() is None:
                service.process.terminate()
        for service in self.services:
            if service.process is not None:
                terminate(service.process, grace=15.0)
        if self.broker is not None:
            self.broker.stop()
        if self.postgres is not None:
            self.postgres.stop()
        _say("stopped")

    # ------------------------------------------------------------------ reporting

    def addresses(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "database_url": self.database_url,
            "kafka_bootstrap": self.kafka_bootstrap,
            "services": {s.name: s.url for s in self.services if s.name != MAIL_SINK[0]},
            "mail_sink": {
                "smtp": f"127.0.0.1:{self.smtp_port}",
                "http": next(s.url for s in self.services if s.name == MAIL_SINK[0]),
            },
        }


def render_log_line(line: str) -> str:
    """A service's JSON log line, condensed for people: time, level, event, key=value ..."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    stamp = str(record.pop("timestamp", ""))[11:19]
    level = str(record.pop("level", "")).upper()
    event = str(record.pop("event", ""))
    for noise in ("logger", "service"):
        record.pop(noise, None)
    extras = " ".join(f"{k}={v}" for k, v in record.items() if k != "exception")
    text = f"{stamp} {level:<7} {event} {extras}".rstrip()
    if "exception" in record:
        text += "\n" + str(record["exception"])
    return text


def address_table(addresses: dict[str, Any]) -> str:
    rows = [("what", "address", "")]
    services = addresses["services"]
    rows.append(("Web UI", services["gateway"] + "/", "the collections workspace"))
    for name, url in services.items():
        rows.append((f"{name} API", url + "/docs", f"metrics {url}/metrics, ready {url}/readyz"))
    rows.append(("PostgreSQL", addresses["database_url"].replace("+asyncpg", ""), ""))
    rows.append(("Kafka", addresses["kafka_bootstrap"], "Kafka protocol"))
    if "mail_sink" in addresses:
        sink = addresses["mail_sink"]
        rows.append(("SMTP sink", sink["smtp"], "what was sent: Web UI, Administration, Mail sink"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [
        " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def print_first_admin(state_dir: Path) -> None:
    """Show the credentials the gateway made on its first start, once (then delete them)."""
    path = state_dir / ADMIN_FILE
    try:
        credentials = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    path.unlink(missing_ok=True)
    print(
        f"First start: sign in to the Web UI as {credentials['login']} with the password "
        f"{credentials['password']}\n(shown this once; change it on the Agents page)\n",
        flush=True,
    )


def _read_state(state_dir: Path) -> dict[str, Any] | None:
    path = state_dir / STATE_FILE
    if not path.exists():
        return None
    try:
        state: dict[str, Any] = json.loads(path.read_text())
        os.kill(int(state["pid"]), 0)
    except (ValueError, KeyError, OSError):
        path.unlink(missing_ok=True)
        return None
    return state


def up(state_dir: Path, *, detach: bool, demo: bool = True) -> int:
    state_dir.mkdir(parents=True, exist_ok=True)
    running = _read_state(state_dir)
    if running is not None:
        print(f"arrears is already running (pid {running['pid']}):\n")
        print(address_table(running))
        return 1
    if detach:
        return _up_detached(state_dir, demo=demo)
    stack = Stack(state_dir, colors=sys.stdout.isatty())

    def on_signal(signum: int, _frame: Any) -> None:
        stack.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    state_path = state_dir / STATE_FILE
    try:
        stack.start()
        if demo:
            stack.load_demo_if_empty()
        addresses = stack.addresses()
        state_path.write_text(json.dumps(addresses, indent=2))
        print("\n" + address_table(addresses) + "\n", flush=True)
        if not os.environ.get(DETACHED_CHILD):
            print_first_admin(state_dir)
        _say("ready. Press Ctrl-C to stop.")
        stack.supervise()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        _say(f"start-up failed: {exc}")
        return 1
    finally:
        state_path.unlink(missing_ok=True)
        stack.stop()


def _up_detached(state_dir: Path, *, demo: bool) -> int:
    log_path = state_dir / "logs" / "stack.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "arrears.cli.main", "up", *(() if demo else ("--no-demo",))],
            env=dict(os.environ, **{DETACHED_CHILD: "1"}),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _say(f"starting in the background (pid {process.pid}); log: {log_path}")
    deadline = time.monotonic() + READY_TIMEOUT + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _say(f"the stack exited with {process.returncode}; see {log_path}")
            return 1
        state = _read_state(state_dir)
        if state is not None:
            print("\n" + address_table(state) + "\n")
            print_first_admin(state_dir)
            _say("running in the background; stop it with ./arrears down")
            return 0
        time.sleep(0.3)
    _say("the stack did not become ready in time; stopping it")
    process.terminate()
    return 1


def down(state_dir: Path) -> int:
    state = _read_state(state_dir)
    if state is None:
        _say("no stack is running")
        return 0
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            _say("stopped")
            return 0
        time.sleep(0.2)
    _say(f"pid {pid} did not stop in 60s")
    return 1
