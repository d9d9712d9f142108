"""UBL 2.1 / PEPPOL invoices and credit notes read with their customer, dates, currency, tax
and payable amount; other UBL documents and hostile XML refused with the reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from arrears.ledger.safe_xml import XmlRefused
from arrears.ledger.ubl.reader import read_document, read_remittance_advice

ROOT = Path(__file__).resolve().parents[3]
UBL = ROOT.parent / "shared" / "data" / "ubl"
needs_samples = pytest.mark.skipif(not UBL.is_dir(), reason=f"{UBL} is not checked out")

EXPECTED = {
    # file: (kind, number, customer, issued, due, currency, payable, tax, corrects)
    "peppol_base-example.xml": ("invoice", "Snippet1", "FR23342", date(2017, 11, 13),
                                date(2017, 12, 1), "EUR", "1656.25", "331.25", None),
    "peppol_Allowance-example.xml": ("invoice", "Snippet1", "4598375937", date(2017, 11, 13),
                                     date(2017, 12, 1), "EUR", "6125.00", "1225.00", None),
    "peppol_base-creditnote-correction.xml": ("credit_note", "Snippet1", "FR23342",
                                              date(2017, 11, 13), date(2017, 11, 23), "EUR",
                                              "1656.25", "331.25", "Snippet1"),
    "peppol_base-negative-inv-correction.xml": ("credit_note", "Correction1", "FR23342",
                                                date(2017, 11, 13), date(2017, 12, 1), "EUR",
                                                "1656.25", "331.25", "Snippet1"),
    "peppol_vat-category-E.xml": ("invoice", "Vat-Z", "12345678", date(2018, 8, 30),
                                  date(2018, 9, 29), "GBP", "1200.00", "0.00", None),
    "oasis_UBL-Invoice-2.1-Example.xml": ("invoice", "TOSL108", "345KS5324", date(2009, 12, 15),
                                          date(2009, 12, 31), "EUR", "729", "292.20", None),
    "oasis_UBL-CreditNote-2.1-Example.xml": ("credit_note", "TOSL108", "345KS5324",
                                             date(2009, 12, 15), None, "EUR", "729", "292.20",
                                             None),
}  # fmt: skip
NOT_DOCUMENTS = (
    "oasis_UBL-Reminder-2.1-Example.xml",
    "oasis_UBL-Statement-2.0-Example.xml",
    "oasis_UBL-RemittanceAdvice-2.0-Example.xml",
)


@needs_samples
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_sample_document_reads_as_expected(name: str) -> None:
    document = read_document((UBL / name).read_bytes())
    kind, number, customer, issued, due, currency, payable, tax, corrects = EXPECTED[name]
    assert (document.kind, document.number, document.customer.customer_id) == (
        kind,
        number,
        customer,
    )
    assert (document.issue_date, document.due_date, document.currency) == (issued, due, currency)
    assert document.amount == Decimal(payable)
    assert document.tax_amount == Decimal(tax)
    assert document.corrects == corrects


@needs_samples
def test_prepaid_amounts_and_derived_due_dates() -> None:
    allowance = read_document((UBL / "peppol_Allowance-example.xml").read_bytes())
    assert allowance.prepaid_amount == Decimal("1000")
    no_due = read_document((UBL / "peppol_vat-category-E.xml").read_bytes())
    assert no_due.due_date_source == "terms: Payment within 30 days"
    base = read_document((UBL / "peppol_base-example.xml").read_bytes())
    party = base.customer
    assert (party.name, party.country, party.contact_name, party.email, party.phone) == (
        "BuyerTradingName AS", "SE", "Lisa Johnson", "lj@buyer.se", "23434234",
    )  # fmt: skip


@needs_samples
@pytest.mark.parametrize("name", NOT_DOCUMENTS)
def test_other_ubl_documents_are_refused(name: str) -> None:
    with pytest.raises(XmlRefused) as refused:
        read_document((UBL / name).read_bytes())
    assert refused.value.code == "unsupported_document"


INVOICE = b"""<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>INV-1</cbc:ID><cbc:IssueDate>2026-05-01</cbc:IssueDate>
 <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
 <cac:AccountingCustomerParty><cac:Party><cbc:EndpointID>C-9</cbc:EndpointID>
 </cac:Party></cac:AccountingCustomerParty>
 <cac:LegalMonetaryTotal><cbc:PayableAmount currencyID="EUR">AMOUNT</cbc:PayableAmount>
 </cac:LegalMonetaryTotal></Invoice>"""


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (b'<!DOCTYPE x [<!ENTITY a "a">]>' + INVOICE.replace(b"AMOUNT", b"1"), "dtd_not_allowed"),
        (INVOICE.replace(b"AMOUNT", b"1")[:-20], "invalid_xml"),
        (INVOICE.replace(b"AMOUNT", b"ten"), "invalid_amount"),
        (INVOICE.replace(b"AMOUNT", b"0.00"), "nothing_payable"),
        (INVOICE.replace(b"AMOUNT", b"1").replace(b"2026-05-01", b"May 1"), "invalid_date"),
        (INVOICE.replace(b"AMOUNT", b"1").replace(b'currencyID="EUR"', b'currencyID="USD"'),
         "currency_mismatch"),
        (INVOICE.replace(b"AMOUNT", b"1").replace(b"<cbc:ID>INV-1</cbc:ID>", b""),
         "missing_element"),
        (INVOICE.replace(b"AMOUNT", b"1").replace(b"Invoice-2", b"Invoice-9"),
         "unsupported_document"),
    ],
)  # fmt: skip
def test_bad_documents_are_refused_with_the_element_and_reason(document: bytes, code: str) -> None:
    with pytest.raises(XmlRefused) as refused:
        read_document(document)
    assert refused.value.code == code and refused.value.status == 422


def test_a_minimal_invoice_is_due_on_its_issue_date_when_nothing_says_otherwise() -> None:
    document = read_document(INVOICE.replace(b"AMOUNT", b"12.50"))
    assert (document.customer.customer_id, document.customer.name) == ("C-9", "C-9")
    assert document.due_date is None and document.amount == Decimal("12.50")


@needs_samples
def test_a_remittance_advice_reads_as_the_payment_and_the_invoices_it_pays() -> None:
    advice = read_remittance_advice(
        (UBL / "oasis_UBL-RemittanceAdvice-2.0-Example.xml").read_bytes()
    )
    assert (advice.number, advice.customer_id, advice.currency, advice.total) == (
        "6577884", "GT00978567", "GBP", Decimal("107.50"),
    )  # fmt: skip
    assert advice.lines == (("A00095678", Decimal("107.50")),)
    with pytest.raises(XmlRefused):
        read_remittance_advice((UBL / "peppol_base-example.xml").read_bytes())
