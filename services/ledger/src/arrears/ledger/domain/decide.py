"""Decisions: what a command means for a customer's account, as events or a refusal.

`decide(state, command, ctx)` validates the command against the current state and returns
the events to record (as `Change`s) or raises a `DomainError`. It never changes `state` and
uses no clock, id generator or I/O except what `ctx` hands it. One small function per
command, dispatched by the command's type.

Business time (`occurred_at`): midnight UTC of the posting or payment date for postings;
`ctx.now` for profile changes, collection status, activities and reprints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from arrears.shared.events import activities as ac
from arrears.shared.events import customers as cu
from arrears.shared.events import invoices as iv
from arrears.shared.events import payments as pm
from arrears.shared.money import Money

from . import commands as c
from . import promises
from .amounts import (
    ZERO,
    accounting_share,
    cents,
    distribute,
    exchange_rate,
    money,
    positive_amount,
    start_of,
    to_accounting,
)
from .context import Change, Context, payload
from .errors import Conflict, NotFound, Rejected
from .letters import plan_letters
from .state import (
    CREDIT_KINDS,
    DOCUMENT_KINDS,
    CustomerAccount,
    Proposal,
    Transaction,
)
from .terms import due_date_from_terms

__all__ = ["Change", "Context", "decide"]

C = TypeVar("C", bound=c.Command)
Handler = Callable[[CustomerAccount, Any, Context], list[Change]]
_HANDLERS: dict[type[c.Command], Handler] = {}


def _handles(
    command: type[C],
) -> Callable[[Callable[[CustomerAccount, C, Context], list[Change]]], Handler]:
    def register(function: Callable[[CustomerAccount, C, Context], list[Change]]) -> Handler:
        _HANDLERS[command] = function
        return function

    return register


def decide(state: CustomerAccount, command: c.Command, ctx: Context) -> list[Change]:
    """The changes `command` makes to the account in `state`, or a `DomainError`."""
    if (command.company, command.customer_id) != (state.company, state.customer_id):
        raise ValueError(
            f"command for {command.company}/{command.customer_id} decided on the state of "
            f"{state.company}/{state.customer_id}"
        )
    if not state.registered and not isinstance(command, c.RegisterCustomer):
        raise NotFound(
            "unknown_customer", f"no customer {command.customer_id} in company {command.company}"
        )
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise TypeError(f"no decision for {type(command).__name__}")
    return handler(state, command, ctx)


# ---------------------------------------------------------------------------- helpers


def _today(ctx: Context) -> date:
    return ctx.now.astimezone(UTC).date()


def _now(ctx: Context) -> datetime:
    return ctx.now.astimezone(UTC)


def _transaction(state: CustomerAccount, transaction_id: str) -> Transaction:
    txn = state.transactions.get(transaction_id)
    if txn is None:
        raise NotFound("unknown_transaction", f"no transaction {transaction_id} on this customer")
    return txn


def _unique_document(state: CustomerAccount, kind: str, number: str | None) -> None:
    if number is not None and state.find_document(kind, number) is not None:
        raise Conflict("duplicate_document", f"{kind.replace('_', ' ')} {number} is already posted")


def _assigned_document(state: CustomerAccount, kind: str, prefix: str) -> str:
    """A document number for a posting given none: the kind's prefix, the customer's account
    and a count of its postings of that kind (PAY-C-1001-0003), never one already used."""
    base = f"{prefix}-{state.customer_id}"[:54]
    count = sum(1 for t in state.transactions.values() if t.kind == kind) + 1
    while state.find_document(kind, number := f"{base}-{count:04d}") is not None:
        count += 1
    return number


def _non_negative(value: Decimal | None, what: str) -> Decimal | None:
    if value is None:
        return None
    if value == 0:
        return ZERO
    return positive_amount(value, what)


@dataclass(frozen=True)
class _Posting:
    amount: Money
    accounting_amount: Money
    exchange_rate: Decimal


def _posting(
    state: CustomerAccount,
    amount: Decimal,
    currency: str | None,
    rate: Decimal | None,
    what: str = "amount",
) -> _Posting:
    """A command's amount in its currency and in the accounting currency."""
    value = positive_amount(amount, what)
    currency = currency or state.currency
    used = exchange_rate(currency, state.accounting_currency, rate, what)
    return _Posting(
        money(value, currency),
        money(to_accounting(value, used, what), state.accounting_currency),
        used,
    )


def _due_date(due: date | None, terms: str | None, document_date: date) -> date:
    if due is None and terms:
        due = due_date_from_terms(terms, document_date)
        if due is None:
            raise Rejected(
                "unknown_payment_terms",
                f"payment terms {terms!r} are not understood; use e.g. 'Net30' or 'EOM+30', "
                "or give a due_date",
            )
    if due is None:
        raise Rejected("due_date_required", "give a due_date or payment_terms")
    if due < document_date:
        raise Rejected("invalid_due_date", f"due date {due} precedes document date {document_date}")
    return due


def _sales_tax(value: Decimal | None, posting: _Posting) -> Money | None:
    tax = _non_negative(value, "sales_tax_amount")
    if tax is None:
        return None
    if tax > posting.amount.amount:
        raise Rejected("invalid_amount", "sales_tax_amount exceeds the amount")
    return money(tax, posting.amount.currency)


# ---------------------------------------------------------------------------- customers


@_handles(c.RegisterCustomer)
def _register(state: CustomerAccount, cmd: c.RegisterCustomer, ctx: Context) -> list[Change]:
    if state.registered:
        raise Conflict(
            "customer_already_registered",
            f"customer {cmd.customer_id} is already registered in {cmd.company}",
        )
    if not (cmd.profile.name or "").strip():
        raise Rejected("name_required", "a new customer needs a profile name")
    limit = _non_negative(cmd.credit_limit, "credit_limit")
    data = payload(
        cu.CustomerRegisteredData,
        profile=cmd.profile,
        currency=cmd.currency,
        accounting_currency=cmd.accounting_currency,
        credit_limit=None if limit is None else money(limit, cmd.accounting_currency),
    )
    return [Change(cu.CustomerRegistered, data, _now(ctx))]


