"""Unit tests of the aging service's pure domain, and `Story`: a customer's ledger history
built from the real event classes, with its own independent account of the open amounts.

`Story` plays the ledger: each method checks that the operation is allowed (an operation
that is not is skipped and returns False), emits the event(s) the ledger would emit, and
updates its own naive, mutable state (the oracle) the way the ledger's fold does. Dates
never go backwards, so the oracle's state after the last event of a day is the truth "as of"
that day; `Story.open_as_of` answers from those snapshots.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from arrears.shared.events import customers as cu
from arrears.shared.events import invoices as iv
from arrears.shared.events import letters as lt
from arrears.shared.events import payments as pm
from arrears.shared.events.envelope import Event, Payload, event_types_of
from arrears.shared.money import Money

ACC = "USD"
CENT = Decimal("0.01")
ZERO = Decimal(0)
START = date(2025, 1, 6)
RATE = Decimal("1.1")
TEN_THOUSAND = Decimal(10000)


def D(value: str | int | Decimal) -> Decimal:
    return Decimal(str(value))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def usd(value: Decimal | str | int) -> Money:
    return Money(amount=Decimal(str(value)), currency=ACC)


@dataclass
class Txn:
    """The oracle's view of one transaction."""

    transaction_id: str
    kind: str
    currency: str
    rate: Decimal
    amount: Decimal
    accounting: Decimal
    posting_date: date
    due_date: date | None
    open: Decimal
    open_accounting: Decimal
    fee_state: str | None = None
    waived: tuple[Decimal, Decimal] = (ZERO, ZERO)
    cancelled: bool = False
    status: str = "not_disputed"
    promise: tuple[date, Decimal] | None = None
    broken: int = 0

    @property
    def receivable(self) -> bool:
        return self.kind in ("invoice", "interest_note", "fee")

    @property
    def is_open(self) -> bool:
        return self.open > 0 and self.open_accounting > 0


@dataclass
class Stl:
    settlement_id: str
    paying: str
    date: date
    lines: list[tuple[str, Decimal, Decimal]]
    """(transaction, amount taken, accounting taken); line 0 is the paying transaction."""
    reversed: bool = False


