"""UBL 2.1 invoices and credit notes (PEPPOL BIS Billing 3.0 among them) read into plain
values: the customer party, the document's number, dates, currency, tax and payable amount,
and the invoice a credit note corrects. Pure; read safely (`arrears.ledger.safe_xml`). A
document that is not an invoice or credit note, or lacks what a receivable needs, is refused
with the element and the reason.

- The payable amount is `LegalMonetaryTotal/PayableAmount` (after prepaid amounts and
  allowances); a negative invoice is read as a credit note of its absolute amount.
- The due date is `DueDate`, else `PaymentMeans/PaymentDueDate`, else derived from payment
  terms saying "N days" after the issue date, else the issue date.
- The customer is `AccountingCustomerParty/Party`: its id is the party identification, else
  the endpoint id, else the legal entity's company id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal

from lxml import etree

from arrears.ledger.safe_xml import XmlRefused, parse

UBL = "urn:oasis:names:specification:ubl:schema:xsd:"
ROOTS = {UBL + "Invoice-2": "Invoice", UBL + "CreditNote-2": "CreditNote"}
REMITTANCE = UBL + "RemittanceAdvice-2"
NS = {
    "cac": UBL + "CommonAggregateComponents-2",
    "cbc": UBL + "CommonBasicComponents-2",
}
DAYS = re.compile(r"(\d{1,3})\s*(?:days|dagen|tage|jours|dias|giorni)", re.IGNORECASE)
AMOUNT = re.compile(r"^-?\d{1,18}(\.\d{1,6})?$")
CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Party:
    customer_id: str
    name: str
    country: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class UblDocument:
    kind: Literal["invoice", "credit_note"]
    number: str
    issue_date: date
    due_date: date | None
    due_date_source: str
    currency: str
    amount: Decimal
    """Payable amount, positive."""
    tax_amount: Decimal | None
    prepaid_amount: Decimal | None
    customer: Party
    corrects: str | None = None
    """The invoice number a credit note (or negative invoice) corrects."""
    buyer_reference: str | None = None
    order_reference: str | None = None
    note: str | None = None


def _text(node: etree._Element, path: str) -> str | None:
    found = node.find(path, NS)
    if found is None or found.text is None:
        return None
    text = " ".join(found.text.split())
    return text or None


def _required(node: etree._Element, path: str) -> str:
    text = _text(node, path)
    if text is None:
        raise XmlRefused("missing_element", f"the document has no {path}")
    return text


def _date(node: etree._Element, path: str) -> date | None:
    text = _text(node, path)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise XmlRefused("invalid_date", f"{path}: {text[:40]!r} is not a date") from error


def _amount(node: etree._Element, path: str, currency: str) -> Decimal | None:
    found = node.find(path, NS)
    if found is None:
        return None
    text = (found.text or "").strip()
    if not AMOUNT.match(text):
        raise XmlRefused("invalid_amount", f"{path}: {text[:40]!r} is not an amount")
    given = found.get("currencyID")
    if given is not None and given.strip() != currency:
        raise XmlRefused("currency_mismatch", f"{path} is in {given}, the document in {currency}")
    try:
        return Decimal(text)
    except InvalidOperation as error:  # pragma: no cover - the pattern admits decimals only
        raise XmlRefused("invalid_amount", f"{path}: {text!r}") from error


@dataclass(frozen=True)
class RemittanceAdvice:
    """A customer's announcement of a payment and of what it pays."""

    number: str
    customer_id: str
    currency: str
    total: Decimal
    lines: tuple[tuple[str, Decimal], ...]
    """(invoice number, amount paid on it) each."""


def is_remittance_advice(data: bytes) -> bool:
    return bool(etree.QName(parse(data)).namespace == REMITTANCE)


