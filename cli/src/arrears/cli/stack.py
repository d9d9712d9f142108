"""`arrears up` / `arrears down`: the whole system on one machine, no Docker.

Starts embedded PostgreSQL and the Kafka-protocol broker (unless ARREARS_DATABASE_URL /
ARREARS_KAFKA_BOOTSTRAP point elsewhere), creates the topics, runs the migrations, starts every
service as its own process with prefixed log lines, waits for every /readyz and prints the
addresses. Ctrl-C or SIGTERM stops everything it started.
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
from aiokafka.errors import KafkaError

from arrears.cli.control import ControlRequest, ask, control_requests
from arrears.cli.infra import LocalBroker, LocalPostgres, die_with_parent, pick_port, terminate
from arrears.cli.migrate import migrate_all
from arrears.shared.clock import clock_of, clock_offset, offset_text
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
MAX_REPLICAS = 12
"""At most one instance of a projection per partition (the topics have 12 by default): more
would sit idle in the consumer group."""
DEMO_CUSTOMERS = 40
DEMO_MONTHS = 12
COLORS = ("36", "35", "33", "32", "34", "31", "96", "95")
READY_TIMEOUT = float(os.environ.get("ARREARS_READY_TIMEOUT", "300"))
"""How long a starting service may show no progress (no output, no processor time used, no
change of its /readyz answer) before the stack gives up on it. The wait goes on as long as
services progress: a loaded machine starts slowly but visibly. A service that exits fails the
start at once."""
REPORT_EVERY_S = 15.0
STATE_FILE = "stack.json"
ADMIN_FILE = "initial-admin.json"
"""The gateway's first start leaves the admin credentials here; `up` prints and deletes them."""
DETACHED_CHILD = "ARREARS_UP_DETACHED"


def _say(message: str) -> None:
    print(f"arrears | {message}", flush=True)


def load_demo_if_empty(
    database_url: str, *, customers: int = DEMO_CUSTOMERS, months: int = DEMO_MONTHS
) -> str | None:
    """A modest demo history written through the ledger into an empty event store; what was
    loaded, or None when events were already there."""
    from arrears.cli.ledger_access import open_ledger
    from arrears.demo import generate
    from arrears.ledger.store import count_events

    async def load() -> str | None:
        async with open_ledger(database_url) as ledger:
            if await count_events(ledger.engine) > 0:
                return None
            summary = await generate(
                ledger,
                customers=customers,
                months=months,
                seed=1,
                today=clock_of(os.environ.get("ARREARS_CLOCK")).today(),
            )
            return f"{summary.customers} customers, {summary.events} events"

    return asyncio.run(load())


def install_demo_access(database_url: str, aging_url: str) -> list[str]:
    """The demo agents' pools (through the aging service at `aging_url`) and accounts (in the
    gateway's schema), password DEMO_PASSWORD; returns their logins. This process's settings
    decide whether that is allowed (never in production)."""
    from arrears.gateway.demo import install_demo_access as install_access
    from arrears.shared.db import create_engine

    async def install() -> list[str]:
        engine = create_engine(database_url, "gateway", pool_size=1)
        try:
            async with httpx.AsyncClient(base_url=aging_url, timeout=30) as aging:
                return await install_access(
                    engine,
                    aging,
                    company="usmf",
                    now=clock_of(os.environ.get("ARREARS_CLOCK")).now(),
                    environment=ServiceSettings().environment,
                )
        finally:
            await engine.dispose()

    return asyncio.run(install())


@dataclass
class ServiceProcess:
    name: str
    """The instance's name: the service's, and `aging-2`, `aging-3` ... for more instances."""
    port: int
    color: str
    service: str = ""
    """The service it runs (its name when empty)."""
    process: subprocess.Popen[bytes] | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    restarts: int = 0
    held: bool = False
    """Stopped on request (`arrears stop SERVICE`): not restarted until started again."""
    output_lines: int = 0
    """Lines the current process wrote: a starting service that writes is progressing."""

    def __post_init__(self) -> None:
        self.service = self.service or self.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answers_to(self, name: str) -> bool:
        """Whether a request naming `name` is meant for this instance: its own name, or its
        service's (every instance of it)."""
        return name in (self.name, self.service)


