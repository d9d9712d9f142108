"""`arrears import`: files through the ledger's rules into the event store, every rejected row
reported with its number and reason, and a re-import that appends nothing."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import re
import shlex
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.cli import imports
from arrears.cli.ledger_access import open_ledger
from arrears.ledger import store
from arrears.ledger.application import Ledger
from arrears.ledger.domain import rebuild
from arrears.ledger.imports import ImportSummary, import_file
from arrears.shared.db import create_engine
from tests.conftest import unique_name
from tests.integration.ledger.conftest import envelopes, event_types
from tests.support import wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
IBM = ROOT.parent / "shared" / "data" / "ibm-ar" / "WA_Fn-UseC_-Accounts-Receivable.csv"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="arrears import")
    imports.add_arguments(parser)
    return parser.parse_args(argv)


def documented_commands() -> list[list[str]]:
    """The `./arrears import` commands of docs/import.md's IBM section, as argument lists."""
    text = (ROOT / "docs" / "import.md").read_text()
    section = text[text.index("## Loading the IBM") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    joined = block.group(1).replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line)
        if words[:2] == ["./arrears", "import"]:
            words[3] = str(ROOT / words[3])  # the docs' paths are relative to the checkout
            commands.append(words[2:])
    return commands


@pytest.fixture
async def ledger(postgres_url: str) -> AsyncIterator[Ledger]:
    async with open_ledger(postgres_url, schema=unique_name("imp")) as ledger:
        yield ledger


async def run_import(ledger: Ledger, argv: list[str]) -> tuple[ImportSummary, list[str]]:
    """Import; returns the summary and the rejection lines printed."""
    err = io.StringIO()
    summary = await import_file(ledger, imports.options_from_args(parse(argv)), err=err)
    return summary, [line for line in err.getvalue().splitlines() if line.startswith("row ")]


def us_date(text: str) -> str:
    month, day, year = text.split("/")
    return f"{year}-{int(month):02d}-{int(day):02d}"


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode())
    return path


@pytest.mark.skipif(not IBM.exists(), reason=f"{IBM} is not checked out")
async def test_ibm_file_imports_with_the_documented_commands(ledger: Ledger) -> None:
    commands = documented_commands()
    assert [c[0] for c in commands] == ["customers", "invoices", "payments", "settlements"]
    with IBM.open(newline="") as f:
        rows = list(csv.DictReader(f))
    disputed = sum(1 for r in rows if r["Disputed"] == "Yes")
    assert (len(rows), len({r["customerID"] for r in rows}), disputed) == (2466, 100, 561)

    summaries = {}
    for argv in commands:
        summary, rejected = await run_import(ledger, argv)
        assert rejected == [] and summary.rejected == 0, rejected[:5]
        assert summary.rows == 2466
        summaries[argv[0]] = summary
    assert summaries["customers"].accepted == 100
    assert summaries["customers"].present == 2366
    for kind in ("invoices", "payments", "settlements"):
        assert summaries[kind].accepted == 2466, kind

    types = await event_types(ledger)
    assert types == Counter(
        CustomerRegistered=100,
        InvoicePosted=2466,
        CollectionStatusChanged=disputed,
        PaymentReceived=2466,
        PaymentSettled=2466,
    )
    assert sum(s.events for s in summaries.values()) == sum(types.values())

    # Every invoice is settled in full by its own payment on its settled date.
    invoices = {
        e["data"]["document_number"]: (e["customer_id"], Decimal(e["data"]["amount"]["amount"]))
        for e in await envelopes(ledger, "InvoicePosted")
    }
    expected = {
        r["invoiceNumber"]: (r["customerID"], Decimal(r["InvoiceAmount"]).quantize(Decimal("0.01")))
        for r in rows
    }
    assert invoices == expected
    settled = {}
    for e in await envelopes(ledger, "PaymentSettled"):
        (allocation,) = e["data"]["allocations"]
        settled[allocation["document_number"]] = (
            e["customer_id"],
            Decimal(allocation["amount"]["amount"]),
            e["data"]["settlement_date"],
        )
    assert settled == {
        number: (*expected[number], us_date(r["SettledDate"]))
        for number, r in ((r["invoiceNumber"], r) for r in rows)
    }
    async with ledger.engine.connect() as conn:
        sample = rows[0]["customerID"]
        account = rebuild("ibm", sample, await store.load_stream(conn, "ibm", sample))
    assert account.transactions and all(t.open_amount == 0 for t in account.transactions.values())

    # The same files again: nothing appended, every row already present.
    before = sum(types.values())
    for argv in commands:
        summary, rejected = await run_import(ledger, argv)
        assert rejected == []
        assert (summary.accepted, summary.present, summary.events) == (0, 2466, 0), argv[0]
    assert await store.count_events(ledger.engine) == before


