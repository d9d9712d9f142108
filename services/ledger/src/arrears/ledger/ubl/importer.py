"""UBL invoices and credit notes through the ledger's bulk path: the customer registered if
missing (name, country, contact), then the invoice or credit note (a credit note names the
invoice it corrects when the customer has it). Importing a document again appends nothing
(its number is taken by it already); every refused document is reported with its reason.

A UBL RemittanceAdvice becomes cash application's proposal for the payment it announces: the
customer's unapplied payment of its total, applied to the invoices its lines name (settled at
once when the proposal reaches the company's threshold)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import ValidationError

from arrears.ledger import store
from arrears.ledger.application import Ledger
from arrears.ledger.bulk import Builder, BulkItem
from arrears.ledger.cash import CashRequest, Policies, Policy
from arrears.ledger.cash import store as cash_store
from arrears.ledger.cash.application import record_proposals
from arrears.ledger.domain import (
    Command,
    CustomerAccount,
    PostCreditNote,
    PostInvoice,
    ProposeAllocation,
    ProposedAllocationRequest,
    RegisterCustomer,
)
from arrears.ledger.safe_xml import XmlRefused
from arrears.ledger.ubl.reader import (
    RemittanceAdvice,
    UblDocument,
    is_remittance_advice,
    read_document,
    read_remittance_advice,
)
from arrears.shared.events.customers import Contact, CustomerProfile
from arrears.shared.money import decimal_text

ACTOR = "e-invoice"
Outcome = Literal["posted", "present", "proposed", "refused"]
ADVICE_CONFIDENCE = Decimal("0.95")
"""A remittance advice whose lines name open invoices and add up to the payment."""
PARTIAL_ADVICE_CONFIDENCE = Decimal("0.7")


@dataclass
class DocumentLine:
    """What became of one document."""

    source: str
    outcome: Outcome
    kind: str | None = None
    number: str | None = None
    customer_id: str | None = None
    amount: str | None = None
    currency: str | None = None
    transaction_id: str | None = None
    customer_registered: bool = False
    reason: str | None = None
    cash: str | None = None
    """For a remittance advice: what cash application did with the payment."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        what = f"{self.kind} {self.number}" if self.number else "document"
        head = f"{self.source}: {what}"
        if self.outcome == "refused":
            return f"{head}: refused: {self.reason}"
        if self.outcome == "proposed":
            return f"{head} of {self.customer_id}: payment {self.transaction_id} {self.cash}"
        amount = f" {self.amount} {self.currency}" if self.amount else ""
        new = " (customer registered)" if self.customer_registered else ""
        return f"{head} of {self.customer_id}{amount}: {self.outcome}{new}"


def _profile(document: UblDocument) -> CustomerProfile:
    party = document.customer
    contact = None
    if party.contact_name or party.email or party.phone:
        try:
            contact = Contact(
                name=party.contact_name or party.name, email=party.email, phone=party.phone
            )
        except ValidationError:
            contact = None
    try:
        return CustomerProfile(name=party.name, country=party.country, collections_contact=contact)
    except ValidationError:
        return CustomerProfile(name=party.name)


def _register(company: str, document: UblDocument, accounting_currency: str | None) -> Builder:
    def build(state: CustomerAccount) -> Command | None:
        if state.registered:
            return None
        return RegisterCustomer(
            company=company,
            customer_id=document.customer.customer_id,
            profile=_profile(document),
            currency=document.currency,
            accounting_currency=accounting_currency or document.currency,
        )

    return build


def _post(company: str, document: UblDocument) -> Builder:
    def build(state: CustomerAccount) -> Command | None:
        common: dict[str, Any] = {
            "company": company,
            "customer_id": document.customer.customer_id,
            "document_number": document.number,
            "posting_date": document.issue_date,
            "document_date": document.issue_date,
            "amount": document.amount,
            "currency": document.currency,
            "sales_tax_amount": document.tax_amount,
        }
        if document.kind == "credit_note":
            original = state.find_document("invoice", document.corrects or "")
            return PostCreditNote(
                **common,
                original_transaction_id=original.transaction_id if original else None,
                description=(document.note or "")[:500] or None,
            )
        return PostInvoice(
            **common,
            due_date=document.due_date or document.issue_date,
            description=(document.note or "")[:500] or None,
            customer_reference=(document.buyer_reference or "")[:100] or None,
            purchase_order=(document.order_reference or "")[:100] or None,
        )

    return build