def parse_replicas(text: str | None) -> dict[str, int]:
    """`aging=3,timeline=2` as {service: instances}; services not named run once. Raises
    ValueError naming what is wrong."""
    known = [name for name, _ in SERVICES]
    replicas: dict[str, int] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, equals, count = part.strip().partition("=")
        if name not in known:
            raise ValueError(f"--replicas: unknown service {name!r}; one of {', '.join(known)}")
        if not equals or not count.isdigit() or not 1 <= int(count) <= MAX_REPLICAS:
            raise ValueError(
                f"--replicas: {part.strip()!r}: give SERVICE=N with N from 1 to {MAX_REPLICAS}"
            )
        replicas[name] = int(count)
    return replicas


class Stack:
    def __init__(
        self,
        state_dir: Path,
        *,
        colors: bool,
        usual_ports: bool = True,
        replicas: dict[str, int] | None = None,
    ) -> None:
        """`usual_ports=False`: PostgreSQL, the broker, the mail sink and every service on a
        free port from the kernel, never the usual ones (stacks beside each other: a
        benchmark's, the tests'; none takes a port another's restarting process needs).
        `replicas`: how many instances of a service to run (one when not named); instances
        of a service share its schema, its consumer groups (Kafka splits the partitions
        among them) and its sessions, and elect among themselves what must run once."""
        self.state_dir = state_dir
        self.replicas = replicas or {}
        self.colors = colors
        self.usual_ports = usual_ports
        self.postgres: LocalPostgres | None = None
        self.broker: LocalBroker | None = None
        self.database_url = ""
        self.kafka_bootstrap = ""
        self.services: list[ServiceProcess] = []
        self.smtp_port = 0
        self.stopping = threading.Event()
        self.broker_restarts = 0
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
            self.postgres = LocalPostgres(
                self.state_dir / "pgdata", preferred_port=54320 if self.usual_ports else None
            )
            self.database_url = self.postgres.start()
            reuse = "" if self.postgres.started_here else " (already running, reused)"
            _say(f"PostgreSQL ready on 127.0.0.1:{self.postgres.port}{reuse}")
        external_kafka = os.environ.get("ARREARS_KAFKA_BOOTSTRAP")
        if external_kafka:
            self.kafka_bootstrap = external_kafka
            _say(f"using Kafka at {external_kafka}")
        else:
            _say("starting the Kafka-protocol broker (in memory) ...")
            self.broker = LocalBroker(
                preferred_port=9092 if self.usual_ports else None, log_file=logs / "broker.log"
            )
            self.kafka_bootstrap = self.broker.start()
            _say(f"broker ready on {self.kafka_bootstrap}")
        self._ensure_topics()
        asyncio.run(migrate_all(self.database_url, report=_say))
        self.smtp_port = pick_port(SMTP_PORT if self.usual_ports else None)
        for index, (name, preferred) in enumerate((MAIL_SINK, *SERVICES)):
            for instance in range(1, self.replicas.get(name, 1) + 1):
                usual = self.usual_ports and instance == 1
                self.services.append(
                    ServiceProcess(
                        name if instance == 1 else f"{name}-{instance}",
                        pick_port(preferred if usual else None),
                        COLORS[index % len(COLORS)],
                        service=name,
                    )
                )
        compile_sources()
        for service in self.services:
            self._spawn(service)
        self._wait_ready()

    def _ensure_topics(self) -> None:
        settings = ServiceSettings(
            database_url=self.database_url, kafka_bootstrap=self.kafka_bootstrap
        )
        created = asyncio.run(
            ensure_topics(
                self.kafka_bootstrap, topic_names(settings), partitions=settings.topic_partitions
            )
        )
        _say(f"topics ready ({len(created)} created, {settings.topic_partitions} partitions each)")

    def load_demo_if_empty(self) -> None:
        """First start: write a modest demo history through the ledger so the UI has data."""
        _say("first start: loading demo data (./arrears up --no-demo skips this) ...")
        loaded = load_demo_if_empty(self.database_url)
        _say(f"demo data loaded: {loaded}" if loaded else "data present, no demo loaded")
        if loaded:
            self.install_demo_access()

    def install_demo_access(self) -> None:
        """The demo agents' pools (aging) and accounts (gateway), password DEMO_PASSWORD."""
        from arrears.gateway.demo import DEMO_PASSWORD

        aging_url = next(s.url for s in self.services if s.name == "aging")
        logins = install_demo_access(self.database_url, aging_url)
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
        env.update(
            {f"ARREARS_{s.name.upper()}_URL": s.url for s in self.services if s.name == s.service}
        )
        sink = next(s for s in self.services if s.name == MAIL_SINK[0])
        env.update(ARREARS_MAIL_SINK_URL=sink.url, ARREARS_SINK_SMTP_PORT=str(self.smtp_port))
        env.setdefault("ARREARS_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")  # receivers on this host
        if "ARREARS_SMTP_HOST" not in os.environ:  # else: the SMTP server the user named
            env.update(ARREARS_SMTP_HOST="127.0.0.1", ARREARS_SMTP_PORT=str(self.smtp_port))
        module = MODULES.get(service.service, f"arrears.{service.service}")
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
            service.output_lines += 1
            prefix = f"{service.name:<9}|"
            if self.colors:
                prefix = f"\x1b[{service.color}m{prefix}\x1b[0m"
            with self._print_lock:
                print(f"{prefix} {line}", flush=True)

    def _wait_ready(self, services: list[ServiceProcess] | None = None) -> None:
        """Until every service (or those given) answers /readyz with 200. A service that
        exits fails the start; one that shows no progress for READY_TIMEOUT seconds too; while
        they progress, the wait goes on, reported per service every REPORT_EVERY_S seconds."""
        started = time.monotonic()
        report = started + REPORT_EVERY_S
        waiting = self.services if services is None else services
        waits = {s.name: StartWatch(started) for s in waiting}
        with httpx.Client(timeout=2.0) as client:
            while waits:
                if self.stopping.is_set():
                    raise KeyboardInterrupt
                now = time.monotonic()
                for service in waiting:
                    watch = waits.get(service.name)
                    if watch is None:
                        continue
                    assert service.process is not None
                    if service.process.poll() is not None:
                        tail = "\n".join(service.tail)
                        raise RuntimeError(f"{service.name} exited during start-up:\n{tail}")
                    answer = _readiness(client, service.url)
                    if answer == "ready":
                        del waits[service.name]
                        _say(f"{service.name} ready at {service.url} ({now - started:.0f} s)")
                        continue
                    cpu = cpu_seconds(service.process.pid)
                    watch.observe(answer, service.output_lines, cpu, now)
                    if now - watch.progressed > READY_TIMEOUT:
                        raise TimeoutError(
                            f"{service.name} showed no progress for {READY_TIMEOUT:.0f} s "
                            f"(ARREARS_READY_TIMEOUT); it answers {answer}"
                        )
                if waits and now > report:
                    for name, watch in sorted(waits.items()):
                        _say(f"waiting for {name} ({now - started:.0f} s): {watch.describe(now)}")
                    report = now + REPORT_EVERY_S
                time.sleep(0.2)

    def supervise(self) -> None:
        """Until asked to stop: restart the broker or a service that died, each with a growing
        pause, and carry out what `arrears stop|start|restart SERVICE` asks."""
        while not self.stopping.wait(0.5):
            if self.broker is not None and self.broker.exit_code is not None:
                self.broker_restarts += 1
                if not self._pause_before_restart(
                    "the broker", self.broker.exit_code, self.broker_restarts
                ):
                    return
                try:
                    self.broker.restart()  # same port, empty: the publishers fill it again
                    _say(f"broker restarted on {self.kafka_bootstrap}")
                    self._ensure_topics()
                except (OSError, TimeoutError, KafkaError) as exc:  # tried again next round
                    _say(f"the broker did not come back: {exc}")
            for service in self.services:
                assert service.process is not None
                code = service.process.poll()
                if code is None or service.held:
                    continue
                service.restarts += 1
                if not self._pause_before_restart(service.name, code, service.restarts):
                    return
                self._spawn(service)
            for request in control_requests(self.state_dir):
                self._carry_out(request)

    def _pause_before_restart(self, what: str, code: int, restarts: int) -> bool:
        """Wait before restarting what exited (2, 4, 8 ... up to 30 s); False when stopping."""
        pause = min(2.0**restarts, 30.0)
        _say(f"{what} exited with {code}; restarting in {pause:.0f}s")
        return not self.stopping.wait(pause)

    def _carry_out(self, request: ControlRequest) -> None:
        """Stop, start or restart an instance, or every instance of a service: a restart
        takes the instances one after another (each ready before the next stops), so a
        service with several keeps serving and consuming throughout."""
        instances = [
            s for s in self.services if s.answers_to(request.service) and s.process is not None
        ]
        if not instances:
            request.answer(False, f"no service {request.service} in this stack")
            return
        try:
            if request.action == "restart":
                for instance in instances:
                    self._stop_instance(instance, request.action)
                    self._start_instance(instance, request.action)
            elif request.action == "stop":
                for instance in instances:
                    self._stop_instance(instance, request.action)
            else:
                started = [s for s in instances if self._start_instance(s, "start", wait=False)]
                self._wait_ready(started)
            request.answer(True, f"{request.service} {request.action} done")
        except (RuntimeError, TimeoutError) as exc:
            for instance in instances:
                instance.held = False  # the supervisor restarts it as any other failure
            request.answer(False, str(exc))

    def _stop_instance(self, instance: ServiceProcess, action: str) -> None:
        assert instance.process is not None
        instance.held = True
        _say(f"{action}: stopping {instance.name}")
        terminate(instance.process, grace=15.0)

    def _start_instance(self, instance: ServiceProcess, action: str, *, wait: bool = True) -> bool:
        """Start a stopped instance (waited for unless `wait` is False); False when it runs."""
        assert instance.process is not None
        if instance.process.poll() is None:
            return False
        instance.held = False
        _say(f"{action}: starting {instance.name}")
        self._spawn(instance)
        if wait:
            self._wait_ready([instance])
        return True

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
            "services": {s.name: s.url for s in self.services if s.service != MAIL_SINK[0]},
            "mail_sink": {
                "smtp": f"127.0.0.1:{self.smtp_port}",
                "http": next(s.url for s in self.services if s.name == MAIL_SINK[0]),
            },
        }