@_handles(c.ChangeCustomerProfile)
def _change_profile(
    state: CustomerAccount, cmd: c.ChangeCustomerProfile, ctx: Context
) -> list[Change]:
    given = {
        name: getattr(cmd.changes, name)
        for name in cu.CustomerProfile.model_fields
        if getattr(cmd.changes, name) is not None
    }
    if not given:
        raise Rejected("nothing_to_change", "the profile change sets no attribute")
    if "name" in given and not given["name"].strip():
        raise Rejected("name_required", "a customer's name cannot be blank")
    changed = {k: v for k, v in given.items() if getattr(state.profile, k) != v}
    if not changed:
        return []
    data = payload(cu.CustomerProfileChangedData, changes=cu.CustomerProfile(**changed))
    return [Change(cu.CustomerProfileChanged, data, _now(ctx))]


@_handles(c.ChangeCreditLimit)
def _change_credit_limit(
    state: CustomerAccount, cmd: c.ChangeCreditLimit, ctx: Context
) -> list[Change]:
    limit = _non_negative(cmd.credit_limit, "credit_limit")
    if limit == state.credit_limit:
        return []
    currency = state.accounting_currency
    data = payload(
        cu.CreditLimitChangedData,
        credit_limit=None if limit is None else money(limit, currency),
        previous=None if state.credit_limit is None else money(state.credit_limit, currency),
        reason=cmd.reason,
    )
    return [Change(cu.CreditLimitChanged, data, _now(ctx))]


# ---------------------------------------------------------------------------- documents


@_handles(c.PostInvoice)
def _post_invoice(state: CustomerAccount, cmd: c.PostInvoice, ctx: Context) -> list[Change]:
    _unique_document(state, "invoice", cmd.document_number)
    posting = _posting(state, cmd.amount, cmd.currency, cmd.exchange_rate)
    document_date = cmd.document_date or cmd.posting_date
    discount = None
    if cmd.cash_discount is not None:
        value = positive_amount(cmd.cash_discount.amount, "cash_discount.amount")
        if value >= posting.amount.amount:
            raise Rejected("invalid_amount", "the cash discount must be less than the amount")
        discount = payload(
            iv.CashDiscount,
            code=cmd.cash_discount.code,
            until=cmd.cash_discount.until,
            amount=money(value, posting.amount.currency),
        )
    data = payload(
        iv.InvoicePostedData,
        transaction_id=ctx.new_id("INV"),
        document_number=cmd.document_number,
        voucher=cmd.voucher,
        origin=cmd.origin,
        posting_date=cmd.posting_date,
        document_date=document_date,
        due_date=_due_date(cmd.due_date, cmd.payment_terms, document_date),
        amount=posting.amount,
        accounting_amount=posting.accounting_amount,
        exchange_rate=posting.exchange_rate,
        sales_tax_amount=_sales_tax(cmd.sales_tax_amount, posting),
        payment_terms=cmd.payment_terms,
        method_of_payment=cmd.method_of_payment,
        cash_discount=discount,
        description=cmd.description,
        customer_reference=cmd.customer_reference,
        purchase_order=cmd.purchase_order,
        sales_order=cmd.sales_order,
    )
    return [Change(iv.InvoicePosted, data, start_of(cmd.posting_date))]


@_handles(c.PostCreditNote)
def _post_credit_note(state: CustomerAccount, cmd: c.PostCreditNote, ctx: Context) -> list[Change]:
    _unique_document(state, "credit_note", cmd.document_number)
    original = None
    if cmd.original_transaction_id is not None:
        original = _transaction(state, cmd.original_transaction_id)
        if original.kind != "invoice":
            raise Rejected(
                "not_an_invoice", f"{original.label} is a {original.kind}, not an invoice"
            )
    posting = _posting(state, cmd.amount, cmd.currency, cmd.exchange_rate)
    data = payload(
        iv.CreditNotePostedData,
        transaction_id=ctx.new_id("CN"),
        document_number=cmd.document_number,
        voucher=cmd.voucher,
        posting_date=cmd.posting_date,
        document_date=cmd.document_date or cmd.posting_date,
        amount=posting.amount,
        accounting_amount=posting.accounting_amount,
        exchange_rate=posting.exchange_rate,
        sales_tax_amount=_sales_tax(cmd.sales_tax_amount, posting),
        original_transaction_id=original.transaction_id if original else None,
        original_document_number=original.document_number if original else None,
        reason_code=cmd.reason_code,
        description=cmd.description,
    )
    return [Change(iv.CreditNotePosted, data, start_of(cmd.posting_date))]


def _interest_base(
    state: CustomerAccount, cmd: c.PostInterestNote, currency: str
) -> list[Transaction]:
    """The invoices an interest note charges: the chosen ones, or every overdue one."""
    if not cmd.transaction_ids:
        return [
            t
            for t in state.transactions.values()
            if t.kind == "invoice"
            and t.currency == currency
            and t.is_overdue(cmd.posting_date)
            and t.collection_status is not iv.CollectionStatus.DISPUTED
        ]
    if len(set(cmd.transaction_ids)) != len(cmd.transaction_ids):
        raise Rejected("duplicate_transaction", "a transaction is listed twice")
    chosen = [_transaction(state, tid) for tid in cmd.transaction_ids]
    for txn in chosen:
        if txn.kind != "invoice":
            raise Rejected("not_an_invoice", f"{txn.label} is a {txn.kind}, not an invoice")
        if txn.currency != currency:
            raise Rejected(
                "currency_mismatch", f"{txn.label} is in {txn.currency}, the note in {currency}"
            )
        if not txn.is_overdue(cmd.posting_date):
            raise Rejected("not_overdue", f"{txn.label} is not overdue on {cmd.posting_date}")
    return chosen