async def test_every_bad_row_is_reported_with_its_number_and_reason(
    ledger: Ledger, tmp_path: Path
) -> None:
    customers = write(tmp_path / "customers.csv", "customer_id,name\nC1,Alpha\nC2,Beta\n")
    summary, rejected = await run_import(
        ledger, ["customers", str(customers), "--company", "acme", "--currency", "EUR"]
    )
    assert (summary.accepted, rejected) == (2, [])

    invoices = write(
        tmp_path / "invoices.csv",
        "customer,invoice,date,due,amount,disputed\r\n"
        "C1,INV-1,2024-01-05,2024-02-04,100.00,no\r\n"  # 1 accepted
        "C1,INV-2,2024-02-30,2024-03-04,10.00,no\r\n"  # 2 bad date
        "C1,INV-3,2024-01-05,2024-02-04,-5.00,no\r\n"  # 3 negative amount
        "C9,INV-4,2024-01-05,2024-02-04,10.00,no\r\n"  # 4 unknown customer
        "C2,INV-1,2024-01-05,2024-02-04,100.00,no\r\n"  # 5 C1's document number
        "\r\n"  # 6 blank: keeps its number
        "C1,INV-1,2024-01-05,2024-02-04,100.00,no\r\n"  # 7 the same as row 1
        'C2,INV-5,2024-01-06,2024-02-05,"1,250.00",yes\r\n',  # 8 accepted, disputed
    )
    rejects = tmp_path / "rejects.csv"
    summary, rejected = await run_import(
        ledger,
        [
            "invoices",
            str(invoices),
            "--company",
            "acme",
            "--map",
            "customer_id=customer",
            "--map",
            "document_number=invoice",
            "--map",
            "posting_date=date",
            "--map",
            "due_date=due",
            "--rejects",
            str(rejects),
            "--batch-size",
            "3",
        ],
    )
    assert (summary.rows, summary.accepted, summary.present, summary.rejected) == (7, 2, 1, 4)
    assert summary.events == 3  # two invoices and one dispute
    assert rejected == [
        "row 2: invalid_date: posting_date '2024-02-30' is not a date in the format ISO 8601, "
        "e.g. 2024-03-31 (or give --date-format)",
        "row 3: invalid_amount: amount must be positive, got -5.00",
        "row 4: unknown_customer: no customer C9 in company acme",
        "row 5: duplicate_document: invoice INV-1 already exists in this company: it belongs "
        "to customer C1",
    ]
    with rejects.open(newline="") as f:
        written = list(csv.DictReader(f))
    assert [(r["row"], r["code"], r["invoice"]) for r in written] == [
        ("2", "invalid_date", "INV-2"),
        ("3", "invalid_amount", "INV-3"),
        ("4", "unknown_customer", "INV-4"),
        ("5", "duplicate_document", "INV-1"),
    ]
    async with ledger.engine.connect() as conn:
        assert await store.find_document(conn, "acme", "invoice", "INV-3") is None
        owner = await store.find_document(conn, "acme", "invoice", "INV-1")
        c2 = rebuild("acme", "C2", await store.load_stream(conn, "acme", "C2"))
    assert owner is not None and owner[0] == "C1"
    (inv5,) = c2.transactions.values()
    assert (inv5.document_number, inv5.amount, inv5.collection_status.value) == (
        "INV-5",
        Decimal("1250.00"),
        "disputed",
    )


