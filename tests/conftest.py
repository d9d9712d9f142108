"""Session fixtures: one real PostgreSQL server and one real Kafka-protocol broker per run.

Set ARREARS_DATABASE_URL / ARREARS_KAFKA_BOOTSTRAP to run against servers of your own.
Every test gets its own schema and topic prefix, so tests never see each other's data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from arrears.shared.ids import uuid7
from arrears.shared.settings import ServiceSettings, asyncpg_url
from tests.support import ProbeSettings

if TYPE_CHECKING:
    from arrears.cli.infra import LocalBroker, LocalPostgres


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("ARREARS_DATABASE_URL")
    if external:
        yield asyncpg_url(external)
        return
    from arrears.cli.infra import LocalPostgres

    server = LocalPostgres(
        tmp_path_factory.mktemp("pg") / "data", preferred_port=None, durable=False
    )
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("ARREARS_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    from arrears.cli.infra import LocalBroker

    broker = LocalBroker(
        preferred_port=None, log_file=tmp_path_factory.mktemp("broker") / "broker.log"
    )
    bootstrap = broker.start()
    try:
        yield bootstrap
    finally:
        broker.stop()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A broker of the test's own, which it may restart (losing every message) or stop."""
    from arrears.cli.infra import LocalBroker

    broker = LocalBroker(preferred_port=None, log_file=tmp_path / "broker.log")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[LocalPostgres]:
    """A PostgreSQL server of the test's own, which it may stop and start (same port)."""
    from arrears.cli.infra import LocalPostgres

    server = LocalPostgres(tmp_path / "pg", preferred_port=None, durable=True)
    server.start()
    yield server
    server.stop()


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}{uuid7().hex[-12:]}"


@pytest.fixture
def settings(postgres_url: str, kafka_bootstrap: str) -> ServiceSettings:
    """Settings isolated for one test: own schema, topic prefix and consumer groups."""
    name = unique_name()
    return ProbeSettings(
        database_url=postgres_url,
        kafka_bootstrap=kafka_bootstrap,
        db_schema=name,
        topic_prefix=f"{name}.",
        group_prefix=name,
        topic_partitions=3,
        consumer_max_records=100,
        consumer_session_timeout_ms=3000,
        consumer_rebalance_timeout_ms=1000,
        consumer_heartbeat_interval_ms=300,
        log_format="console",
    )


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