@_handles(c.PostInterestNote)
def _post_interest_note(
    state: CustomerAccount, cmd: c.PostInterestNote, ctx: Context
) -> list[Change]:
    _unique_document(state, "interest_note", cmd.document_number)
    currency = cmd.currency or state.currency
    rate = exchange_rate(currency, state.accounting_currency, cmd.exchange_rate)
    document_date = cmd.document_date or cmd.posting_date
    due_date = _due_date(cmd.due_date, cmd.payment_terms, document_date)
    lines = []
    for txn in _interest_base(state, cmd, currency):
        if txn.due_date is None:
            continue
        start = max(txn.due_date, txn.interest_to_date or txn.due_date) + timedelta(days=1)
        if start > cmd.posting_date:
            continue
        days = (cmd.posting_date - start).days + 1
        interest = cents(txn.open_amount * cmd.annual_interest_rate / 100 * days / 365)
        if interest <= 0:
            continue
        lines.append(
            payload(
                iv.InterestLine,
                transaction_id=txn.transaction_id,
                document_number=txn.document_number,
                from_date=start,
                to_date=cmd.posting_date,
                days=days,
                base_amount=money(txn.open_amount, currency),
                interest_amount=money(interest, currency),
            )
        )
    if not lines:
        raise Rejected(
            "nothing_to_charge", f"no interest is due on {cmd.posting_date} in {currency}"
        )
    total = sum((line.interest_amount.amount for line in lines), ZERO)
    fee = None
    if cmd.fee_amount is not None:
        fee_posting = _posting(state, cmd.fee_amount, currency, cmd.exchange_rate, "fee_amount")
        fee = payload(
            iv.PostedFee,
            transaction_id=ctx.new_id("FEE"),
            amount=fee_posting.amount,
            accounting_amount=fee_posting.accounting_amount,
        )
    data = payload(
        iv.InterestNotePostedData,
        transaction_id=ctx.new_id("INT"),
        document_number=cmd.document_number,
        interest_code=cmd.interest_code,
        posting_date=cmd.posting_date,
        document_date=document_date,
        due_date=due_date,
        amount=money(total, currency),
        accounting_amount=money(to_accounting(total, rate, "interest"), state.accounting_currency),
        exchange_rate=rate,
        fee=fee,
        lines=tuple(lines),
    )
    return [Change(iv.InterestNotePosted, data, start_of(cmd.posting_date))]


# ---------------------------------------------------------------------------- fees


@_handles(c.ChargeFee)
def _charge_fee(state: CustomerAccount, cmd: c.ChargeFee, ctx: Context) -> list[Change]:
    _unique_document(state, "fee", cmd.document_number)
    if cmd.related_transaction_id is not None:
        _transaction(state, cmd.related_transaction_id)
    posting = _posting(state, cmd.amount, cmd.currency, cmd.exchange_rate)
    due = cmd.due_date or cmd.posting_date
    if due < cmd.posting_date:
        raise Rejected("invalid_due_date", f"due date {due} precedes posting date")
    data = payload(
        iv.FeeChargedData,
        transaction_id=ctx.new_id("FEE"),
        document_number=cmd.document_number or _assigned_document(state, "fee", "FEE"),
        kind=cmd.kind,
        posting_date=cmd.posting_date,
        due_date=due,
        amount=posting.amount,
        accounting_amount=posting.accounting_amount,
        exchange_rate=posting.exchange_rate,
        related_transaction_id=cmd.related_transaction_id,
        description=cmd.description,
    )
    return [Change(iv.FeeCharged, data, start_of(cmd.posting_date))]


def _fee(state: CustomerAccount, transaction_id: str) -> Transaction:
    txn = _transaction(state, transaction_id)
    if txn.kind != "fee":
        raise Rejected("not_a_fee", f"{txn.label} is a {txn.kind}, not a fee")
    return txn


def _fee_adjustment(
    state: CustomerAccount,
    cmd: c.WaiveFee | c.ReinstateFee | c.ReverseFee,
    ctx: Context,
    txn: Transaction,
    amount: Decimal,
    accounting: Decimal,
    **extra: Any,
) -> tuple[dict[str, Any], datetime]:
    posting_date = cmd.posting_date or _today(ctx)
    fields = {
        "transaction_id": txn.transaction_id,
        "posting_date": posting_date,
        "amount": money(amount, txn.currency),
        "accounting_amount": money(accounting, state.accounting_currency),
        "reason_code": cmd.reason_code,
        "note": cmd.note,
        **extra,
    }
    return fields, start_of(posting_date)


@_handles(c.WaiveFee)
def _waive_fee(state: CustomerAccount, cmd: c.WaiveFee, ctx: Context) -> list[Change]:
    txn = _fee(state, cmd.transaction_id)
    if txn.fee_state == "waived":
        raise Conflict("fee_already_waived", f"fee {txn.label} is already waived")
    if txn.fee_state == "reversed":
        raise Rejected("fee_reversed", f"fee {txn.label} was reversed")
    if not txn.is_open:
        raise Rejected("fee_not_open", f"fee {txn.label} has nothing open to waive")
    fields, at = _fee_adjustment(state, cmd, ctx, txn, txn.open_amount, txn.open_accounting_amount)
    return [Change(iv.FeeWaived, payload(iv.FeeWaivedData, **fields), at)]


@_handles(c.ReinstateFee)
def _reinstate_fee(state: CustomerAccount, cmd: c.ReinstateFee, ctx: Context) -> list[Change]:
    txn = _fee(state, cmd.transaction_id)
    if txn.fee_state != "waived":
        raise Rejected("fee_not_waived", f"fee {txn.label} is not waived")
    fields, at = _fee_adjustment(
        state, cmd, ctx, txn, txn.waived_amount, txn.waived_accounting_amount
    )
    return [Change(iv.FeeReinstated, payload(iv.FeeReinstatedData, **fields), at)]