def read_remittance_advice(data: bytes) -> RemittanceAdvice:
    """A UBL RemittanceAdvice: the customer (the account number we gave it, else its party
    identification), the payment's total and the invoices each line pays."""
    root = parse(data)
    if etree.QName(root).namespace != REMITTANCE:
        raise XmlRefused("unsupported_document", "not a UBL RemittanceAdvice")
    number = _required(root, "cbc:ID")
    total_element = root.find("cbc:TotalPaymentAmount", NS)
    currency = (total_element.get("currencyID") or "").strip() if total_element is not None else ""
    if not CURRENCY.match(currency):
        raise XmlRefused("missing_element", "cbc:TotalPaymentAmount with its currencyID is needed")
    total = _amount(root, "cbc:TotalPaymentAmount", currency)
    assert total is not None
    customer = root.find("cac:AccountingCustomerParty", NS)
    customer_id = None
    if customer is not None:
        customer_id = _text(customer, "cbc:SupplierAssignedAccountID") or _text(
            customer, "cac:Party/cac:PartyIdentification/cbc:ID"
        )
    if customer_id is None:
        raise XmlRefused(
            "missing_element",
            "cac:AccountingCustomerParty has no cbc:SupplierAssignedAccountID or party "
            "identification",
        )
    lines = []
    for line in root.findall("cac:RemittanceAdviceLine", NS):
        invoice = _text(line, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID")
        debit = _amount(line, "cbc:DebitLineAmount", currency) or Decimal(0)
        credit = _amount(line, "cbc:CreditLineAmount", currency) or Decimal(0)
        if invoice is not None and debit - credit > 0:
            lines.append((invoice, debit - credit))
    return RemittanceAdvice(number, customer_id, currency, total, tuple(lines))


def read_document(data: bytes) -> UblDocument:
    root = parse(data)
    qname = etree.QName(root)
    kind_name = ROOTS.get(qname.namespace or "")
    if kind_name is None or qname.localname != kind_name:
        raise XmlRefused(
            "unsupported_document",
            f"{{{qname.namespace or ''}}}{qname.localname} is not a UBL Invoice or CreditNote"
            " (reminders and statements are not imported)",
        )
    number = _required(root, "cbc:ID")
    issue_date = _date(root, "cbc:IssueDate")
    if issue_date is None:
        raise XmlRefused("missing_element", "the document has no cbc:IssueDate")
    currency = _required(root, "cbc:DocumentCurrencyCode")
    if not CURRENCY.match(currency):
        raise XmlRefused("invalid_currency", f"cbc:DocumentCurrencyCode {currency!r}")
    totals = "cac:LegalMonetaryTotal/"
    payable = _amount(root, totals + "cbc:PayableAmount", currency)
    if payable is None:
        raise XmlRefused("missing_element", f"the document has no {totals}cbc:PayableAmount")
    prepaid = _amount(root, totals + "cbc:PrepaidAmount", currency)
    tax = None
    for total in root.findall("cac:TaxTotal", NS):
        amount = total.find("cbc:TaxAmount", NS)
        if amount is not None and (amount.get("currencyID") or "").strip() == currency:
            tax = _amount(total, "cbc:TaxAmount", currency)
            break
    kind: Literal["invoice", "credit_note"] = "invoice" if kind_name == "Invoice" else "credit_note"
    if payable < 0 and kind == "invoice":
        kind, payable = "credit_note", -payable
        tax = -tax if tax is not None else None
    if payable <= 0:
        raise XmlRefused(
            "nothing_payable",
            f"{totals}cbc:PayableAmount is {payable}: nothing is owed on {number}",
        )
    due, source = _due(root, issue_date)
    return UblDocument(
        kind=kind,
        number=number,
        issue_date=issue_date,
        due_date=due,
        due_date_source=source,
        currency=currency,
        amount=payable,
        tax_amount=tax if tax is not None and 0 <= tax <= payable else None,
        prepaid_amount=prepaid,
        customer=_customer(root),
        corrects=_text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"),
        buyer_reference=_text(root, "cbc:BuyerReference"),
        order_reference=_text(root, "cac:OrderReference/cbc:ID"),
        note=_text(root, "cbc:Note"),
    )


def _due(root: etree._Element, issue_date: date) -> tuple[date | None, str]:
    due = _date(root, "cbc:DueDate") or _date(root, "cac:PaymentMeans/cbc:PaymentDueDate")
    if due is not None:
        return due, "given"
    for note in root.findall("cac:PaymentTerms/cbc:Note", NS):
        match = DAYS.search(note.text or "")
        if match:
            return issue_date + timedelta(days=int(match.group(1))), f"terms: {note.text}"
    return None, "none"


def _customer(root: etree._Element) -> Party:
    party = root.find("cac:AccountingCustomerParty/cac:Party", NS)
    if party is None:
        raise XmlRefused(
            "missing_element", "the document has no cac:AccountingCustomerParty/cac:Party"
        )
    customer_id = (
        _text(party, "cac:PartyIdentification/cbc:ID")
        or _text(party, "cbc:EndpointID")
        or _text(party, "cac:PartyLegalEntity/cbc:CompanyID")
    )
    if customer_id is None or "/" in customer_id or len(customer_id) > 64:
        raise XmlRefused(
            "missing_element",
            "the customer party has no usable identification (PartyIdentification, "
            "EndpointID or PartyLegalEntity/CompanyID)",
        )
    name = (
        _text(party, "cac:PartyName/cbc:Name")
        or _text(party, "cac:PartyLegalEntity/cbc:RegistrationName")
        or customer_id
    )
    return Party(
        customer_id=customer_id,
        name=name[:200],
        country=_text(party, "cac:PostalAddress/cac:Country/cbc:IdentificationCode"),
        contact_name=_text(party, "cac:Contact/cbc:Name"),
        email=_text(party, "cac:Contact/cbc:ElectronicMail"),
        phone=_text(party, "cac:Contact/cbc:Telephone"),
    )