async def import_documents(
    ledger: Ledger,
    sources: Sequence[tuple[str, bytes]],
    *,
    company: str,
    accounting_currency: str | None = None,
    actor: str = ACTOR,
    policies: Policies | None = None,
) -> list[DocumentLine]:
    """Import (name, bytes) documents, invoices first, remittance advice last; one line each,
    in the order given."""
    lines: list[DocumentLine] = []
    read: list[tuple[DocumentLine, UblDocument]] = []
    advices: list[tuple[DocumentLine, RemittanceAdvice]] = []
    for name, data in sources:
        try:
            if is_remittance_advice(data):
                advice = read_remittance_advice(data)
                line = DocumentLine(name, "refused", "remittance_advice", advice.number,
                                    advice.customer_id, decimal_text(advice.total),
                                    advice.currency)  # fmt: skip
                lines.append(line)
                advices.append((line, advice))
                continue
            document = read_document(data)
        except XmlRefused as refused:
            lines.append(DocumentLine(name, "refused", reason=f"{refused.code}: {refused.detail}"))
            continue
        line = DocumentLine(
            name,
            "refused",
            kind=document.kind,
            number=document.number,
            customer_id=document.customer.customer_id,
            amount=decimal_text(document.amount),
            currency=document.currency,
        )
        lines.append(line)
        read.append((line, document))
    # Invoices before credit notes, so that a credit note finds the invoice it corrects.
    read.sort(key=lambda pair: pair[1].kind != "invoice")
    items: list[BulkItem] = []
    for _, document in read:
        customer = document.customer.customer_id
        items.append(BulkItem(company, customer, _register(company, document, accounting_currency)))
        items.append(BulkItem(company, customer, _post(company, document)))
    result = await ledger.append_many(items, actor=actor)
    async with ledger.engine.connect() as conn:
        for index, (line, document) in enumerate(read):
            register, post = 2 * index, 2 * index + 1
            line.customer_registered = register in result.outcomes and bool(
                result.outcomes[register].events
            )
            if register in result.rejections:
                problem = result.rejections[register]
                line.reason = f"customer {line.customer_id}: {problem.code}: {problem.detail}"
                if post not in result.outcomes:
                    continue
            if post in result.outcomes:
                line.outcome = "posted"
                event = result.outcomes[post].events[0]
                line.transaction_id = str(event.data.transaction_id)
                continue
            problem = result.rejections[post]
            holder = await store.find_document(conn, company, document.kind, document.number)
            if problem.code == "duplicate_document" and holder and holder[0] == line.customer_id:
                line.outcome, line.transaction_id = "present", holder[1]
                line.reason = "imported before"
            else:
                line.reason = f"{problem.code}: {problem.detail}"
    await _propose_from_advice(ledger, company, advices, policies or Policies())
    return lines


async def _propose_from_advice(
    ledger: Ledger,
    company: str,
    advices: Sequence[tuple[DocumentLine, RemittanceAdvice]],
    policies: Policies,
) -> None:
    requests: list[CashRequest] = []
    builders: list[Builder] = []
    proposed: list[DocumentLine] = []
    async with ledger.engine.connect() as conn:
        for line, advice in advices:
            waiting = await cash_store.unapplied_payments(
                conn, company, 1000, customer_id=advice.customer_id
            )
            payment = next(
                (p for p in waiting if (p.amount, p.currency) == (advice.total, advice.currency)),
                None,
            )
            if payment is None:
                line.reason = (
                    f"no_unapplied_payment: no unapplied payment of {decimal_text(advice.total)} "
                    f"{advice.currency} from customer {advice.customer_id}"
                )
                continue
            request = CashRequest(company, advice.customer_id, payment.transaction_id)
            requests.append(request)
            builders.append(_advised(advice, request, policies.of(company)))
            line.transaction_id = payment.transaction_id
            proposed.append(line)
    applied = await record_proposals(ledger, requests, builders)
    for line, outcome in zip(proposed, applied, strict=True):
        if outcome.disposition == "refused":
            line.reason = outcome.reason
            continue
        line.outcome, line.cash = "proposed", outcome.disposition


def _advised(advice: RemittanceAdvice, request: CashRequest, policy: Policy) -> Builder:
    """The proposal a remittance advice makes: each line's invoice, up to what is open."""

    def build(state: CustomerAccount) -> Command | None:
        allocations = []
        evidence = [f"remittance advice {advice.number} announces this payment"]
        for number, amount in advice.lines:
            invoice = state.find_document("invoice", number)
            if invoice is None or not invoice.is_open:
                evidence.append(f"it names {number}, which is not an open invoice")
                continue
            part = min(amount, invoice.open_amount)
            allocations.append(
                ProposedAllocationRequest(transaction_id=invoice.transaction_id, amount=part)
            )
            evidence.append(f"it pays {decimal_text(part)} {advice.currency} of {number}")
        complete = sum((a.amount for a in allocations), Decimal(0)) == advice.total
        return ProposeAllocation(
            company=request.company,
            customer_id=request.customer_id,
            payment_transaction_id=request.payment_transaction_id,
            allocations=tuple(allocations),
            confidence=ADVICE_CONFIDENCE if complete else PARTIAL_ADVICE_CONFIDENCE,
            evidence=tuple(evidence),
            threshold=policy.threshold,
        )

    return build