@_handles(c.ReverseFee)
def _reverse_fee(state: CustomerAccount, cmd: c.ReverseFee, ctx: Context) -> list[Change]:
    txn = _fee(state, cmd.transaction_id)
    if txn.fee_state == "reversed":
        raise Conflict("fee_already_reversed", f"fee {txn.label} is already reversed")
    if txn.fee_state == "waived":
        raise Rejected("fee_waived", f"fee {txn.label} is waived; reinstate it first")
    if not txn.is_open:
        raise Rejected("fee_not_open", f"fee {txn.label} has nothing open to reverse")
    fields, at = _fee_adjustment(
        state,
        cmd,
        ctx,
        txn,
        txn.open_amount,
        txn.open_accounting_amount,
        reversal_transaction_id=ctx.new_id("REV"),
    )
    return [Change(iv.FeeReversed, payload(iv.FeeReversedData, **fields), at)]


# ---------------------------------------------------------------------------- payments


@_handles(c.ReceivePayment)
def _receive_payment(state: CustomerAccount, cmd: c.ReceivePayment, ctx: Context) -> list[Change]:
    _unique_document(state, "payment", cmd.document_number)
    posting = _posting(state, cmd.amount, cmd.currency, cmd.exchange_rate)
    data = payload(
        pm.PaymentReceivedData,
        transaction_id=ctx.new_id("PAY"),
        document_number=cmd.document_number or _assigned_document(state, "payment", "PAY"),
        payment_date=cmd.payment_date,
        posting_date=cmd.posting_date or cmd.payment_date,
        amount=posting.amount,
        accounting_amount=posting.accounting_amount,
        exchange_rate=posting.exchange_rate,
        method_of_payment=cmd.method_of_payment,
        payment_reference=cmd.payment_reference,
        bank_account=cmd.bank_account,
        remittance_info=cmd.remittance_info,
    )
    return [Change(pm.PaymentReceived, data, start_of(cmd.payment_date))]


def _over(detail: str) -> Rejected:
    return Rejected("over_settlement", detail)


def _settled_parts(
    paying: Transaction, targets: list[Transaction], cmd: c.SettleTransactions
) -> list[tuple[Transaction, Decimal, Decimal]]:
    """(target, amount in the paying currency, amount in the target's currency) each."""
    foreign = {t.currency for t in targets if t.currency != paying.currency}
    rate = cmd.exchange_rate
    if rate is not None and (not rate.is_finite() or rate <= 0):
        raise Rejected("invalid_exchange_rate", f"exchange rate must be positive, got {rate}")
    if len(foreign) > 1:
        raise Rejected(
            "currency_mismatch",
            f"{paying.label} is in {paying.currency}; settle {', '.join(sorted(foreign))} "
            "transactions separately",
        )
    if foreign and rate is None:
        raise Rejected(
            "currency_mismatch",
            f"{paying.label} is in {paying.currency} but {foreign.pop()} transactions are "
            "settled; give an exchange_rate",
        )
    if not foreign and rate is not None and rate != 1:
        raise Rejected(
            "invalid_exchange_rate", "every transaction is in the paying currency; no rate applies"
        )
    remaining = paying.open_amount
    parts = []
    for request, target in zip(cmd.allocations, targets, strict=True):
        same = target.currency == paying.currency
        if request.amount is None:
            if same or rate is None:
                applied = settled = min(target.open_amount, remaining)
            else:
                full = cents(target.open_amount / rate)
                if full <= remaining:
                    applied, settled = full, target.open_amount
                else:
                    applied = remaining
                    settled = min(cents(applied * rate), target.open_amount)
            if settled <= 0 or applied <= 0:
                raise _over(
                    f"{target.label} has nothing open"
                    if target.open_amount <= 0
                    else f"nothing is left on {paying.label} to settle {target.label}"
                )
        else:
            applied = positive_amount(request.amount, f"amount for {target.label}")
            if same or rate is None:
                settled = applied
            elif applied == cents(target.open_amount / rate):
                settled = target.open_amount
            else:
                settled = cents(applied * rate)
            if settled > target.open_amount:
                raise _over(
                    f"{target.label} has {target.open_amount} {target.currency} open; "
                    f"{settled} cannot be settled"
                )
            if settled <= 0:
                raise Rejected("amount_too_small", f"{applied} settles nothing of {target.label}")
            if applied > remaining:
                raise _over(
                    f"{paying.label} has {remaining} {paying.currency} left; "
                    f"{applied} cannot be applied to {target.label}"
                )
        remaining -= applied
        parts.append((target, applied, settled))
    return parts


@_handles(c.SettleTransactions)
def _settle(state: CustomerAccount, cmd: c.SettleTransactions, ctx: Context) -> list[Change]:
    paying = _transaction(state, cmd.paying_transaction_id)
    if paying.kind not in CREDIT_KINDS:
        raise Rejected(
            "not_a_payment_or_credit_note",
            f"{paying.label} is a {paying.kind}; only payments and credit notes settle",
        )
    if paying.cancelled:
        raise Rejected("payment_cancelled", f"payment {paying.label} was returned (NSF)")
    ids = [a.transaction_id for a in cmd.allocations]
    if len(set(ids)) != len(ids):
        raise Rejected("duplicate_allocation", "a transaction is listed twice")
    targets = [_transaction(state, tid) for tid in ids]
    for target in targets:
        if not target.is_receivable:
            raise Rejected(
                "not_a_receivable",
                f"{target.label} is a {target.kind}; only invoices, interest notes and fees "
                "can be settled",
            )
    parts = _settled_parts(paying, targets, cmd)
    accounting = state.accounting_currency
    total = sum((applied for _, applied, _ in parts), ZERO)
    if paying.currency == accounting:
        shares = [applied for _, applied, _ in parts]
    else:
        total_accounting = accounting_share(
            paying.open_amount, paying.open_accounting_amount, total, False
        )
        shares = distribute(total_accounting, [applied for _, applied, _ in parts])
    if any(share <= 0 for share in shares):
        raise Rejected(
            "amount_too_small", "an allocation is worth nothing in the accounting currency"
        )
    allocations = []
    for (target, applied, settled), share in zip(parts, shares, strict=True):
        target_share = accounting_share(
            target.open_amount,
            target.open_accounting_amount,
            settled,
            target.currency == accounting,
        )
        adjustment = share - target_share
        allocations.append(
            payload(
                pm.Allocation,
                transaction_id=target.transaction_id,
                document_number=target.document_number,
                amount=money(applied, paying.currency),
                accounting_amount=money(share, accounting),
                invoice_currency_amount=(
                    None if target.currency == paying.currency else money(settled, target.currency)
                ),
                exchange_adjustment=money(adjustment, accounting) if adjustment else None,
            )
        )
    settlement_id = ctx.new_id("STL")
    settlement_date = cmd.settlement_date or _today(ctx)
    data = payload(
        pm.PaymentSettledData,
        settlement_id=settlement_id,
        paying_transaction_id=paying.transaction_id,
        paying_transaction_kind=paying.kind,
        settlement_date=settlement_date,
        amount=money(total, paying.currency),
        accounting_amount=money(sum(shares, ZERO), accounting),
        exchange_rate=None if paying.currency == accounting else paying.exchange_rate,
        allocations=tuple(allocations),
    )
    changes = [Change(pm.PaymentSettled, data, start_of(settlement_date))]
    for target, _, settled in parts:
        outcome = promises.after_settlement(
            target,
            settlement_id=settlement_id,
            settlement_date=settlement_date,
            settled_amount=settled,
            by_payment=paying.kind == "payment",
            tolerance_days=cmd.promise_tolerance_days,
        )
        if outcome is not None:
            changes.append(outcome)
    return changes


