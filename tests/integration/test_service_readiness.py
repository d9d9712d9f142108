"""A service's /readyz tells the truth about its schema; `arrears migrate` brings it current."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from arrears.aging.app import SPEC
from arrears.aging.settings import AgingSettings
from arrears.shared.migrations import head_revision
from arrears.shared.settings import ServiceSettings

pytestmark = pytest.mark.integration


def aging_settings(base: ServiceSettings, **overrides: object) -> AgingSettings:
    values = base.model_dump() | overrides
    return AgingSettings(**values)


def test_readyz_reports_a_schema_behind_the_code_then_ready_after_migrate(
    settings: ServiceSettings,
) -> None:
    aging = aging_settings(settings, migrate_on_start=False)
    with TestClient(SPEC.create_app(aging)) as client:
        assert client.get("/healthz").json() == {"status": "ok", "service": "aging"}
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.headers["content-type"] == "application/problem+json"
        body = not_ready.json()
        assert body["code"] == "not_ready" and body["checks"]["migrations"] == "failing"
        assert body["checks"]["database"] == "ok" and body["checks"]["broker"] == "ok"

        env = dict(os.environ, ARREARS_DATABASE_URL=settings.database_url)
        # `arrears migrate` targets the service's own schema; point the app at that one.
        done = subprocess.run(
            [sys.executable, "-m", "arrears.cli.main", "migrate", "aging"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"schema aging at revision {head_revision(SPEC.migrations)}" in done.stdout

    with TestClient(SPEC.create_app(aging_settings(settings, db_schema="aging"))) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}
        assert "arrears_http_request_duration_seconds" in client.get("/metrics").text
        missing = client.get("/no-such-route")
        assert missing.status_code == 404
        assert missing.json()["code"] == "not_found"


def test_migrate_rejects_an_unknown_service(settings: ServiceSettings) -> None:
    env = dict(os.environ, ARREARS_DATABASE_URL=settings.database_url)
    done = subprocess.run(
        [sys.executable, "-m", "arrears.cli.main", "migrate", "billing"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "unknown service(s): billing" in done.stderr
