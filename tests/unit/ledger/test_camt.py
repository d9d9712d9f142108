"""camt.053/.054 read safely: every sample file with its amounts, dates and references; a
statement whose balances do not reconcile is found; hostile and foreign XML refused."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from arrears.ledger.safe_xml import XmlRefused
from arrears.ledger.statements import StatementRefused, read_statements
from arrears.ledger.statements.importer import read_document
from tests.unit.ledger.camt_samples import credit_entry, statement_xml

ROOT = Path(__file__).resolve().parents[3]
CAMT = ROOT.parent / "shared" / "data" / "camt"
needs_samples = pytest.mark.skipif(not CAMT.is_dir(), reason=f"{CAMT} is not checked out")


def read(name: str) -> list:
    with (CAMT / name).open("rb") as source:
        return read_statements(source)


@needs_samples
def test_the_dutch_statement_with_a_returned_batch_does_not_reconcile() -> None:
    (statement,) = read("oca16_test-camt053.xml")
    assert (statement.kind, statement.version) == ("camt.053", "001.02")
    assert statement.statement_id == "1234Test/1"
    assert statement.account == "NL77ABNA0574908765"
    assert statement.opening is not None and statement.closing is not None
    assert (statement.opening.amount, statement.closing.amount) == (
        Decimal("15568.27"),
        Decimal("15121.12"),
    )
    assert statement.difference == Decimal("-434.16")
    assert not statement.reconciles
    debit, returned, credit = statement.entries
    assert (debit.amount, debit.credit, debit.reversal) == (Decimal("754.25"), False, False)
    assert (returned.amount, returned.credit, returned.reversal) == (
        Decimal("664.05"),
        False,
        True,
    )
    assert [(t.amount, t.end_to_end_id, t.return_reason) for t in returned.transactions] == [
        (Decimal("564.05"), "TESTBANK/NL/20141229/01206408", "AC06"),
        (Decimal("100.00"), "TESTBANK/NL/20141229/01206407", "AC06"),
    ]
    assert (credit.amount, credit.currency, credit.credit) == (Decimal("1405.31"), "EUR", True)
    assert credit.booking_date == credit.value_date == date(2014, 1, 5)
    (tx,) = credit.transactions
    assert "CUSNO 90782" in tx.remittance_text
    assert (tx.payer_name, tx.payer_iban) == ("3rd party Media", "NL69ABNA0522123643")
    with (
        (CAMT / "oca16_test-camt053.xml").open("rb") as source,
        pytest.raises(StatementRefused) as e,
    ):
        read_document(source)
    assert e.value.code == "unreconciled_statement" and "434.16" in e.value.detail
    with (CAMT / "oca16_test-camt053.xml").open("rb") as source:
        assert len(read_document(source, force=True)) == 1


@needs_samples
def test_the_swiss_batch_credit_is_two_payments_with_structured_references() -> None:
    (statement,) = read("oca16_test-camt053-txdtls.xml")
    assert (statement.kind, statement.version, statement.reconciles) == ("camt.053", "001.04", True)
    (entry,) = statement.entries
    assert (entry.amount, entry.currency, entry.booking_date, entry.value_date) == (
        Decimal("3483.00"),
        "CHF",
        date(2017, 3, 22),
        date(2017, 3, 23),
    )
    assert entry.problem is None
    first, second = entry.transactions
    assert (first.amount, first.creditor_references, first.payer_iban) == (
        Decimal("2187.00"),
        ("302388292000011111111111111",),
        "CH2222000000123456789",
    )
    assert (second.amount, second.creditor_references) == (
        Decimal("1296.00"),
        ("302388292000022222222222222",),
    )
    # The two transactions share the bank's reference; each still has a key of its own.
    assert first.key != second.key
    assert {first.key, second.key} == {
        "20170323001234567891234567891234/1",
        "20170323001234567891234567891234/2",
    }


@needs_samples
def test_the_notification_and_the_statement_without_entries() -> None:
    (notification,) = read("oca16_test-camt054.xml")
    assert (notification.kind, notification.version) == ("camt.054", "001.04")
    assert notification.opening is None and notification.reconciles
    (entry,) = notification.entries
    (tx,) = entry.transactions
    assert (entry.amount, entry.booking_date, tx.key, tx.end_to_end_id) == (
        Decimal("5.00"),
        date(2022, 1, 26),
        "98888208N8",
        "ENDTOENDID-01",
    )
    (empty,) = read("oca16_test-camt053-no-ntry.xml")
    assert empty.entries == [] and empty.reconciles
    assert empty.opening is not None and empty.opening.amount == Decimal("1520.76")


@needs_samples
def test_keys_are_the_same_in_every_read() -> None:
    assert [t.key for e in read("oca16_test-camt053.xml")[0].entries for t in e.transactions] == [
        t.key for e in read("oca16_test-camt053.xml")[0].entries for t in e.transactions
    ]


@pytest.mark.parametrize("version", ["02", "03", "04", "05", "06", "07", "08"])
def test_every_version_reads_alike(version: str) -> None:
    xml = statement_xml([credit_entry("ACR-1", "120.50", ref="RF18539007547034")], version=version)
    (statement,) = read_statements(io.BytesIO(xml))
    assert statement.version == f"001.{version}"
    (entry,) = statement.entries
    assert entry.booked and entry.amount == Decimal("120.50")
    assert entry.transactions[0].creditor_references == ("RF18539007547034",)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Document [
 <!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<Stmt><Id>&d;</Id></Stmt></BkToCstmrStmt></Document>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<Stmt><Id>&secret;</Id></Stmt></BkToCstmrStmt></Document>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/camt.dtd">
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>"""


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (BILLION_LAUGHS, "dtd_not_allowed"),
        (XXE, "dtd_not_allowed"),
        (EXTERNAL_DTD, "dtd_not_allowed"),
        (b"<Document><unclosed></Document>", "invalid_xml"),
        (b"", "invalid_xml"),
        (b"not xml at all", "invalid_xml"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>',
            "unsupported_document",
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.09"/>',
            "unsupported_document",
        ),
        (b"<Document/>", "unsupported_document"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>',
            "no_statement",
        ),
    ],
)
def test_hostile_or_foreign_xml_is_refused_with_a_reason(document: bytes, code: str) -> None:
    with pytest.raises(XmlRefused) as refused:
        read_statements(io.BytesIO(document))
    assert refused.value.code == code
    assert refused.value.status == 422
    assert "root:" not in refused.value.detail  # nothing of /etc/passwd is echoed