@_handles(c.ReverseSettlement)
def _reverse_settlement(
    state: CustomerAccount, cmd: c.ReverseSettlement, ctx: Context
) -> list[Change]:
    settlement = state.settlements.get(cmd.settlement_id)
    if settlement is None:
        raise NotFound("unknown_settlement", f"no settlement {cmd.settlement_id}")
    if settlement.reversed:
        raise Conflict(
            "settlement_already_reversed", f"settlement {cmd.settlement_id} is already reversed"
        )
    posting_date = cmd.posting_date or _today(ctx)
    if posting_date < settlement.settlement_date:
        raise Rejected(
            "invalid_posting_date",
            f"the reversal date {posting_date} precedes the settlement date "
            f"{settlement.settlement_date}",
        )
    data = payload(
        pm.SettlementReversedData,
        settlement_id=settlement.settlement_id,
        posting_date=posting_date,
        reason=cmd.reason,
        reason_code=cmd.reason_code,
    )
    return [Change(pm.SettlementReversed, data, start_of(posting_date))]


@_handles(c.ReturnPaymentNsf)
def _return_nsf(state: CustomerAccount, cmd: c.ReturnPaymentNsf, ctx: Context) -> list[Change]:
    payment = _transaction(state, cmd.payment_transaction_id)
    if payment.kind != "payment":
        raise Rejected("not_a_payment", f"{payment.label} is a {payment.kind}, not a payment")
    if payment.cancelled:
        raise Conflict("payment_already_returned", f"payment {payment.label} was already returned")
    posting_date = cmd.posting_date or _today(ctx)
    reopened = tuple(
        s.settlement_id
        for s in state.settlements.values()
        if s.paying_transaction_id == payment.transaction_id and not s.reversed
    )
    fee = None
    if cmd.fee_amount is not None:
        rate = cmd.exchange_rate
        if payment.currency != state.accounting_currency and rate is None:
            rate = payment.exchange_rate
        fee_posting = _posting(state, cmd.fee_amount, payment.currency, rate, "fee_amount")
        fee = payload(
            iv.PostedFee,
            transaction_id=ctx.new_id("FEE"),
            amount=fee_posting.amount,
            accounting_amount=fee_posting.accounting_amount,
            document_number=f"{payment.document_number[:60]}-NSF"
            if payment.document_number
            else _assigned_document(state, "fee", "FEE"),
        )
    data = payload(
        pm.PaymentReturnedNsfData,
        payment_transaction_id=payment.transaction_id,
        reversal_transaction_id=ctx.new_id("REV"),
        posting_date=posting_date,
        amount=money(payment.amount, payment.currency),
        accounting_amount=money(payment.accounting_amount, state.accounting_currency),
        reopened_settlement_ids=reopened,
        nsf_fee=fee,
        bank_reason_code=cmd.bank_reason_code,
        note=cmd.note,
    )
    return [Change(pm.PaymentReturnedNsf, data, start_of(posting_date))]


# ---------------------------------------------------------------------------- cash application


def _unapplied_payment(state: CustomerAccount, transaction_id: str) -> Transaction:
    payment = _transaction(state, transaction_id)
    if payment.kind != "payment":
        raise Rejected("not_a_payment", f"{payment.label} is a {payment.kind}, not a payment")
    if payment.cancelled:
        raise Rejected("payment_cancelled", f"payment {payment.label} was returned (NSF)")
    if not payment.is_open:
        raise Conflict("payment_applied", f"nothing of payment {payment.label} is unapplied")
    return payment


@_handles(c.ProposeAllocation)
def _propose(state: CustomerAccount, cmd: c.ProposeAllocation, ctx: Context) -> list[Change]:
    payment = _unapplied_payment(state, cmd.payment_transaction_id)
    allocations = []
    for request in cmd.allocations:
        target = _transaction(state, request.transaction_id)
        if not target.is_receivable or not target.is_open:
            raise Rejected("not_open", f"{target.label} is not an open receivable")
        if target.currency != payment.currency:
            raise Rejected(
                "currency_mismatch", f"{target.label} is in {target.currency}, not in "
                f"{payment.currency}"
            )  # fmt: skip
        if request.amount > target.open_amount:
            raise _over(f"{request.amount} proposed for {target.label}, {target.open_amount} open")
        allocations.append(
            payload(
                pm.ProposedAllocation,
                transaction_id=target.transaction_id,
                document_number=target.document_number,
                amount=money(request.amount, payment.currency),
            )
        )
    applied = sum((r.amount for r in cmd.allocations), ZERO)
    if applied > payment.open_amount:
        raise _over(f"{applied} proposed, {payment.open_amount} unapplied on {payment.label}")
    automatic = bool(allocations) and cmd.confidence >= cmd.threshold
    data = payload(
        pm.PaymentAllocationProposedData,
        proposal_id=ctx.new_id("PRP"),
        payment_transaction_id=payment.transaction_id,
        allocations=tuple(allocations),
        unapplied=money(payment.open_amount - applied, payment.currency),
        confidence=cmd.confidence,
        evidence=cmd.evidence,
        threshold=cmd.threshold,
        disposition="settle_automatically" if automatic else "queued",
    )
    return [Change(pm.PaymentAllocationProposed, data, _now(ctx))]


