"""Pure pieces of the shared plumbing."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest

from arrears.aging.settings import AgingSettings
from arrears.cli.progress import plain_line
from arrears.cli.stack import StartWatch, address_table, render_log_line
from arrears.shared.ids import stream_key, uuid7
from arrears.shared.money import CurrencyMismatchError, Money
from arrears.shared.settings import ServiceSettings, asyncpg_url
from arrears.shared.topics import ALL_TOPICS, INVOICES, topic_named

pytestmark = pytest.mark.unit


def test_uuid7_is_version_7_and_time_ordered() -> None:
    ids = [uuid7(unix_ms=1_700_000_000_000 + i) for i in range(50)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids)
    assert len({uuid7() for _ in range(1000)}) == 1000


def test_money_is_exact_and_refuses_mixed_currencies() -> None:
    total = Money.of("0.10", "EUR") + Money.of("0.20", "EUR")
    assert total.amount == Decimal("0.30")
    assert str(Money.of("1234.5", "USD")) == "USD 1,234.50"
    with pytest.raises(CurrencyMismatchError):
        _ = Money.of("1", "EUR") + Money.of("1", "USD")
    with pytest.raises(ValueError):
        Money.of("1", "eur")
    assert json.loads(Money.of("1234.50", "EUR").model_dump_json())["amount"] == "1234.50"


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARREARS_DATABASE_URL", "postgresql://u@db:5432/x")
    monkeypatch.setenv("ARREARS_TOPIC_PREFIX", "staging.")
    monkeypatch.setenv("ARREARS_HTTP_PORT", "9999")
    settings = AgingSettings()
    assert settings.database_url == "postgresql+asyncpg://u@db:5432/x"
    assert settings.topic_name(INVOICES) == "staging.arrears.invoices.v1"
    assert settings.dlq_name(INVOICES) == "staging.arrears.invoices.v1.dlq"
    assert settings.schema_name == "aging"
    assert settings.http_port == 9999
    with pytest.raises(ValueError):
        asyncpg_url("mysql://x")


def test_topic_registry() -> None:
    assert len({t.name for t in ALL_TOPICS}) == 8
    assert topic_named("arrears.payments.v1").producer == "ledger"
    assert stream_key("usmf", "US-001") == "usmf/US-001"


def test_log_lines_are_condensed_for_people() -> None:
    line = json.dumps(
        {
            "timestamp": "2026-11-22T10:11:12.5Z",
            "level": "warning",
            "event": "dead-lettered a message",
            "service": "aging",
            "logger": "x",
            "topic": "arrears.invoices.v1",
        }
    )
    assert render_log_line(line) == (
        "10:11:12 WARNING dead-lettered a message topic=arrears.invoices.v1"
    )
    assert render_log_line("plain text") == "plain text"


def test_address_table_lists_ui_services_and_infrastructure() -> None:
    table = address_table(
        {
            "database_url": "postgresql+asyncpg://postgres@127.0.0.1:5/arrears",
            "kafka_bootstrap": "127.0.0.1:9092",
            "services": {"gateway": "http://127.0.0.1:8000", "ledger": "http://127.0.0.1:8001"},
        }
    )
    assert "http://127.0.0.1:8000/" in table and "ledger API" in table
    assert "postgresql://postgres@127.0.0.1:5/arrears" in table


def test_production_refuses_the_local_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARREARS_ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="ARREARS_DATABASE_URL must be set in production"):
        AgingSettings()
    monkeypatch.setenv("ARREARS_DATABASE_URL", "postgresql://arrears@db/arrears")
    monkeypatch.setenv("ARREARS_KAFKA_BOOTSTRAP", "kafka-0:9092,kafka-1:9092")
    assert AgingSettings().kafka_bootstrap == "kafka-0:9092,kafka-1:9092"


def test_the_service_name_is_not_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARREARS_SERVICE", "ledger")
    assert AgingSettings().service == "aging"
    assert ServiceSettings().service == "arrears"


def test_progress_lines_say_the_rate_and_what_is_left() -> None:
    assert plain_line(1200, 5000, 3.0, "events") == "1,200/5,000 events, 400/s, 10 s left"
    assert plain_line(100, 100_000, 1.0, "rows") == "100/100,000 rows, 100/s, 16 min 39 s left"
    assert plain_line(5, None, 1.0, "rows") == "5 rows, 5/s"  # a streamed file: no total
    assert plain_line(5000, 5000, 2.0, "events") == "5,000/5,000 events, 2,500/s"


def test_database_outages_answer_503_with_retry_after_and_other_errors_stay_errors() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from sqlalchemy import exc as sa_exc

    from arrears.shared.errors import install_problem_handlers

    app = FastAPI()
    install_problem_handlers(app)
    failures: dict[str, Exception] = {
        "pool": sa_exc.TimeoutError("QueuePool limit of size 5 overflow 5 reached"),
        "down": sa_exc.OperationalError("SELECT 1", {}, ConnectionRefusedError()),
        "refused": ConnectionRefusedError(111, "Connection refused"),
        "starting": sa_exc.DBAPIError("SELECT 1", {}, Restarting("57P03")),
        "shutdown": sa_exc.DBAPIError("SELECT 1", {}, Restarting("57P01")),
        "bug": ValueError("not an outage"),
        "constraint": sa_exc.DBAPIError("INSERT", {}, Restarting("23505")),
    }

    @app.get("/{kind}")
    async def fail(kind: str) -> None:
        raise failures[kind]

    client = TestClient(app, raise_server_exceptions=False)
    for kind, code in (
        ("pool", "busy"),
        ("down", "database_unavailable"),
        ("refused", "database_unavailable"),
        ("starting", "database_unavailable"),
        ("shutdown", "database_unavailable"),
    ):
        answer = client.get(f"/{kind}")
        assert answer.status_code == 503, kind
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "2" and answer.json()["code"] == code
    assert client.get("/bug").status_code == 500
    assert client.get("/constraint").status_code == 500


class Restarting(Exception):
    """A driver error with its SQLSTATE, as PostgreSQL sends during a restart (57P01 shutting
    down, 57P03 starting up) or for other errors (23505 a unique violation)."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def test_a_starting_service_progresses_while_it_works_writes_or_its_readiness_changes() -> None:
    watch = StartWatch(progressed=0.0)
    watch.observe("no answer yet", 0, 0.0, now=1.0)
    assert watch.progressed == 1.0  # its first answer
    watch.observe("no answer yet", 0, 0.0, now=50.0)
    assert watch.progressed == 1.0  # idle, silent and unchanged: no progress
    watch.observe("no answer yet", 0, 2.5, now=55.0)
    assert watch.progressed == 55.0  # it worked (importing)
    watch.observe("no answer yet", 3, 2.5, now=60.0)
    assert watch.progressed == 60.0  # it wrote
    watch.observe("migrations failing", 3, 2.5, now=70.0)
    assert watch.progressed == 70.0  # its readiness moved on
    assert watch.describe(now=85.0) == (
        "migrations failing; 3 log lines, 2.5 s of CPU, last progress 15 s ago"
    )


