"""The summary store on the real database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from arrears.shared.db import create_engine
from arrears.shared.migrations import upgrade
from arrears.shared.settings import ServiceSettings
from arrears.summary import store
from arrears.summary.app import SPEC

pytestmark = pytest.mark.integration


def summary(n: int, position: int) -> dict[str, object]:
    return {
        "summary_id": f"s-{n}",
        "company": "usmf",
        "customer_id": "C-1",
        "trigger": "auto",
        "text": "Nothing is owed.",
        "language": "en",
        "provider": "template",
        "prompt_version": "template-1",
        "grounding": "passed",
        "grounding_reasons": [],
        "cited": [],
        "attempts": [],
        "facts": {},
        "position": position,
        "aging_revision": 0,
        "as_of": date(2026, 6, 15),
        "actor": "test",
        "created_at": datetime(2026, 6, 15, tzinfo=UTC),
    }


async def test_automatic_summaries_stay_unique_on_a_long_lived_connection(
    settings: ServiceSettings,
) -> None:
    """PostgreSQL switches a prepared statement to a generic plan after five executions;
    the ON CONFLICT target must still match the partial unique index then."""
    engine = create_engine(settings.database_url, settings.schema_name)
    try:
        await upgrade(engine, SPEC.migrations, settings.schema_name)
        async with engine.begin() as conn:
            for n in range(1, 9):
                assert await store.insert_summary(conn, summary(n, position=n))
                assert not await store.insert_summary(conn, summary(100 + n, position=n))
    finally:
        await engine.dispose()