def _open_proposal(state: CustomerAccount, proposal_id: str) -> Proposal:
    proposal = state.proposals.get(proposal_id)
    if proposal is None:
        raise NotFound("unknown_proposal", f"no proposal {proposal_id} on this customer")
    if proposal.status != "open":
        raise Conflict("proposal_closed", f"proposal {proposal_id} was {proposal.status}")
    return proposal


@_handles(c.AcceptAllocationProposal)
def _accept_proposal(
    state: CustomerAccount, cmd: c.AcceptAllocationProposal, ctx: Context
) -> list[Change]:
    proposal = _open_proposal(state, cmd.proposal_id)
    proposed = tuple(
        c.AllocationRequest(transaction_id=tid, amount=amount)
        for tid, amount in proposal.allocations
    )
    allocations = cmd.allocations or proposed
    if not allocations:
        raise Rejected("nothing_to_settle", "the proposal settles nothing; give allocations")
    settle = c.SettleTransactions(
        company=cmd.company,
        customer_id=cmd.customer_id,
        paying_transaction_id=proposal.payment_transaction_id,
        allocations=allocations,
        settlement_date=cmd.settlement_date,
    )
    changes = _settle(state, settle, ctx)
    settled = changes[0].data
    assert isinstance(settled, pm.PaymentSettledData)
    if cmd.deduction_reason is not None:
        changes += _disputed_deductions(state, cmd, settled, ctx)
    data = payload(
        pm.PaymentAllocationAcceptedData,
        proposal_id=proposal.proposal_id,
        payment_transaction_id=proposal.payment_transaction_id,
        settlement_id=settled.settlement_id,
        edited=allocations != proposed,
        note=cmd.note,
    )
    return [*changes, Change(pm.PaymentAllocationAccepted, data, _now(ctx))]


def _disputed_deductions(
    state: CustomerAccount,
    cmd: c.AcceptAllocationProposal,
    settled: pm.PaymentSettledData,
    ctx: Context,
) -> list[Change]:
    """A dispute, with the deduction reason, of every transaction the settlement leaves
    partly open (one disputed already stays as it is)."""
    changes: list[Change] = []
    for part in settled.allocations:
        target = state.transactions[part.transaction_id]
        paid = part.invoice_currency_amount or part.amount
        if paid.amount >= target.open_amount or target.collection_status is (
            iv.CollectionStatus.DISPUTED
        ):
            continue
        dispute = c.ChangeCollectionStatus(
            company=cmd.company,
            customer_id=cmd.customer_id,
            transaction_id=target.transaction_id,
            status=iv.CollectionStatus.DISPUTED,
            reason_code=cmd.deduction_reason,
            note=cmd.note,
        )
        changes += _change_status(state, dispute, ctx)
    return changes


@_handles(c.RejectAllocationProposal)
def _reject_proposal(
    state: CustomerAccount, cmd: c.RejectAllocationProposal, ctx: Context
) -> list[Change]:
    proposal = _open_proposal(state, cmd.proposal_id)
    data = payload(
        pm.PaymentAllocationRejectedData,
        proposal_id=proposal.proposal_id,
        payment_transaction_id=proposal.payment_transaction_id,
        reason=cmd.reason,
    )
    return [Change(pm.PaymentAllocationRejected, data, _now(ctx))]


# ---------------------------------------------------------------------------- write-off


@dataclass
class _Group:
    """Journal totals of one currency, dimensions and posting profile."""

    debit: Decimal = ZERO
    debit_accounting: Decimal = ZERO
    credit: Decimal = ZERO
    credit_accounting: Decimal = ZERO
    tax: Decimal = ZERO
    tax_accounting: Decimal = ZERO


_GroupKey = tuple[str, tuple[pm.Dimension, ...], str | None]


def _write_off_items(
    state: CustomerAccount, cmd: c.WriteOffTransactions
) -> list[tuple[Transaction, Decimal, tuple[pm.Dimension, ...]]]:
    if not cmd.transactions:
        items = [
            (t, t.open_amount, cmd.dimensions) for t in state.open_transactions() if not t.cancelled
        ]
        if not items:
            raise Rejected("nothing_to_write_off", "the customer has no open transactions")
        return items
    ids = [s.transaction_id for s in cmd.transactions]
    if len(set(ids)) != len(ids):
        raise Rejected("duplicate_transaction", "a transaction is listed twice")
    items = []
    for selection in cmd.transactions:
        txn = _transaction(state, selection.transaction_id)
        if not txn.is_open or txn.cancelled:
            raise Rejected("nothing_to_write_off", f"{txn.label} has nothing open to write off")
        amount = txn.open_amount
        if selection.amount is not None:
            amount = positive_amount(selection.amount, f"amount for {txn.label}")
            if amount > txn.open_amount:
                raise Rejected(
                    "exceeds_open_amount",
                    f"{txn.label} has {txn.open_amount} {txn.currency} open; "
                    f"{amount} cannot be written off",
                )
        dimensions = cmd.dimensions if selection.dimensions is None else selection.dimensions
        items.append((txn, amount, dimensions))
    return items