def test_the_processor_time_of_a_process_is_read_from_proc() -> None:
    import os

    from arrears.cli.stack import cpu_seconds

    assert cpu_seconds(os.getpid()) > 0
    assert cpu_seconds(2**22 + 12345) == 0.0  # no such process


def test_repeated_kafka_client_warnings_are_shown_once_in_a_while_and_all_counted() -> None:
    import logging

    from arrears.shared.logging import RepeatLimiter
    from arrears.shared.metrics import CLIENT_WARNINGS

    now = [0.0]
    limiter = RepeatLimiter(every=30.0, clock=lambda: now[0])
    name = "aiokafka.consumer.fetcher"

    def record(msg: str, level: int = logging.WARNING, logger: str = name) -> logging.LogRecord:
        return logging.LogRecord(logger, level, __file__, 1, msg, None, None)

    counted = CLIENT_WARNINGS.labels(name)._value.get()
    first = record("Topic %s is not available")
    assert limiter.filter(first)
    now[0] = 1.0
    assert not any(limiter.filter(record("Topic %s is not available")) for _ in range(50))
    assert limiter.filter(record("another kind of warning"))
    assert limiter.filter(record("Topic %s is not available", logging.INFO))  # not a warning
    assert limiter.filter(record("Topic %s is not available", logger="arrears.aging"))
    now[0] = 31.0
    later = record("Topic %s is not available")
    assert limiter.filter(later)
    assert later.msg == "Topic %s is not available (and 50 more like it in the last 30 s)"
    assert CLIENT_WARNINGS.labels(name)._value.get() - counted == 53


def test_replicas_are_read_from_service_equals_count_and_refused_when_unclear() -> None:
    from arrears.cli.stack import MAX_REPLICAS, parse_replicas

    assert parse_replicas("aging=3,timeline=2") == {"aging": 3, "timeline": 2}
    assert parse_replicas(None) == {} and parse_replicas(" ") == {}
    for wrong in ("aging", "aging=0", f"aging={MAX_REPLICAS + 1}", "aging=x", "nothing=2"):
        with pytest.raises(ValueError, match="--replicas"):
            parse_replicas(wrong)