@dataclass
class Story:
    """One customer's history: the events, and the oracle's state after each day."""

    company: str = "usmf"
    customer_id: str = "C-0001"
    day: date = START
    events: list[Event] = field(default_factory=list)
    txns: dict[str, Txn] = field(default_factory=dict)
    settlements: dict[str, Stl] = field(default_factory=dict)
    credit_limit: Decimal | None = None
    snapshots: list[tuple[date, dict[str, tuple[Decimal, Decimal]], dict[str, str]]] = field(
        default_factory=list
    )
    uuid_base: int = 0
    id_prefix: str = ""
    _ids: int = 0

    # ------------------------------------------------------------------ plumbing

    def new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{self.id_prefix}{prefix}-{self._ids:05d}"

    def emit(self, cls: type[Event], data: Payload) -> Event:
        type_name, version = event_types_of(cls)
        sequence = len(self.events) + 1
        at = datetime.combine(self.day, time(0), tzinfo=UTC)
        event = cls(
            type=type_name,
            schema_version=version,
            event_id=uuid.UUID(int=self.uuid_base + sequence),
            company=self.company,
            customer_id=self.customer_id,
            sequence=sequence,
            occurred_at=at,
            recorded_at=at,
            actor="test",
            data=data,
        )
        self.events.append(event)
        self.snapshots.append(
            (
                self.day,
                {t.transaction_id: (t.open_accounting, t.open) for t in self.txns.values()},
                {t.transaction_id: t.status for t in self.txns.values()},
            )
        )
        return event

    def advance(self, days: int) -> Story:
        self.day += timedelta(days=days)
        return self

    def on(self, day: date) -> Story:
        assert day >= self.day, "stories never go back in time"
        self.day = day
        return self

    def money(self, amount: Decimal, currency: str) -> Money:
        return Money(amount=amount, currency=currency)

    def _post(
        self, kind: str, amount: Decimal, currency: str, rate: Decimal, due: date | None
    ) -> Txn:
        accounting = amount if currency == ACC else cents(amount * rate)
        txn = Txn(
            transaction_id=self.new_id(kind[:3].upper()),
            kind=kind,
            currency=currency,
            rate=Decimal(1) if currency == ACC else rate,
            amount=amount,
            accounting=accounting,
            posting_date=self.day,
            due_date=due,
            open=amount,
            open_accounting=accounting,
        )
        self.txns[txn.transaction_id] = txn
        return txn

    # ------------------------------------------------------------------ oracle

    def open_as_of(self, as_of: date) -> dict[str, tuple[Decimal, Decimal]]:
        """(accounting, transaction currency) open amount of every transaction posted on or
        before `as_of`, by the oracle."""
        current: dict[str, tuple[Decimal, Decimal]] = {}
        for day, opens, _ in self.snapshots:
            if day > as_of:
                break
            current = opens
        return current

    def statuses_as_of(self, as_of: date) -> dict[str, str]:
        current: dict[str, str] = {}
        for day, _, statuses in self.snapshots:
            if day > as_of:
                break
            current = statuses
        return current

    @property
    def last_day(self) -> date:
        return self.snapshots[-1][0] if self.snapshots else self.day

    def receivables(self, currency: str | None = None) -> list[Txn]:
        return [
            t
            for t in self.txns.values()
            if t.receivable and t.is_open and (currency is None or t.currency == currency)
        ]

    # ------------------------------------------------------------------ customers

    def register(self, credit_limit: Decimal | None = TEN_THOUSAND, **profile: Any) -> Story:
        self.credit_limit = credit_limit
        fields: dict[str, Any] = {"name": "Contoso", "credit_group": "RETAIL", **profile}
        self.emit(
            cu.CustomerRegistered,
            cu.CustomerRegisteredData(
                profile=cu.CustomerProfile(**fields),
                currency=ACC,
                accounting_currency=ACC,
                credit_limit=None if credit_limit is None else usd(credit_limit),
            ),
        )
        return self

    def change_profile(self, **changes: Any) -> bool:
        self.emit(
            cu.CustomerProfileChanged,
            cu.CustomerProfileChangedData(changes=cu.CustomerProfile(**changes)),
        )
        return True

    def change_credit_limit(self, limit: Decimal | None) -> bool:
        previous = self.credit_limit
        self.credit_limit = limit
        self.emit(
            cu.CreditLimitChanged,
            cu.CreditLimitChangedData(
                credit_limit=None if limit is None else usd(limit),
                previous=None if previous is None else usd(previous),
            ),
        )
        return True

    # ------------------------------------------------------------------ documents

    def invoice(
        self,
        amount: Decimal | str,
        *,
        due_in: int = 30,
        currency: str = ACC,
        rate: Decimal = RATE,
        document_days_before: int = 0,
    ) -> str:
        txn = self._post("invoice", D(amount), currency, rate, self.day + timedelta(days=due_in))
        self.emit(
            iv.InvoicePosted,
            iv.InvoicePostedData(
                transaction_id=txn.transaction_id,
                document_number=f"INV-{txn.transaction_id}",
                posting_date=self.day,
                document_date=self.day - timedelta(days=document_days_before),
                due_date=txn.due_date,
                amount=self.money(txn.amount, currency),
                accounting_amount=usd(txn.accounting),
                exchange_rate=txn.rate,
            ),
        )
        return txn.transaction_id

    def credit_note(
        self, amount: Decimal | str, *, currency: str = ACC, rate: Decimal = RATE
    ) -> str:
        txn = self._post("credit_note", D(amount), currency, rate, None)
        self.emit(
            iv.CreditNotePosted,
            iv.CreditNotePostedData(
                transaction_id=txn.transaction_id,
                document_number=f"CN-{txn.transaction_id}",
                posting_date=self.day,
                document_date=self.day,
                amount=self.money(txn.amount, currency),
                accounting_amount=usd(txn.accounting),
                exchange_rate=txn.rate,
            ),
        )
        return txn.transaction_id

    def payment(
        self,
        amount: Decimal | str,
        *,
        currency: str = ACC,
        rate: Decimal = RATE,
        paid_days_before: int = 0,
    ) -> str:
        txn = self._post("payment", D(amount), currency, rate, None)
        self.emit(
            pm.PaymentReceived,
            pm.PaymentReceivedData(
                transaction_id=txn.transaction_id,
                document_number=f"PAY-{txn.transaction_id}",
                payment_date=self.day - timedelta(days=paid_days_before),
                posting_date=self.day,
                amount=self.money(txn.amount, currency),
                accounting_amount=usd(txn.accounting),
                exchange_rate=txn.rate,
            ),
        )
        return txn.transaction_id

    def fee(self, amount: Decimal | str, *, currency: str = ACC, due_in: int = 0) -> str:
        txn = self._post("fee", D(amount), currency, RATE, self.day + timedelta(days=due_in))
        txn.fee_state = "charged"
        self.emit(
            iv.FeeCharged,
            iv.FeeChargedData(
                transaction_id=txn.transaction_id,
                kind="late_payment",
                posting_date=self.day,
                due_date=txn.due_date,
                amount=self.money(txn.amount, currency),
                accounting_amount=usd(txn.accounting),
                exchange_rate=txn.rate,
            ),
        )
        return txn.transaction_id

    def _posted_fee(self, amount: Decimal, currency: str, due: date) -> iv.PostedFee:
        txn = self._post("fee", amount, currency, RATE, due)
        txn.fee_state = "charged"
        return iv.PostedFee(
            transaction_id=txn.transaction_id,
            amount=self.money(txn.amount, currency),
            accounting_amount=usd(txn.accounting),
        )

    def interest_note(self, on: str, amount: Decimal | str, fee: Decimal | None = None) -> bool:
        base = self.txns.get(on)
        if base is None or not base.receivable:
            return False
        currency, rate = base.currency, RATE
        due = self.day + timedelta(days=14)
        note = self._post("interest_note", D(amount), currency, rate, due)
        posted_fee = None if fee is None else self._posted_fee(fee, currency, due)
        self.emit(
            iv.InterestNotePosted,
            iv.InterestNotePostedData(
                transaction_id=note.transaction_id,
                document_number=f"IN-{note.transaction_id}",
                interest_code="STD",
                posting_date=self.day,
                document_date=self.day,
                due_date=due,
                amount=self.money(note.amount, currency),
                accounting_amount=usd(note.accounting),
                exchange_rate=note.rate,
                fee=posted_fee,
                lines=(
                    iv.InterestLine(
                        transaction_id=base.transaction_id,
                        from_date=self.day - timedelta(days=30),
                        to_date=self.day,
                        days=30,
                        base_amount=self.money(base.open, currency),
                        interest_amount=self.money(note.amount, currency),
                    ),
                ),
            ),
        )
        return True

    def letter(self, transaction_ids: Sequence[str], fee: Decimal | None = None) -> bool:
        chosen = [self.txns[t] for t in dict.fromkeys(transaction_ids) if t in self.txns]
        chosen = [t for t in chosen if t.receivable and t.is_open]
        if not chosen:
            return False
        currency = chosen[0].currency
        chosen = [t for t in chosen if t.currency == currency]
        items = tuple(
            lt.LetterTransaction(
                transaction_id=t.transaction_id,
                document_number=f"DOC-{t.transaction_id}",
                due_date=t.due_date or self.day,
                days_overdue=max(0, (self.day - (t.due_date or self.day)).days),
                amount=self.money(t.open, currency),
                accounting_amount=usd(t.open_accounting),
            )
            for t in chosen
        )
        posted_fee = None if fee is None else self._posted_fee(fee, currency, self.day)
        letter_id = self.new_id("CL")
        self.emit(
            lt.CollectionLetterPosted,
            lt.CollectionLetterPostedData(
                letter_id=letter_id,
                document_number=letter_id,
                letter_sequence_id="STD",
                level=1,
                posting_date=self.day,
                amount=self.money(sum((t.open for t in chosen), ZERO), currency),
                accounting_amount=usd(sum((t.open_accounting for t in chosen), ZERO)),
                fee=posted_fee,
                transactions=items,
            ),
        )
        return True

    # ------------------------------------------------------------------ fees

    def waive(self, fee_id: str) -> bool:
        fee = self.txns.get(fee_id)
        if fee is None or fee.fee_state != "charged" or not fee.is_open:
            return False
        amount, accounting = fee.open, fee.open_accounting
        fee.open, fee.open_accounting = ZERO, ZERO
        fee.fee_state, fee.waived = "waived", (amount, accounting)
        self.emit(iv.FeeWaived, iv.FeeWaivedData(**self._adjustment(fee, amount, accounting)))
        return True

    def reinstate(self, fee_id: str) -> bool:
        fee = self.txns.get(fee_id)
        if fee is None or fee.fee_state != "waived":
            return False
        amount, accounting = fee.waived
        fee.open += amount
        fee.open_accounting += accounting
        fee.fee_state, fee.waived = "charged", (ZERO, ZERO)
        self.emit(
            iv.FeeReinstated, iv.FeeReinstatedData(**self._adjustment(fee, amount, accounting))
        )
        return True

    def reverse_fee(self, fee_id: str) -> bool:
        fee = self.txns.get(fee_id)
        if fee is None or fee.fee_state != "charged" or not fee.is_open:
            return False
        amount, accounting = fee.open, fee.open_accounting
        fee.open, fee.open_accounting = ZERO, ZERO
        fee.fee_state = "reversed"
        self.emit(
            iv.FeeReversed,
            iv.FeeReversedData(
                **self._adjustment(fee, amount, accounting),
                reversal_transaction_id=self.new_id("REV"),
            ),
        )
        return True

    def _adjustment(self, fee: Txn, amount: Decimal, accounting: Decimal) -> dict[str, Any]:
        return {
            "transaction_id": fee.transaction_id,
            "posting_date": self.day,
            "amount": self.money(amount, fee.currency),
            "accounting_amount": usd(accounting),
        }

    # ------------------------------------------------------------------ payments

    def settle(self, paying_id: str, parts: Sequence[tuple[str, Decimal | None]]) -> str | None:
        """Settle `paying_id` against (target, amount or None = all it can) parts, in the
        paying transaction's currency (targets in another currency are skipped)."""
        paying = self.txns.get(paying_id)
        if paying is None or paying.receivable or paying.cancelled or not paying.is_open:
            return None
        remaining, remaining_accounting = paying.open, paying.open_accounting
        allocations: list[pm.Allocation] = []
        lines: list[tuple[Txn, Decimal, Decimal, Decimal]] = []
        for target_id, wanted in dict(parts).items():
            target = self.txns.get(target_id)
            if target is None or not target.receivable or not target.is_open:
                continue
            if target.currency != paying.currency or remaining <= 0:
                continue
            applied = min(wanted if wanted is not None else target.open, target.open, remaining)
            if applied <= 0:
                continue
            share = (
                remaining_accounting
                if applied == remaining
                else cents(remaining_accounting * applied / remaining)
            )
            target_share = (
                target.open_accounting
                if applied == target.open
                else cents(target.open_accounting * applied / target.open)
            )
            if share <= 0 or target_share <= 0:
                continue
            remaining -= applied
            remaining_accounting -= share
            adjustment = share - target_share
            allocations.append(
                pm.Allocation(
                    transaction_id=target.transaction_id,
                    amount=self.money(applied, paying.currency),
                    accounting_amount=usd(share),
                    exchange_adjustment=usd(adjustment) if adjustment else None,
                )
            )
            lines.append((target, applied, share, target_share))
        if not allocations:
            return None
        total = sum((a for _, a, _, _ in lines), ZERO)
        total_accounting = sum((s for _, _, s, _ in lines), ZERO)
        settlement_id = self.new_id("STL")
        paying.open -= total
        paying.open_accounting -= total_accounting
        for target, applied, _, target_share in lines:
            target.open -= applied
            target.open_accounting -= target_share
        self.settlements[settlement_id] = Stl(
            settlement_id,
            paying_id,
            self.day,
            [(paying_id, total, total_accounting)]
            + [(t.transaction_id, a, ts) for t, a, _, ts in lines],
        )
        self.emit(
            pm.PaymentSettled,
            pm.PaymentSettledData(
                settlement_id=settlement_id,
                paying_transaction_id=paying_id,
                paying_transaction_kind="payment" if paying.kind == "payment" else "credit_note",
                settlement_date=self.day,
                amount=self.money(total, paying.currency),
                accounting_amount=usd(total_accounting),
                exchange_rate=None if paying.currency == ACC else paying.rate,
                allocations=tuple(allocations),
            ),
        )
        return settlement_id

    def _reopen(self, stl: Stl) -> None:
        for transaction_id, amount, accounting in stl.lines:
            txn = self.txns[transaction_id]
            txn.open += amount
            txn.open_accounting += accounting
        stl.reversed = True

    def reverse(self, settlement_id: str) -> bool:
        stl = self.settlements.get(settlement_id)
        if stl is None or stl.reversed:
            return False
        self._reopen(stl)
        self.emit(
            pm.SettlementReversed,
            pm.SettlementReversedData(
                settlement_id=settlement_id, posting_date=self.day, reason="test"
            ),
        )
        return True

    def nsf(
        self, payment_id: str, fee: Decimal | None = None, *, name_reversed: bool = False
    ) -> bool:
        """Return a payment; `name_reversed` also lists settlements already reversed (as the
        contract's sample story does), which must not reopen twice."""
        payment = self.txns.get(payment_id)
        if payment is None or payment.kind != "payment" or payment.cancelled:
            return False
        mine = [s for s in self.settlements.values() if s.paying == payment_id]
        named = tuple(s.settlement_id for s in mine if name_reversed or not s.reversed)
        for stl in mine:
            if not stl.reversed:
                self._reopen(stl)
        payment.open, payment.open_accounting = ZERO, ZERO
        payment.cancelled = True
        posted_fee = None
        if fee is not None:
            posted_fee = self._posted_fee(fee, payment.currency, self.day)
        self.emit(
            pm.PaymentReturnedNsf,
            pm.PaymentReturnedNsfData(
                payment_transaction_id=payment_id,
                reversal_transaction_id=self.new_id("REV"),
                posting_date=self.day,
                amount=self.money(payment.amount, payment.currency),
                accounting_amount=usd(payment.accounting),
                reopened_settlement_ids=named,
                nsf_fee=posted_fee,
            ),
        )
        return True

    def write_off(self, parts: Sequence[tuple[str, Decimal | None]]) -> bool:
        """Write off (transaction, amount or None = all open) parts."""
        items = []
        for transaction_id, wanted in dict(parts).items():
            txn = self.txns.get(transaction_id)
            if txn is None or txn.cancelled or not txn.is_open:
                continue
            amount = txn.open if wanted is None else min(wanted, txn.open)
            if amount <= 0:
                continue
            share = (
                txn.open_accounting
                if amount == txn.open
                else cents(txn.open_accounting * amount / txn.open)
            )
            if share <= 0:
                continue
            items.append((txn, amount, share))
        if not items:
            return False
        for txn, amount, share in items:
            txn.open -= amount
            txn.open_accounting -= share
        total = sum((s for _, _, s in items), ZERO)
        self.emit(
            pm.TransactionsWrittenOff,
            pm.TransactionsWrittenOffData(
                write_off_id=self.new_id("WO"),
                posting_date=self.day,
                reason_code="BADDEBT",
                transactions=tuple(
                    pm.WrittenOffTransaction(
                        transaction_id=t.transaction_id,
                        amount=self.money(a, t.currency),
                        accounting_amount=usd(s),
                    )
                    for t, a, s in items
                ),
                accounting_amount=usd(total),
                net_amount=usd(total),
                journal_lines=(
                    pm.JournalLine(
                        line_number=1,
                        account_type="customer",
                        account=self.customer_id,
                        currency=ACC,
                        side="credit",
                        amount=usd(total),
                        accounting_amount=usd(total),
                    ),
                    pm.JournalLine(
                        line_number=2,
                        account_type="ledger",
                        account="618900",
                        currency=ACC,
                        side="debit",
                        amount=usd(total),
                        accounting_amount=usd(total),
                    ),
                ),
            ),
        )
        return True

    # ------------------------------------------------------------------ status

    def set_status(
        self,
        transaction_id: str,
        status: str,
        *,
        promise_in: int = 10,
        promise_amount: Decimal | None = None,
    ) -> bool:
        txn = self.txns.get(transaction_id)
        if txn is None or not txn.receivable or not txn.is_open:
            return False
        promised = status == "promised_to_pay"
        if not promised and status == txn.status:
            return False
        amount = None
        if promised:
            amount = min(promise_amount or txn.open, txn.open)
            txn.promise = (self.day + timedelta(days=promise_in), amount)
        else:
            txn.promise = None
        previous, txn.status = txn.status, status
        self.emit(
            iv.CollectionStatusChanged,
            iv.CollectionStatusChangedData(
                transaction_id=transaction_id,
                status=iv.CollectionStatus(status),
                previous_status=iv.CollectionStatus(previous),
                promise_date=txn.promise[0] if txn.promise else None,
                promise_amount=None if amount is None else self.money(amount, txn.currency),
            ),
        )
        return True

    def judge_promise(self, transaction_id: str, kept: bool) -> bool:
        txn = self.txns.get(transaction_id)
        if txn is None or txn.promise is None:
            return False
        promise_date, amount = txn.promise
        txn.promise = None
        promised = self.money(amount, txn.currency)
        if kept:
            txn.status = "resolved"
            self.emit(
                iv.PromiseToPayKept,
                iv.PromiseToPayKeptData(
                    transaction_id=transaction_id,
                    promise_date=promise_date,
                    tolerance_days=0,
                    promised_amount=promised,
                    paid_amount=promised,
                    kept_on=promise_date,
                    status=iv.CollectionStatus.RESOLVED,
                ),
            )
        else:
            txn.status = "not_disputed"
            txn.broken += 1
            self.emit(
                iv.PromiseToPayBroken,
                iv.PromiseToPayBrokenData(
                    transaction_id=transaction_id,
                    outcome="broken",
                    promise_date=promise_date,
                    tolerance_days=0,
                    promised_amount=promised,
                    paid_amount=self.money(ZERO, txn.currency),
                    judged_on=max(self.day, promise_date + timedelta(days=1)),
                    broken_promise_count=txn.broken,
                    status=iv.CollectionStatus.NOT_DISPUTED,
                ),
            )
        return True