def compile_sources() -> None:
    """Bring the bytecode of the project's own modules up to date (the installer compiled the
    dependencies'), once, so that no service compiles them at its start, nor every start
    again when PYTHONDONTWRITEBYTECODE is set."""
    import arrears

    for path in arrears.__path__:
        compileall.compile_dir(path, quiet=1)


@dataclass
class StartWatch:
    """What a starting service showed last: its /readyz answer and how much it wrote."""

    progressed: float
    answer: str = "nothing yet"
    lines: int = 0
    cpu_s: float = 0.0
    """Processor time the process used: importing and migrating are silent but busy."""

    def observe(self, answer: str, lines: int, cpu_s: float, now: float) -> None:
        if answer != self.answer or lines != self.lines or cpu_s > self.cpu_s:
            self.answer, self.lines, self.cpu_s, self.progressed = answer, lines, cpu_s, now

    def describe(self, now: float) -> str:
        quiet = now - self.progressed
        return (
            f"{self.answer}; {self.lines} log lines, {self.cpu_s:.1f} s of CPU, "
            f"last progress {quiet:.0f} s ago"
        )


def cpu_seconds(pid: int) -> float:
    """Processor time (user and system) a process used so far; 0 where /proc cannot say."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _readiness(client: httpx.Client, url: str) -> str:
    """'ready', or in a few words what a starting service's /readyz says."""
    try:
        response = client.get(f"{url}/readyz")
    except httpx.HTTPError:
        return "no answer yet"
    if response.status_code == 200:
        return "ready"
    try:
        checks = response.json().get("checks", {})
    except ValueError:
        return f"HTTP {response.status_code}"
    failing = [f"{k} {str(v).split(':')[0]}" for k, v in sorted(checks.items()) if v != "ok"]
    return ", ".join(failing) or f"HTTP {response.status_code}"


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


