"""Statement benchmark: a camt.053 statement of many entries imported through the ledger and
cash-applied, beside reading the same file alone (parse and balance check), in the same run
on the same machine.

    .venv/bin/python bench/cash_bench.py [--entries 100000] [--customers 20000]

It starts its own embedded PostgreSQL (durable: fsync on) and broker, posts the open invoices
the statement pays through the ledger's bulk path (not measured), writes the statement (each
entry pays one invoice: 70% by a structured reference, 10% by an ISO 11649 reference, 10% by
its number in the remittance text, 10% by amount alone from an unknown payer, which stay
unidentified), then measures reading it alone and importing it (read, identify, receive,
propose, settle what reaches the threshold). Prints the figures and writes them to
bench/RESULTS.md under "Statements".
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

import harness

from arrears.cli.ledger_access import open_ledger
from arrears.ledger.bulk import BulkItem
from arrears.ledger.domain import PostInvoice, RegisterCustomer
from arrears.ledger.statements.importer import import_statements, read_document
from arrears.ledger.statements.references import make_rf
from arrears.shared.events.customers import CustomerProfile

sys.path.insert(0, str(harness.ROOT))
from tests.unit.ledger.camt_samples import credit_entry, statement_xml

COMPANY = "usmf"
CHUNK = 5000


def invoices(entries: int, customers: int, seed: int) -> list[tuple[str, str, Decimal]]:
    """(customer, number, amount) of the invoices the entries pay, one each."""
    rng = random.Random(seed)
    return [
        (f"B{n % customers:06d}", f"INV-{n:07d}", Decimal(rng.randrange(1_000, 900_000)) / 100)
        for n in range(entries)
    ]


def entry(n: int, customer: str, number: str, amount: Decimal) -> dict[str, object]:
    key, text = f"BENCH-{n:07d}", str(amount)
    kind = n % 10
    if kind < 7:
        return credit_entry(key, text, ref=number, booked="2026-06-10")
    if kind == 7:
        return credit_entry(key, text, ref=make_rf(number.replace("-", "")))
    if kind == 8:
        return credit_entry(key, text, text=f"Payment of {number}, thank you")
    return credit_entry(key, text, text="payment", iban=f"XX{n:020d}")


async def bench(args: argparse.Namespace, url: str, _bootstrap: str, work: Path) -> list[str]:
    due = invoices(args.entries, args.customers, args.seed)
    statement = work / "statement.xml"
    entries = [entry(n, c, number, amount) for n, (c, number, amount) in enumerate(due)]
    statement.write_bytes(statement_xml(entries, statement_id="BENCH"))
    size = statement.stat().st_size
    harness.say(f"statement written: {args.entries:,} entries, {size / 1e6:.1f} MB")
    async with open_ledger(url) as ledger:
        items = [
            BulkItem.of(
                RegisterCustomer(
                    company=COMPANY,
                    customer_id=f"B{c:06d}",
                    profile=CustomerProfile(name=f"Bench customer {c}"),
                    currency="EUR",
                    accounting_currency="EUR",
                )
            )
            for c in range(args.customers)
        ] + [
            BulkItem.of(
                PostInvoice(
                    company=COMPANY,
                    customer_id=customer,
                    document_number=number,
                    posting_date="2026-05-01",  # type: ignore[arg-type]
                    due_date="2026-05-31",  # type: ignore[arg-type]
                    amount=amount,
                )
            )
            for customer, number, amount in due
        ]
        for start in range(0, len(items), CHUNK):
            await ledger.append_many(items[start : start + CHUNK], actor="bench")
        harness.say(f"{args.customers:,} customers and {args.entries:,} open invoices posted")
        load_before = harness.load_average()
        started = time.perf_counter()
        with statement.open("rb") as source:
            read_document(source)
        parse_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with statement.open("rb") as source:
            statements = read_document(source)
        (report,) = await import_statements(ledger, statements, company=COMPANY)
        import_seconds = time.perf_counter() - started
        load_after = harness.load_average()
    counts, cash = report.as_dict()["counts"], report.as_dict()["cash_application"]
    rate_parse = args.entries / parse_seconds
    rate_import = args.entries / import_seconds
    return [
        f"### {args.entries:,} entries",
        "",
        f"{harness.invocation('cash_bench.py')}; embedded PostgreSQL (durable, fsync on) on the "
        f"same machine; load average {load_before} before, {load_after} after (other work "
        "shared the machine when it was above 0).",
        "",
        f"{args.entries:,} entries ({size / 1e6:.1f} MB) paying {args.entries:,} invoices of "
        f"{args.customers:,} customers: {counts['payment']:,} payments received, "
        f"{counts['unidentified']:,} unidentified; cash application settled "
        f"{cash['settled_automatically']:,} automatically and queued {cash['queued']:,}.",
        "",
        "| way | entries/s | seconds | vs reading alone |",
        "| --- | ---: | ---: | ---: |",
        f"| reading alone (parse, balance check) | {rate_parse:,.0f} | {parse_seconds:.1f} | "
        "100% |",
        f"| import: read, identify, receive, propose, settle | {rate_import:,.0f} | "
        f"{import_seconds:.1f} | {rate_import / rate_parse:.1%} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    harness.add_common_arguments(parser)
    args = parser.parse_args()
    harness.run(
        args,
        bench,
        title="Statements",
        intro="`bench/cash_bench.py`: a camt.053 statement imported through the ledger and "
        "cash-applied (every entry identified, received as a payment, proposed, and settled "
        "when the proposal reaches the threshold), beside reading the same file alone, in the "
        "same run. Reading is lxml streaming one entry at a time; the import is bound by the "
        "ledger's Python work per event (each entry makes two to four events).",
    )


if __name__ == "__main__":
    main()
