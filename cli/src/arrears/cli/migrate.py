"""`arrears migrate`: upgrade every service's schema to its newest migration."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from pathlib import Path

from arrears.shared.db import create_engine
from arrears.shared.migrations import current_revision, upgrade

SCHEMA_OWNERS = ("ledger", "aging", "timeline", "summary", "notifier", "gateway")


def migrations_of(service: str) -> Path:
    module = importlib.import_module(f"arrears.{service}.app")
    path: Path = module.SPEC.migrations
    return path


async def migrate_all(
    database_url: str,
    services: Iterable[str] = SCHEMA_OWNERS,
    *,
    report: Callable[[str], None] = print,
) -> None:
    for service in services:
        engine = create_engine(database_url, service, pool_size=1)
        try:
            await upgrade(engine, migrations_of(service), service)
            report(f"schema {service} at revision {await current_revision(engine, service) or '-'}")
        finally:
            await engine.dispose()