def pin_clock(setting: str | None) -> str | None:
    """Resolve a clock setting (`--clock`, else ARREARS_CLOCK) once into the offset it means
    now, and export it for every process the stack starts: a date stays the same date for a
    service restarted tomorrow only as an offset ("-275d"), not as the date itself."""
    setting = setting or os.environ.get("ARREARS_CLOCK")
    if not setting:
        return None
    pinned = offset_text(clock_offset(setting, datetime.now(UTC)))
    os.environ["ARREARS_CLOCK"] = pinned
    return pinned


def up(
    state_dir: Path,
    *,
    detach: bool,
    demo: bool = True,
    clock: str | None = None,
    replicas: dict[str, int] | None = None,
    usual_ports: bool = True,
) -> int:
    state_dir.mkdir(parents=True, exist_ok=True)
    running = _read_state(state_dir)
    if running is not None:
        print(f"arrears is already running (pid {running['pid']}):\n")
        print(address_table(running))
        return 1
    pinned = pin_clock(clock)
    if pinned is not None and not os.environ.get(DETACHED_CHILD):
        _say(f"clock moved {pinned}: today is {clock_of(pinned).today()} for every service")
    if detach:
        return _up_detached(state_dir, demo=demo, replicas=replicas or {}, usual_ports=usual_ports)
    stack = Stack(state_dir, colors=sys.stdout.isatty(), replicas=replicas, usual_ports=usual_ports)

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