def _journal_line(
    lines: list[pm.JournalLine],
    currency: str,
    accounting_currency: str,
    account_type: str,
    account: str,
    side: str,
    amount: Decimal,
    accounting: Decimal,
    dimensions: tuple[pm.Dimension, ...],
    posting_profile: str | None,
) -> None:
    """Append one journal line, unless it is zero on both sides."""
    if amount == 0 and accounting == 0:
        return
    if amount <= 0 or accounting <= 0:
        raise Rejected(
            "amount_too_small",
            f"a {currency} journal line would be {amount} but {accounting} {accounting_currency}",
        )
    lines.append(
        payload(
            pm.JournalLine,
            line_number=len(lines) + 1,
            account_type=account_type,
            account=account,
            currency=currency,
            dimensions=dimensions,
            posting_profile=posting_profile,
            side=side,
            amount=money(amount, currency),
            accounting_amount=money(accounting, accounting_currency),
        )
    )


def _journal(
    state: CustomerAccount, cmd: c.WriteOffTransactions, groups: dict[_GroupKey, _Group]
) -> list[pm.JournalLine]:
    """The balanced voucher: per currency, dimensions and posting profile, the customer is
    credited with the receivables written off (the write-off account debited, less sales tax
    on its own line) and debited with the credits written off (the write-off account
    credited)."""
    lines: list[pm.JournalLine] = []
    customer, ledger, tax_account = state.customer_id, cmd.write_off_account, cmd.sales_tax_account
    for (currency, dims, profile), g in groups.items():
        entries: list[tuple[str, str, str, Decimal, Decimal, tuple[pm.Dimension, ...], str | None]]
        entries = [
            ("customer", customer, "credit", g.debit, g.debit_accounting, (), profile),
            (
                "ledger",
                ledger,
                "debit",
                g.debit - g.tax,
                g.debit_accounting - g.tax_accounting,
                dims,
                None,
            ),
            ("customer", customer, "debit", g.credit, g.credit_accounting, (), profile),
            ("ledger", ledger, "credit", g.credit, g.credit_accounting, dims, None),
        ]
        if tax_account is not None:
            entries.insert(
                2, ("sales_tax", tax_account, "debit", g.tax, g.tax_accounting, (), None)
            )
        for entry in entries:
            _journal_line(lines, currency, state.accounting_currency, *entry)
    return lines


@_handles(c.WriteOffTransactions)
def _write_off(state: CustomerAccount, cmd: c.WriteOffTransactions, ctx: Context) -> list[Change]:
    tax_setup = (cmd.sales_tax_code, cmd.sales_tax_percent, cmd.sales_tax_account)
    if any(v is not None for v in tax_setup) and any(v is None for v in tax_setup):
        raise Rejected(
            "incomplete_sales_tax",
            "give sales_tax_code, sales_tax_percent and sales_tax_account together",
        )
    accounting = state.accounting_currency
    posting_date = cmd.posting_date or _today(ctx)
    written: list[pm.WrittenOffTransaction] = []
    taxes: list[pm.SalesTaxLine] = []
    groups: dict[_GroupKey, _Group] = {}
    for txn, amount, dimensions in _write_off_items(state, cmd):
        same = txn.currency == accounting
        share = accounting_share(txn.open_amount, txn.open_accounting_amount, amount, same)
        if share <= 0:
            raise Rejected(
                "amount_too_small", f"{amount} of {txn.label} is nothing in {accounting}"
            )
        written.append(
            payload(
                pm.WrittenOffTransaction,
                transaction_id=txn.transaction_id,
                document_number=txn.document_number,
                amount=money(amount, txn.currency),
                accounting_amount=money(share, accounting),
            )
        )
        group = groups.setdefault((txn.currency, dimensions, cmd.posting_profile), _Group())
        if txn.is_credit:
            group.credit += amount
            group.credit_accounting += share
            continue
        group.debit += amount
        group.debit_accounting += share
        percent = cmd.sales_tax_percent
        if percent is not None and cmd.sales_tax_code is not None and txn.kind == "invoice":
            tax = cents(amount * percent / (100 + percent))
            tax_accounting = tax if same else cents(share * percent / (100 + percent))
            if tax > 0 and tax_accounting > 0:
                taxes.append(
                    payload(
                        pm.SalesTaxLine,
                        transaction_id=txn.transaction_id,
                        sales_tax_code=cmd.sales_tax_code,
                        amount=money(tax, txn.currency),
                        accounting_amount=money(tax_accounting, accounting),
                    )
                )
                group.tax += tax
                group.tax_accounting += tax_accounting
    # what the write-off takes off the balance: the debits written off less the credits
    total = sum((g.debit_accounting - g.credit_accounting for g in groups.values()), ZERO)
    tax_total = sum((t.accounting_amount.amount for t in taxes), ZERO)
    data = payload(
        pm.TransactionsWrittenOffData,
        write_off_id=ctx.new_id("WO"),
        posting_date=posting_date,
        reason_code=cmd.reason_code,
        note=cmd.note,
        transactions=tuple(written),
        accounting_amount=money(total, accounting),
        net_amount=money(total - tax_total, accounting),
        sales_tax_lines=tuple(taxes),
        journal_lines=tuple(_journal(state, cmd, groups)),
    )
    return [Change(pm.TransactionsWrittenOff, data, start_of(posting_date))]


# ---------------------------------------------------------------------------- collections


@_handles(c.ChangeCollectionStatus)
def _change_status(
    state: CustomerAccount, cmd: c.ChangeCollectionStatus, ctx: Context
) -> list[Change]:
    txn = _transaction(state, cmd.transaction_id)
    if not txn.is_receivable:
        raise Rejected(
            "not_a_receivable",
            f"{txn.label} is a {txn.kind}; collection status applies to invoices, interest "
            "notes and fees",
        )
    if not txn.is_open:
        raise Rejected("transaction_not_open", f"{txn.label} has nothing open")
    promise_amount = None
    if cmd.status is iv.CollectionStatus.PROMISED_TO_PAY:
        if cmd.promise_date is None or cmd.promise_amount is None:
            raise Rejected("promise_incomplete", "a promise to pay needs a date and an amount")
        promise_amount = positive_amount(cmd.promise_amount, "promise_amount")
        if promise_amount > txn.open_amount:
            raise Rejected(
                "promise_exceeds_open",
                f"{promise_amount} promised but {txn.label} has {txn.open_amount} open",
            )
        promises.require_promise_date_ahead(cmd.promise_date, _today(ctx))
    elif cmd.promise_date is not None or cmd.promise_amount is not None:
        raise Rejected(
            "promise_not_applicable", "a promise date and amount only go with promised_to_pay"
        )
    elif cmd.status == txn.collection_status:
        raise Rejected("status_unchanged", f"{txn.label} is already {cmd.status.value}")
    data = payload(
        iv.CollectionStatusChangedData,
        transaction_id=txn.transaction_id,
        document_number=txn.document_number,
        status=cmd.status,
        previous_status=txn.collection_status,
        promise_date=cmd.promise_date,
        promise_amount=None if promise_amount is None else money(promise_amount, txn.currency),
        reason_code=cmd.reason_code,
        note=cmd.note,
    )
    return [Change(iv.CollectionStatusChanged, data, _now(ctx))]


