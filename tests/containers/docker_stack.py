"""The whole system as containers on a Docker engine: every service image from
`arrears images build`, run with host networking on loopback addresses only, production
settings, a read-only root filesystem, against PostgreSQL and the broker started here."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from arrears.cli.images import SERVICE_NAMES, Docker, find_docker, image_name
from arrears.cli.infra import pick_port
from arrears.shared.ids import uuid7

REQUIRE_DOCKER = "ARREARS_REQUIRE_DOCKER"
"""Set (by .ci/run, which installs and starts the engine): no engine is a failure, not a skip."""
STOP_GRACE_S = 10
HOST = "127.0.0.1"


def docker_or_skip() -> Docker:
    docker, why = find_docker()
    if docker is None:
        if os.environ.get(REQUIRE_DOCKER):
            pytest.fail(f"{REQUIRE_DOCKER} is set but no Docker engine is usable: {why}")
        pytest.skip(f"no Docker engine to run the containers: {why}")
    return docker


@dataclass
class Containers:
    """Service containers of one test run, named and labelled by its run id."""

    docker: Docker
    database_url: str
    kafka_bootstrap: str
    run_id: str = field(default_factory=lambda: uuid7().hex[-10:])
    ports: dict[str, int] = field(default_factory=dict)
    gateway_metrics_port: int = field(default_factory=lambda: pick_port(None))
    """The gateway's HTTP port is public: production serves its metrics on a port of their own."""

    def __post_init__(self) -> None:
        while len(set(self.ports.values())) < len(SERVICE_NAMES):
            self.ports = {service: pick_port(None) for service in SERVICE_NAMES}

    def name(self, service: str) -> str:
        return f"arrears-{self.run_id}-{service}"

    def url(self, service: str) -> str:
        return f"http://{HOST}:{self.ports[service]}"

    def environment(self, service: str) -> dict[str, str]:
        """Production settings: what a deployment sets (docker-compose.yml, deploy/k8s)."""
        env = {
            "ARREARS_ENVIRONMENT": "production",
            "ARREARS_DATABASE_URL": self.database_url,
            "ARREARS_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "ARREARS_HTTP_HOST": HOST,
            "ARREARS_LOG_FORMAT": "json",
            "ARREARS_MIGRATE_ON_START": "false",
        }
        env["ARREARS_HTTP_PORT"] = str(self.ports[service])
        if service == "gateway":
            env["ARREARS_METRICS_PORT"] = str(self.gateway_metrics_port)
        fields = importlib.import_module(f"arrears.{service}.app").SPEC.settings.model_fields
        env.update(
            {f"ARREARS_{s.upper()}_URL": self.url(s) for s in SERVICE_NAMES if f"{s}_url" in fields}
        )
        return env

    def _run_args(self, service: str, env: Mapping[str, str]) -> list[str]:
        return [
            "--network",
            "host",
            "--read-only",
            "--tmpfs",
            "/tmp:size=64m",  # the container's own, e.g. for uploads
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--label",
            f"arrears.run={self.run_id}",
            *(arg for key, value in env.items() for arg in ("--env", f"{key}={value}")),
            image_name(service),
        ]

    def one_shot(self, service: str, *command: str) -> str:
        """Run the service's image once (a migration job, the topics job) and return its output."""
        args = self._run_args(service, self.environment(service))
        done = self.docker.run("run", "--rm", *args, *command, check=False)
        assert done.returncode == 0, f"{service} {command}: {done.stdout}{done.stderr}"
        return done.stdout + done.stderr

    def start(self, service: str) -> None:
        self.docker.run(
            "run",
            "--detach",
            "--name",
            self.name(service),
            "--stop-timeout",
            str(STOP_GRACE_S),
            *self._run_args(service, self.environment(service)),
        )

    def inspect(self, service: str) -> dict[str, object]:
        out = self.docker.run("inspect", self.name(service)).stdout
        state: dict[str, object] = json.loads(out)[0]["State"]
        return state

    def logs(self, service: str) -> str:
        done = self.docker.run("logs", self.name(service), check=False)
        return done.stdout + done.stderr

    def stop(self, service: str) -> float:
        """`docker stop` (SIGTERM, SIGKILL after the grace period); seconds it took."""
        started = time.monotonic()
        self.docker.run("stop", "--time", str(STOP_GRACE_S), self.name(service), timeout=120)
        return time.monotonic() - started

    def remove_all(self) -> None:
        ids = self.docker.run(
            "ps", "--all", "--quiet", "--filter", f"label=arrears.run={self.run_id}", check=False
        ).stdout.split()
        if ids:
            self.docker.run("rm", "--force", "--volumes", *ids, check=False)


@contextmanager
def service_containers(
    docker: Docker, database_url: str, kafka_bootstrap: str
) -> Iterator[Containers]:
    containers = Containers(docker, database_url, kafka_bootstrap)
    try:
        yield containers
    finally:
        containers.remove_all()


async def consumer_lag(bootstrap: str) -> dict[str, int]:
    """Per consumer group: the records on its topics past its committed offsets (a topic is
    the group's when it committed an offset on one of its partitions). Counted by reading
    them: the local broker's end offsets (ListOffsets) can lag behind the last record batch."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        groups = [group for group, *_ in await admin.list_consumer_groups()]
    finally:
        await admin.close()
    return {group: await _records_past_commit(bootstrap, group) for group in groups}


async def _records_past_commit(bootstrap: str, group: str) -> int:
    member = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await member.start()
    try:
        committed = {
            tp: await member.committed(tp)
            for topic in sorted(await member.topics())
            for tp in (TopicPartition(topic, p) for p in member.partitions_for_topic(topic) or ())
        }
    finally:
        await member.stop()
    theirs = {tp.topic for tp, offset in committed.items() if offset is not None}
    partitions = [tp for tp in committed if tp.topic in theirs]
    if not partitions:
        return 0
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        reader.assign(partitions)
        for tp in partitions:
            reader.seek(tp, committed[tp] or 0)
        past = 0
        while fetched := await reader.getmany(timeout_ms=1000):
            past += sum(len(records) for records in fetched.values())
        return past
    finally:
        await reader.stop()


def lag_now(bootstrap: str) -> dict[str, int]:
    return asyncio.run(consumer_lag(bootstrap))


def caught_up(bootstrap: str, *, timeout: float) -> dict[str, int]:
    """Waits until no consumer group has records left past its committed offsets."""
    deadline = time.monotonic() + timeout
    lag = lag_now(bootstrap)
    while not lag or any(lag.values()):
        if time.monotonic() > deadline:
            raise AssertionError(f"consumer groups still behind after {timeout}s: {lag}")
        time.sleep(2)
        lag = lag_now(bootstrap)
    return lag


def cookie_header(jar: dict[str, str]) -> dict[str, str]:
    """The Cookie header a browser sends over HTTPS (production cookies are Secure, and the
    test talks plain HTTP to the gateway, as a TLS-terminating proxy would)."""
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}


def keep_cookies(jar: dict[str, str], set_cookies: list[str]) -> None:
    for header in set_cookies:
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]


def run_cli(*args: str, env: Mapping[str, str]) -> str:
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "arrears.cli.main", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
