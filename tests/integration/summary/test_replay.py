"""`arrears replay summary` rebuilds the summary read model from the ledger's event store and
what aging has published (from aging's store), with the same facts as live consumption of
the topics."""

from __future__ import annotations

import pytest

from arrears.cli.replay import replay
from arrears.shared.db import create_engine
from arrears.summary import store
from arrears.summary.domain import FactSheet, compute_facts
from arrears.summary.settings import SummarySettings
from tests.integration.ledger.conftest import NOW, LedgerHarness
from tests.integration.summary.conftest import aging_and_summary
from tests.integration.summary.test_summary_api import history_of_s1
from tests.support import wait_until

pytestmark = pytest.mark.integration


async def facts_of(database_url: str, schema: str, customers: list[str]) -> list[FactSheet]:
    engine = create_engine(database_url, schema)
    try:
        async with engine.connect() as conn:
            return [
                compute_facts(await store.load_history(conn, "usmf", c), NOW.date())
                for c in customers
            ]
    finally:
        await engine.dispose()


async def caught_up(h: LedgerHarness, live: SummarySettings, customers: list[str]) -> None:
    """Wait until summary has every ledger event of `customers`, and aging's open amounts of
    S-1's paid invoice (`history_of_s1`)."""
    streams = [len(await h.stream(c)) for c in customers]
    await wait_until(
        lambda: facts_of(live.database_url, live.schema_name, customers),
        lambda sheets: (
            [s.position for s in sheets] == streams
            and sheets[customers.index("S-1")].value("history.invoices_paid") == 1
        ),
        timeout=240,
        what="live consumption of every event and of aging's publications",
    )


async def test_replay_equals_live_consumption(ledger: LedgerHarness) -> None:
    h = ledger
    await history_of_s1(h)
    await h.register("RP-1", profile={"name": "Replay Ltd", "language": "de"})
    for k in range(3):
        response = await h.client.post(
            h.url("RP-1", "/invoices"),
            json={
                "document_number": f"RP-1-{k}",
                "posting_date": "2026-04-01",
                "due_date": "2026-05-01",
                "amount": f"{10 * (k + 1)}.00",
            },
        )
        assert response.status_code == 201
    customers = ["RP-1", "S-1"]

    async with aging_and_summary(h) as (aging, live, _):
        await caught_up(h, live, customers)
    live_facts = await facts_of(live.database_url, live.schema_name, customers)

    schema = h.settings.schema_name + "_sreplay"
    read = await replay(
        "summary",
        h.settings.database_url,
        schema=schema,
        ledger_schema=h.settings.schema_name,
        aging_schema=aging.schema_name,
    )
    assert read == await h.all_events()
    replayed = await facts_of(h.settings.database_url, schema, customers)
    assert replayed == live_facts
    assert replayed[0].language == "de" and replayed[1].value("history.invoices_paid") == 1