async def test_json_lines_payments_and_settlements(ledger: Ledger, tmp_path: Path) -> None:
    setup = write(
        tmp_path / "setup.jsonl",
        json.dumps({"customer_id": "J1", "name": "Jay", "currency": "USD"}) + "\n",
    )
    assert (await run_import(ledger, ["customers", str(setup), "--company", "co"]))[0].accepted == 1
    invoices = write(
        tmp_path / "invoices.ndjson",
        "".join(
            json.dumps(
                {
                    "customer_id": "J1",
                    "document_number": f"I{n}",
                    "posting_date": "2024-05-01",
                    "payment_terms": "Net30",
                    "amount": 40.10,
                }
            )
            + "\n"
            for n in (1, 2)
        ),
    )
    summary, rejected = await run_import(ledger, ["invoices", str(invoices), "--company", "co"])
    assert (summary.accepted, rejected) == (2, [])

    payments = write(
        tmp_path / "bank.jsonl",
        '{"cust": "J1", "ref": 77, "paid": "2024-05-20", "amount": 60.00}\n'
        "{not json}\n"
        '{"cust": "J1", "paid": "2024-05-21", "amount": 1}\n',
    )
    pay_args = [
        "payments",
        str(payments),
        "--company",
        "co",
        "--map",
        "customer_id=cust",
        "--map",
        "document_number=BANK-{ref}",
        "--map",
        "payment_date=paid",
        "--map",
        "method_of_payment==SEPA",
    ]
    summary, rejected = await run_import(ledger, pay_args)
    assert summary.accepted == 1
    assert rejected == [
        "row 2: invalid_json: Expecting property name enclosed in double quotes at column 2",
        "row 3: missing_field: document_number is empty: a payment needs one so that a "
        "re-import recognizes it",
    ]
    settlements = write(
        tmp_path / "settle.jsonl",
        '{"payment": "BANK-77", "invoice": "I1", "on": "2024-05-20"}\n'
        '{"payment": "BANK-77", "invoice": "I2", "amount": "19.90", "on": "2024-05-20"}\n'
        '{"payment": "BANK-77", "invoice": "I9"}\n',
    )
    settle_args = [
        "settlements",
        str(settlements),
        "--company",
        "co",
        "--map",
        "payment_document=payment",
        "--map",
        "invoice_document=invoice",
        "--map",
        "settlement_date=on",
    ]
    summary, rejected = await run_import(ledger, settle_args)
    assert (summary.accepted, summary.present) == (2, 0)
    assert rejected == ["row 3: unknown_document: no invoice I9 on customer J1"]
    async with ledger.engine.connect() as conn:
        account = rebuild("co", "J1", await store.load_stream(conn, "co", "J1"))
    opened = {t.document_number: t.open_amount for t in account.transactions.values()}
    assert opened == {"I1": Decimal("0.00"), "I2": Decimal("20.20"), "BANK-77": Decimal("0.00")}
    payment = next(t for t in account.transactions.values() if t.kind == "payment")
    assert payment.payment_date is not None and payment.payment_date.isoformat() == "2024-05-20"

    # Again: the partial settlement is not applied a second time, nothing is appended.
    before = await store.count_events(ledger.engine)
    for argv in (pay_args, settle_args):
        summary, _ = await run_import(ledger, argv)
        assert summary.events == 0 and summary.present == summary.rows - summary.rejected
    assert await store.count_events(ledger.engine) == before


async def test_an_import_stopped_between_chunks_continues_without_duplicates_or_gaps(
    ledger: Ledger, tmp_path: Path
) -> None:
    rows = [f"K{n % 4},INV-{n},2024-01-{n + 1:02d},{n + 10}.00,{'yes' if n % 3 else 'no'}"
            for n in range(1, 12)]  # fmt: skip
    invoices = write(tmp_path / "inv.csv", "customer_id,document_number,posting_date,amount,"
                     "disputed\n" + "\n".join(rows) + "\n")  # fmt: skip
    args = ["invoices", str(invoices), "--company", "stop", "--currency", "EUR",
            "--register-missing-customers", "--map", "due_date=posting_date",
            "--batch-size", "4"]  # fmt: skip
    options = imports.options_from_args(parse(args))
    first = await import_file(ledger, options, should_stop=lambda: True, err=io.StringIO())
    assert first.stopped and (first.rows, first.accepted, first.rejected) == (4, 4, 0)
    assert "stopped after row 4" in first.text()
    after_first = await store.count_events(ledger.engine)
    assert after_first == first.events

    again, rejected = await run_import(ledger, args)
    assert not again.stopped and rejected == []
    assert (again.rows, again.present, again.accepted) == (11, 4, 7)

    everything = await event_types(ledger)
    assert everything == Counter(
        CustomerRegistered=4,
        InvoicePosted=11,
        CollectionStatusChanged=sum(1 for n in range(1, 12) if n % 3),
    )
    async with ledger.engine.connect() as conn:
        for customer in ("K0", "K1", "K2", "K3"):
            sequences = [e.sequence for e in await store.load_stream(conn, "stop", customer)]
            assert sequences == list(range(1, len(sequences) + 1))