def test_a_huge_text_node_is_refused() -> None:
    big = b"x" * 12_000_000  # over lxml's 10 MB text-node limit, kept on
    document = (
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        b"<Stmt><Id>" + big + b"</Id></Stmt></BkToCstmrStmt></Document>"
    )
    with pytest.raises(StatementRefused) as refused:
        read_statements(io.BytesIO(document))
    assert refused.value.code == "invalid_xml"


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [
        ("12,50", "EUR", "invalid_amount"),
        ("-5", "EUR", "invalid_amount"),
        ("5", "eur", "invalid_currency"),
    ],
)
def test_bad_amounts_are_refused(amount: str, currency: str, code: str) -> None:
    xml = statement_xml([credit_entry("A", amount, currency=currency)], closing="0")
    with pytest.raises(StatementRefused) as refused:
        read_statements(io.BytesIO(xml))
    assert refused.value.code == code


def test_a_batch_whose_transactions_do_not_add_up_is_flagged() -> None:
    xml = statement_xml([credit_entry("B", "100.00", parts=("60.00", "30.00"))])
    (statement,) = read_statements(io.BytesIO(xml))
    assert statement.entries[0].problem is not None
    assert "90.00" in statement.entries[0].problem


def test_a_deeply_nested_document_is_refused() -> None:
    depth = 5000  # beyond lxml's nesting limit, kept on
    document = (
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        + b"<a>" * depth
        + b"</a>" * depth
        + b"</Document>"
    )
    with pytest.raises(XmlRefused) as refused:
        read_statements(io.BytesIO(document))
    assert refused.value.code == "invalid_xml"
