"""A service's /readyz tells the truth about its schema; `arrears migrate` brings it current."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from arrears.aging.app import SPEC
from arrears.aging.settings import AgingSettings
from arrears.shared.db import create_engine, quoted
from arrears.shared.migrations import head_revision, revisions
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


async def set_revision(settings: ServiceSettings, schema: str, revision: str) -> None:
    engine = create_engine(settings.database_url, schema, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(f"UPDATE {quoted(schema)}.alembic_version SET version_num = :r"),
                {"r": revision},
            )
    finally:
        await engine.dispose()


def test_readyz_accepts_a_schema_a_newer_release_migrated_but_not_an_older_one(
    settings: ServiceSettings,
) -> None:
    """During a rolling upgrade the migration job has run the new release's (expand-only)
    migrations while the old release still serves: it stays ready on that schema."""
    aging = aging_settings(settings)
    with TestClient(SPEC.create_app(aging)) as client:
        assert client.get("/readyz").status_code == 200
        schema = aging.schema_name
        asyncio.run(set_revision(settings, schema, "f" * 12))  # unknown here: newer
        assert client.get("/readyz").status_code == 200
        asyncio.run(set_revision(settings, schema, revisions(SPEC.migrations)[1]))
        behind = client.get("/readyz")
        assert behind.status_code == 503 and behind.json()["checks"]["migrations"] == "failing"


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