async def test_ctrl_c_stops_the_command_between_chunks_and_running_it_again_completes_it(
    postgres_url: str, tmp_path: Path
) -> None:
    schema = unique_name("sig")
    count = 30_000
    header = "customer_id,document_number,posting_date,amount\n"
    customers = write(tmp_path / "c.csv", "customer_id,name\n" + "".join(
        f"S{n},Customer {n}\n" for n in range(100)))  # fmt: skip
    invoices = write(tmp_path / "i.csv", header + "".join(
        f"S{n % 100},N-{n},2024-03-01,{n % 900 + 1}.00\n" for n in range(count)))  # fmt: skip
    env = dict(os.environ, ARREARS_DATABASE_URL=postgres_url)
    base = ["--company", "sig", "--currency", "EUR", "--schema", schema]

    async def start(*args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "arrears.cli.main", "import", *args, *base,
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip

    async def finished(process: asyncio.subprocess.Process) -> tuple[int, str, str]:
        out, err = await asyncio.wait_for(process.communicate(), timeout=300)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    code, _, err = await finished(await start("customers", str(customers)))
    assert code == 0, err[-2000:]
    engine = create_engine(postgres_url, schema)
    try:
        invoices_args = ("invoices", str(invoices), "--map", "due_date=posting_date")
        process = await start(*invoices_args, "--batch-size", "500")
        posted = await wait_until(
            lambda: invoice_count(engine), lambda n: n > 0, timeout=240, what="a first chunk"
        )
        assert posted < count, "the import ended before it could be interrupted"
        process.send_signal(signal.SIGINT)
        code, out, err = await finished(process)
        assert code == 130, err[-2000:]
        assert "stopping after the chunk being written" in err
        assert "run the same import again to continue" in out
        stopped_at = await invoice_count(engine)
        assert 0 < stopped_at < count and stopped_at % 500 == 0  # whole chunks only

        code, out, err = await finished(await start(*invoices_args))
        assert code == 0, err[-2000:]
        assert f"already present  {stopped_at:>9,}" in out
        assert await invoice_count(engine) == count
        async with engine.connect() as conn:
            for customer in ("S0", "S57", "S99"):
                sequences = [e.sequence for e in await store.load_stream(conn, "sig", customer)]
                assert sequences == list(range(1, count // 100 + 2))
    finally:
        await engine.dispose()


async def invoice_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        found = await conn.execute(
            sa.select(sa.func.count())
            .select_from(store.events)
            .where(store.events.c.type == "InvoicePosted")
        )
        return int(found.scalar_one())


async def test_map_templates_constants_and_decimal_commas(ledger: Ledger, tmp_path: Path) -> None:
    source = write(
        tmp_path / "kunden.csv",
        "\ufeffKunde;Firma;Land;Kreditlimit\n7;Müller GmbH;de;1.500,00\n12;Schulz AG;at;250\n",
    )
    summary, rejected = await run_import(
        ledger,
        [
            "customers",
            str(source),
            "--company",
            "de01",
            "--decimal-comma",
            "--map",
            "customer_id=K-{Kunde:>05}",
            "--map",
            "name={Firma} ({Land})",
            "--map",
            "country=Land",
            "--map",
            "credit_limit=Kreditlimit",
            "--map",
            "currency==EUR",
        ],
    )
    assert (summary.accepted, rejected) == (2, [])
    async with ledger.engine.connect() as conn:
        account = rebuild("de01", "K-00007", await store.load_stream(conn, "de01", "K-00007"))
    assert account.profile.name == "Müller GmbH (de)"
    assert (account.profile.country, account.currency, account.accounting_currency) == (
        "DE",
        "EUR",
        "EUR",
    )
    assert account.credit_limit == Decimal("1500.00")


def test_the_command_exits_nonzero_on_rejections_and_bad_options(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = unique_name("imp")
    good = write(tmp_path / "c.csv", "customer_id,name,currency\nA,Ann,USD\nA,Ann,USD\n")
    bad = write(tmp_path / "d.csv", "customer_id,name,currency\nB,Bob,dollars\n")

    def database_url() -> tuple[str, None]:
        return postgres_url, None

    base = ["--company", "x", "--schema", schema]
    assert (
        imports.run(parse(["customers", str(good), *base, "--batch-size", "1"]), database_url) == 0
    )
    out = capsys.readouterr().out
    assert "accepted                 1" in out and "already present          1" in out
    assert imports.run(parse(["customers", str(good), *base]), database_url) == 0
    assert "already present          2" in capsys.readouterr().out
    assert imports.run(parse(["customers", str(bad), *base]), database_url) == 1
    assert "row 1: invalid_field: currency: String should match pattern" in capsys.readouterr().err
    missing = parse(["invoices", str(good), *base])
    assert imports.run(missing, database_url) == 2
    assert "invoices need document_number, posting_date, amount" in capsys.readouterr().err
    assert imports.run(parse(["customers", str(tmp_path / "nope.csv"), *base]), database_url) == 2
