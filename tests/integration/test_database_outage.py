"""Every service answers a database outage with 503 problem+json and Retry-After, never 500:
PostgreSQL is stopped under the running services, then started again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from arrears.aging.app import SPEC as AGING
from arrears.cli.infra import LocalPostgres
from arrears.ledger.app import SPEC as LEDGER
from arrears.notifier.app import SPEC as NOTIFIER
from arrears.shared.errors import RETRY_AFTER_S
from arrears.shared.kafka import ensure_topics, topic_names
from arrears.shared.service import ServiceSpec
from arrears.shared.settings import ServiceSettings
from arrears.summary.app import SPEC as SUMMARY
from arrears.timeline.app import SPEC as TIMELINE
from tests.support import wait_until

pytestmark = pytest.mark.integration

CUSTOMER = "/v1/companies/usmf/customers/OUT-1"
READS: tuple[tuple[ServiceSpec, str, dict[str, Any]], ...] = (
    (LEDGER, CUSTOMER + "/position", {"scheduler_enabled": False}),
    (AGING, CUSTOMER + "/aging", {}),
    (TIMELINE, CUSTOMER + "/timeline", {}),
    (SUMMARY, CUSTOMER + "/facts", {}),
    (NOTIFIER, CUSTOMER + "/emails", {}),
)


@pytest.fixture
async def clients(
    settings: ServiceSettings, own_postgres: LocalPostgres
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    await ensure_topics(settings.kafka_bootstrap, topic_names(settings), partitions=3)
    async with AsyncExitStack() as stack:
        clients = {}
        for spec, _, extra in READS:
            values = settings.model_dump() | {
                "database_url": own_postgres.url,
                "db_schema": spec.name,
                "db_pool_size": 1,
            }
            app = spec.create_app(spec.settings(**(values | extra)))
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            clients[spec.name] = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url=f"http://{spec.name}")
            )
        yield clients


async def answers(clients: dict[str, httpx.AsyncClient]) -> dict[str, httpx.Response]:
    return {spec.name: await clients[spec.name].get(path) for spec, path, _ in READS}


async def test_every_service_answers_an_outage_with_503_and_retry_after(
    clients: dict[str, httpx.AsyncClient], own_postgres: LocalPostgres
) -> None:
    before = await answers(clients)
    assert all(r.status_code < 500 for r in before.values()), {n: r.text for n, r in before.items()}

    own_postgres.stop()
    during = await answers(clients)
    for name, response in during.items():
        assert response.status_code == 503, (name, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json", name
        assert response.headers["retry-after"] == str(RETRY_AFTER_S), name
        assert response.json()["code"] in ("database_unavailable", "busy"), name

    own_postgres.start()  # the same port: every service works again, with no restart
    await wait_until(
        lambda: answers(clients),
        lambda found: all(r.status_code < 500 for r in found.values()),
        timeout=120,
        what="every service to answer again after PostgreSQL came back",
    )