# ---------------------------------------------------------------------------- random stories


def _pick(items: Sequence[str], position: int) -> str | None:
    return items[position % len(items)] if items else None


def _part(open_amount: Decimal, fraction: Decimal | None) -> Decimal | None:
    if fraction is None:
        return None
    return max(CENT, cents(open_amount * fraction))


RATES = (D("1.0823"), D("0.9"), D("1.5"))


def play(story: Story, operation: tuple[Any, ...]) -> bool:
    """Apply one generated operation (see `tests.unit.aging.test_properties.OPERATIONS`) to a
    story; operations that do not fit the story's state are skipped (False)."""
    kind, advance, *args = operation
    story.advance(advance)
    ids = list(story.txns)
    if kind in ("invoice", "credit_note", "payment"):
        amount, currency, rate, extra = args
        if kind == "invoice":
            story.invoice(amount, due_in=extra, currency=currency, rate=rate)
        elif kind == "credit_note":
            story.credit_note(amount, currency=currency, rate=rate)
        else:
            story.payment(amount, currency=currency, rate=rate, paid_days_before=extra % 3)
        return True
    if kind == "fee":
        amount, currency, due_in = args
        story.fee(amount, currency=currency, due_in=due_in)
        return True
    if kind == "interest":
        position, amount, fee = args
        target = _pick([t.transaction_id for t in story.receivables()], position)
        return target is not None and story.interest_note(target, amount, fee)
    if kind == "settle":
        position, parts = args
        credits = [t for t in story.txns.values() if not t.receivable and t.is_open]
        paying = _pick([t.transaction_id for t in credits if not t.cancelled], position)
        if paying is None:
            return False
        currency = story.txns[paying].currency
        targets = [t.transaction_id for t in story.receivables(currency)]
        chosen = []
        for target_position, fraction in parts:
            target = _pick(targets, target_position)
            if target is not None:
                chosen.append((target, _part(story.txns[target].open, fraction)))
        return story.settle(paying, chosen) is not None
    if kind == "reverse":
        (position,) = args
        live = [s.settlement_id for s in story.settlements.values() if not s.reversed]
        settlement = _pick(live, position)
        return settlement is not None and story.reverse(settlement)
    if kind == "nsf":
        position, fee, name_reversed = args
        payments = [
            t.transaction_id for t in story.txns.values() if t.kind == "payment" and not t.cancelled
        ]
        payment = _pick(payments, position)
        return payment is not None and story.nsf(payment, fee, name_reversed=name_reversed)
    if kind == "write_off":
        (parts,) = args
        open_ids = [t.transaction_id for t in story.txns.values() if t.is_open]
        chosen = []
        for position, fraction in parts:
            target = _pick(open_ids, position)
            if target is not None:
                chosen.append((target, _part(story.txns[target].open, fraction)))
        return story.write_off(chosen)
    if kind == "fee_action":
        action, position = args
        fees = [t for t in ids if story.txns[t].kind == "fee"]
        fee_id = _pick(fees, position)
        if fee_id is None:
            return False
        return {"waive": story.waive, "reinstate": story.reinstate, "reverse": story.reverse_fee}[
            action
        ](fee_id)
    if kind == "status":
        position, status, fraction = args
        target = _pick([t.transaction_id for t in story.receivables()], position)
        if target is None:
            return False
        amount = _part(story.txns[target].open, fraction)
        return story.set_status(target, status, promise_amount=amount)
    if kind == "judge":
        position, kept = args
        promised = [t.transaction_id for t in story.txns.values() if t.promise is not None]
        target = _pick(promised, position)
        return target is not None and story.judge_promise(target, kept)
    if kind == "letter":
        positions, fee = args
        receivables = [t.transaction_id for t in story.receivables()]
        listed = [p for p in (_pick(receivables, i) for i in positions) if p is not None]
        return story.letter(listed, fee)
    if kind == "profile":
        group, status = args
        return story.change_profile(credit_group=group, account_status=status)
    if kind == "limit":
        (limit,) = args
        return story.change_credit_limit(limit)
    raise AssertionError(f"unknown operation {kind}")


def arrivals(events: Sequence[Event], seed: int, *, redeliver: float = 0.0) -> list[Event]:
    """The events as a consumer may see them: in order within each topic, interleaved at
    random across topics, and with ranges of a topic redelivered (as after a consumer
    restart) with probability `redeliver` after each message."""
    rng = random.Random(seed)
    topics: dict[str, list[Event]] = {}
    for event in events:
        topics.setdefault(event.topic.name, []).append(event)
    positions = dict.fromkeys(topics, 0)
    out: list[Event] = []
    while any(positions[t] < len(topics[t]) for t in topics):
        topic = rng.choice([t for t in topics if positions[t] < len(topics[t])])
        out.append(topics[topic][positions[topic]])
        positions[topic] += 1
        if redeliver and rng.random() < redeliver:
            start = rng.randrange(positions[topic])
            out.extend(topics[topic][start : positions[topic]])
    return out


def topic_orders(events: Iterable[Event]) -> dict[str, list[str]]:
    """Event ids per topic, in order (to check that `arrivals` kept each topic's order)."""
    orders: dict[str, list[str]] = {}
    for event in events:
        orders.setdefault(event.topic.name, []).append(str(event.event_id))
    return orders