def _up_detached(
    state_dir: Path, *, demo: bool, replicas: dict[str, int], usual_ports: bool
) -> int:
    log_path = state_dir / "logs" / "stack.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    arguments = [] if demo else ["--no-demo"]
    if not usual_ports:
        arguments.append("--any-ports")
    if replicas:
        arguments += ["--replicas", ",".join(f"{name}={n}" for name, n in replicas.items())]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "arrears.cli.main", "up", *arguments],
            env=dict(os.environ, **{DETACHED_CHILD: "1"}),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _say(f"starting in the background (pid {process.pid}); log: {log_path}")
    # The stack gives up by itself when a service stops progressing: wait for it, showing its
    # own progress lines from the log.
    with open(log_path, "rb") as log_reader:
        log_reader.seek(0, os.SEEK_END)
        while True:
            for raw in log_reader.readlines():
                line = raw.decode(errors="replace").rstrip()
                if line.startswith("arrears | "):
                    print(line, flush=True)
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


def service_command(state_dir: Path, action: str, service: str) -> int:
    """`arrears stop|start|restart SERVICE` on the stack running from `state_dir`."""
    state = _read_state(state_dir)
    if state is None:
        _say("no stack is running (start one with ./arrears up)")
        return 1
    names = {name for name, _ in SERVICES} | {MAIL_SINK[0]} | set(state.get("services", ()))
    if service not in names:
        _say(f"unknown service {service}; one of {', '.join(sorted(names))}")
        return 2
    _say(f"{action} {service} ...")
    ok, message = ask(state_dir, action, service, int(state["pid"]))
    _say(message)
    return 0 if ok else 1


class ServicePaused(Exception):
    """The running stack could not stop the service to be rebuilt."""


@contextlib.contextmanager
def paused(state_dir: Path, service: str) -> Iterator[bool]:
    """While the body runs, `service` of the stack running from `state_dir` is stopped (its
    supervisor does not restart it); afterwards it is started again and waited for. Yields
    whether a stack was running. When the body fails the service stays stopped, and says so:
    a half-rebuilt read model must not be served or consumed into."""
    state = _read_state(state_dir)
    if state is None:
        yield False
        return
    pid = int(state["pid"])
    _say(f"the stack is running: stopping {service} while its read model is rebuilt ...")
    ok, message = ask(state_dir, "stop", service, pid)
    if not ok:
        raise ServicePaused(f"could not stop {service}: {message}")
    try:
        yield True
    except BaseException:
        _say(f"{service} stays stopped; start it with ./arrears start {service} when it is fixed")
        raise
    _say(f"starting {service} again ...")
    ok, message = ask(state_dir, "start", service, pid)
    _say(message)
    if not ok:
        raise ServicePaused(f"could not start {service} again: {message}")


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