@_handles(c.EvaluatePromises)
def _evaluate_promises(
    state: CustomerAccount, cmd: c.EvaluatePromises, ctx: Context
) -> list[Change]:
    return promises.evaluate(state, cmd.as_of, cmd.tolerance_days, _today(ctx))


@_handles(c.CreateCollectionLetter)
def _create_letter(
    state: CustomerAccount, cmd: c.CreateCollectionLetter, ctx: Context
) -> list[Change]:
    sequence = ctx.letter_sequence
    if sequence is None:
        raise Rejected("no_letter_sequence", "no letter sequence was given to apply")
    if sequence.id != cmd.letter_sequence_id:
        raise Rejected(
            "letter_sequence_mismatch",
            f"the command names sequence {cmd.letter_sequence_id}, the setup is {sequence.id}",
        )
    return plan_letters(
        state,
        sequence,
        cmd.as_of,
        new_id=ctx.new_id,
        exchange_rates=cmd.exchange_rates,
        language=cmd.language,
    )


@_handles(c.RequestInvoiceReprint)
def _reprint(state: CustomerAccount, cmd: c.RequestInvoiceReprint, ctx: Context) -> list[Change]:
    txn = _transaction(state, cmd.transaction_id)
    if txn.kind not in DOCUMENT_KINDS or txn.document_number is None:
        raise Rejected(
            "not_a_document",
            f"{txn.label} is a {txn.kind}; only invoices, credit notes and interest notes "
            "can be reprinted",
        )
    data = payload(
        iv.InvoiceReprintRequestedData,
        transaction_id=txn.transaction_id,
        document_number=txn.document_number,
        copy_kind=cmd.copy_kind,
        channel=cmd.channel,
        recipient=cmd.recipient,
        language=cmd.language,
        note=cmd.note,
    )
    return [Change(iv.InvoiceReprintRequested, data, _now(ctx))]


# ---------------------------------------------------------------------------- activities


def _known_transactions(state: CustomerAccount, ids: tuple[str, ...]) -> None:
    for transaction_id in ids:
        _transaction(state, transaction_id)


def _open_activity(state: CustomerAccount, activity_id: str) -> None:
    activity = state.activities.get(activity_id)
    if activity is None:
        raise NotFound("unknown_activity", f"no activity {activity_id}")
    if activity.closed:
        raise Conflict("activity_already_closed", f"activity {activity_id} is already closed")


@_handles(c.CreateActivity)
def _create_activity(state: CustomerAccount, cmd: c.CreateActivity, ctx: Context) -> list[Change]:
    activity_id = cmd.activity_id or ctx.new_id("ACT")
    if activity_id in state.activities:
        raise Conflict("activity_already_exists", f"activity {activity_id} already exists")
    _known_transactions(state, cmd.related_transaction_ids)
    if cmd.end is not None and cmd.end < cmd.start:
        raise Rejected("invalid_period", "the end precedes the start")
    data = payload(
        ac.ActivityCreatedData,
        activity_id=activity_id,
        kind=cmd.kind,
        purpose=cmd.purpose,
        responsible=cmd.responsible,
        category=cmd.category,
        priority=cmd.priority,
        start=cmd.start,
        end=cmd.end,
        memo=cmd.memo,
        related_transaction_ids=cmd.related_transaction_ids,
    )
    return [Change(ac.ActivityCreated, data, _now(ctx))]


@_handles(c.ChangeActivity)
def _change_activity(state: CustomerAccount, cmd: c.ChangeActivity, ctx: Context) -> list[Change]:
    _open_activity(state, cmd.activity_id)
    activity = state.activities[cmd.activity_id]
    given = {
        name: getattr(cmd, name)
        for name in ac.ActivityChanges.model_fields
        if getattr(cmd, name) is not None
    }
    if not given:
        raise Rejected("nothing_to_change", "the activity change sets no attribute")
    changed = {k: v for k, v in given.items() if getattr(activity, k) != v}
    if not changed:
        return []
    if "related_transaction_ids" in changed:
        _known_transactions(state, changed["related_transaction_ids"])
    start = changed.get("start", activity.start)
    end = changed.get("end", activity.end)
    if end is not None and end < start:
        raise Rejected("invalid_period", "the end precedes the start")
    data = payload(
        ac.ActivityChangedData,
        activity_id=cmd.activity_id,
        changes=payload(ac.ActivityChanges, **changed),
    )
    return [Change(ac.ActivityChanged, data, _now(ctx))]


@_handles(c.CloseActivities)
def _close_activities(state: CustomerAccount, cmd: c.CloseActivities, ctx: Context) -> list[Change]:
    if len(set(cmd.activity_ids)) != len(cmd.activity_ids):
        raise Rejected("duplicate_activity", "an activity is listed twice")
    for activity_id in cmd.activity_ids:
        _open_activity(state, activity_id)
    closed_at = (cmd.closed_at or ctx.now).astimezone(UTC)
    return [
        Change(
            ac.ActivityClosed,
            payload(
                ac.ActivityClosedData,
                activity_id=activity_id,
                closed_at=closed_at,
                outcome=cmd.outcome,
                memo=cmd.memo,
            ),
            closed_at,
        )
        for activity_id in cmd.activity_ids
    ]
