"""The IBM accounts-receivable history, imported through the ledger and replayed into the
aging read model: aged balances as of several dates, every customer at once in the database's
set-based query, equal an independent computation from the raw CSV (and the in-memory aging
of each customer's page)."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import pytest

from arrears.aging import store
from arrears.aging.domain import DEFAULT_DEFINITION, age
from arrears.cli.ledger_access import open_ledger
from arrears.cli.replay import replay
from arrears.shared.db import create_engine
from tests.conftest import unique_name
from tests.integration.ledger.test_import import IBM, documented_commands, run_import

pytestmark = pytest.mark.integration

AS_OF = [
    date(2012, 1, 1),
    date(2012, 3, 31),
    date(2012, 9, 30),
    date(2013, 6, 15),
    date(2013, 12, 31),
    date(2014, 6, 30),
]
BUCKETS = [(None, 0), (1, 30), (31, 60), (61, 90), (91, 120), (121, None)]


def us(text: str) -> date:
    return datetime.strptime(text, "%m/%d/%Y").date()  # noqa: DTZ007 - a date, not a time


def independent(as_of: date) -> dict[str, list[Decimal]]:
    """Per customer, the open amount per period, straight from the file: an invoice is open
    from its InvoiceDate until it is settled in full on its SettledDate."""
    result: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(BUCKETS))
    with IBM.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if not us(row["InvoiceDate"]) <= as_of < us(row["SettledDate"]):
                continue
            days = (as_of - us(row["DueDate"])).days
            index = next(
                i
                for i, (low, high) in enumerate(BUCKETS)
                if (low is None or days >= low) and (high is None or days <= high)
            )
            result[row["customerID"]][index] += Decimal(row["InvoiceAmount"])
    return result


@pytest.mark.skipif(not IBM.exists(), reason=f"{IBM} is not checked out beside the project")
async def test_aged_balances_of_the_ibm_file_match_the_raw_csv(postgres_url: str) -> None:
    ledger_schema = unique_name("ibm")
    async with open_ledger(postgres_url, schema=ledger_schema) as ledger:
        for argv in documented_commands():
            _, rejected = await run_import(ledger, argv)
            assert not rejected, rejected[:5]
    aging_schema = ledger_schema + "_aging"
    await replay("aging", postgres_url, schema=aging_schema, ledger_schema=ledger_schema)
    engine = create_engine(postgres_url, aging_schema)
    try:
        async with engine.connect() as conn:
            customers = await store.load_customers(
                conn,
                [("ibm", cid) for cid in {r["customerID"] for r in csv.DictReader(IBM.open())}],
            )
            assert len(customers) == 100
            keys = sorted(customers)
            checked = 0
            for as_of in AS_OF:
                expected = independent(as_of)
                # the whole company in one set-based query, and one customer's page in memory
                by_sql = await store.aged_balances(
                    conn, as_of, DEFAULT_DEFINITION, store.Scope(company="ibm")
                )
                items = await store.open_items_of(conn, keys, as_of)
                assert sorted(by_sql) == keys
                for key in keys:
                    aged = by_sql[key][1]
                    want = expected.get(key[1], [Decimal(0)] * len(BUCKETS))
                    assert [p.amount for p in aged.periods] == want, (as_of, key)
                    assert aged.balance == sum(want) and aged.open_credits == 0
                    assert age(items[key], DEFAULT_DEFINITION, as_of) == aged, (as_of, key)
                    checked += 1
            assert checked == 100 * len(AS_OF)
            assert any(sum(v) > 0 for v in independent(date(2013, 6, 15)).values())
    finally:
        await engine.dispose()
