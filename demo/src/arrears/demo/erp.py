"""What the ERP posts: invoices on the customer's monthly invoice day (seasonal amounts, VAT
where the country has it), credit notes settled against the invoice they credit, and every
other month an interest note for the chronically late and the non-payers."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arrears.demo.customers import SEASON, Behaviour, CustomerSpec
from arrears.demo.simulation import Day, new_id
from arrears.demo.units import CENT, cents, factor, month_end
from arrears.demo.vocabulary import GOODS, MONTHS
from arrears.ledger.domain import (
    AllocationRequest,
    PostCreditNote,
    PostInterestNote,
    PostInvoice,
    SettleTransactions,
    Transaction,
)
from arrears.shared.events import invoices as iv

POSTING = "erp"
"""Actor of postings from the ERP: invoices, credit and interest notes, payment journals."""


@dataclass(frozen=True)
class PostedInvoice:
    transaction_id: str
    due_date: date
    amount: Decimal


def post_invoices(d: Day) -> Iterator[PostedInvoice]:
    """The day's invoices, one after another (the caller reacts to each before the next)."""
    account = d.account
    if account.on_hold or account.written_off or d.day not in account.invoice_days:
        return
    for _ in range(d.rng.randint(*d.spec.invoices_per_month)):
        yield invoice(d)


def interest_notes(d: Day) -> None:
    """At month end, every other month: interest on the overdue invoices of the chronically
    late and the non-payers (when there is interest to charge)."""
    if d.account.on_hold or d.account.written_off:
        return
    if (
        d.day == month_end(d.day.year, d.day.month)
        and d.day.month % 2 == 0
        and d.spec.behaviour in (Behaviour.CHRONIC_LATE, Behaviour.NON_PAYER)
    ):
        interest_note(d)


def invoice(d: Day, rng: random.Random | None = None) -> PostedInvoice:
    """An invoice of the customer's usual size for this month (drawn from `rng`, by default
    the customer's generator)."""
    spec, sim = d.spec, d.sim
    rng = rng or d.rng
    amount = cents(spec.base_amount * factor(SEASON[d.day.month]) * factor(rng.uniform(0.6, 1.4)))
    changes = d.emit(
        PostInvoice(
            company=d.company,
            customer_id=spec.customer_id,
            document_number=sim.document("INV"),
            posting_date=d.day,
            payment_terms=spec.payment_terms,
            amount=amount,
            currency=spec.currency,
            exchange_rate=d.fx(),
            sales_tax_amount=_vat(spec, amount),
            origin=iv.InvoiceOrigin.SALES_ORDER,
            method_of_payment=spec.method_of_payment,
            description=f"{rng.choice(GOODS)} {MONTHS[d.day.month - 1]} {d.day.year}",
            purchase_order=f"PO-{rng.randint(10000, 99999)}",
            sales_order=sim.document("SO"),
        ),
        POSTING,
    )
    data = changes[0].data
    assert isinstance(data, iv.InvoicePostedData)
    return PostedInvoice(data.transaction_id, data.due_date, amount)


def goodwill_credit(d: Day, txn_id: str) -> None:
    txn = d.open(txn_id)
    if txn is None or txn.collection_status is iv.CollectionStatus.DISPUTED:
        return
    amount = (txn.open_amount * Decimal(d.rng.choice((3, 5, 8))) / 100).quantize(CENT)
    credit_note(d, txn, amount, "GOODWILL", "Goodwill credit for a late delivery")


def credit_note(d: Day, txn: Transaction, amount: Decimal, reason: str, text: str) -> None:
    """A credit note for `amount` against `txn`, settled against it at once."""
    spec = d.spec
    if amount <= 0:
        return
    changes = d.emit(
        PostCreditNote(
            company=d.company,
            customer_id=spec.customer_id,
            document_number=d.sim.document("CN"),
            posting_date=d.day,
            amount=amount,
            currency=txn.currency,
            exchange_rate=d.fx(),
            sales_tax_amount=_vat(spec, amount),
            original_transaction_id=txn.transaction_id,
            reason_code=reason,
            description=f"{text} ({txn.document_number})",
        ),
        POSTING,
    )
    credit = new_id(changes, "transaction_id")
    d.emit(
        SettleTransactions(
            company=d.company,
            customer_id=spec.customer_id,
            paying_transaction_id=credit,
            allocations=(AllocationRequest(transaction_id=txn.transaction_id),),
            settlement_date=d.day,
        ),
        POSTING,
    )


def _vat(spec: CustomerSpec, gross: Decimal) -> Decimal | None:
    """The VAT included in a gross amount, where the customer's country has VAT."""
    if spec.vat_percent is None:
        return None
    return (gross * spec.vat_percent / (100 + spec.vat_percent)).quantize(CENT)


def interest_note(d: Day) -> None:
    counters = d.sim.counters
    number = f"INT-{counters['INT'] + 1:06d}"
    changes = d.emit(
        PostInterestNote(
            company=d.company,
            customer_id=d.spec.customer_id,
            document_number=number,
            interest_code="STD-8",
            posting_date=d.day,
            payment_terms="Net14",
            annual_interest_rate=Decimal("8.0"),
            currency=d.spec.currency,
            exchange_rate=d.fx(),
        ),
        POSTING,
        optional=True,
    )
    if changes:
        counters["INT"] += 1
