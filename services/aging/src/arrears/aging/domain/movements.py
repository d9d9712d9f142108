"""From ledger events to the facts of the aging read model.

Every function here reads one event (and, for two event types, facts recorded by earlier
events, passed in explicitly as `Lookups`) and returns rows; nothing is looked up behind
the caller's back, so the result of applying an event never depends on which other topics
have been consumed yet. The ledger's interpretation of each event (its `evolve`) is
mirrored, not imported:

- InvoicePosted, CreditNotePosted, PaymentReceived, FeeCharged: the document is a new
  transaction; + its original amount on its posting date.
- InterestNotePosted: the note and its fee, if any; + each on the posting date.
- CollectionLetterPosted: its fee, if any; + the fee on the posting date.
- PaymentSettled: the paying transaction - the total; each settled transaction - its part
  (in its own currency; in accounting currency the allocation less its exchange
  adjustment, i.e. at the transaction's own rate); on the settlement date.
- SettlementReversed: the settlement's movements negated, on the reversal date.
- PaymentReturnedNsf: its NSF fee, if any; the named settlements reopened (each at most
  once, however many events reopen it), then the payment - (returned amount less what was
  written off of it, which leaves it at 0), + the fee; on the posting date.
- TransactionsWrittenOff: each transaction - its amount, on the posting date.
- FeeWaived, FeeReversed / FeeReinstated: the fee - / + the amount, on the posting date.

Collection status (`status_of`) comes from CollectionStatusChanged, PromiseToPayKept and
PromiseToPayBroken; customer attributes (`evolve_customer`) from the customers topic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import fields, replace
from datetime import date
from decimal import Decimal

from arrears.shared.events import customers as cu
from arrears.shared.events import invoices as iv
from arrears.shared.events import payments as pm
from arrears.shared.events.envelope import Event, event_types_of, is_a
from arrears.shared.receivables import posted_documents, profile_updates, status_change

from .errors import MissingFact
from .facts import (
    NO_LOOKUPS,
    Amounts,
    CustomerFacts,
    Lookups,
    Movement,
    MovementCause,
    Needs,
    OpenItemFacts,
    SettledPart,
    SettlementFacts,
    StatusFacts,
    reopen_source,
)

ONE = Decimal(1)


# ---------------------------------------------------------------------------- transactions


def transactions_of(event: Event) -> list[OpenItemFacts]:
    """The transactions an event creates (none for most events): the receivables core's
    `posted_documents`, as the read model's facts."""
    return [
        OpenItemFacts(
            company=event.company,
            customer_id=event.customer_id,
            event_id=str(event.event_id),
            sequence=event.sequence,
            **doc.values_for(OpenItemFacts),
        )
        for doc in posted_documents(event)
    ]


# ---------------------------------------------------------------------------- settlements


def settlement_of(event: Event) -> SettlementFacts | None:
    """The settlement a `PaymentSettled` records (keep it for its reversal), else None."""
    if not is_a(event, pm.PaymentSettled):
        return None
    data = event.data
    parts = []
    for allocation in data.allocations:
        settled = allocation.invoice_currency_amount or allocation.amount
        adjustment = allocation.exchange_adjustment.amount if allocation.exchange_adjustment else 0
        parts.append(
            SettledPart(
                transaction_id=allocation.transaction_id,
                amount=allocation.amount.amount,
                accounting_amount=allocation.accounting_amount.amount,
                settled_amount=settled.amount,
                settled_accounting_amount=allocation.accounting_amount.amount - adjustment,
            )
        )
    return SettlementFacts(
        company=event.company,
        customer_id=event.customer_id,
        settlement_id=data.settlement_id,
        paying_transaction_id=data.paying_transaction_id,
        paying_kind=data.paying_transaction_kind,
        settlement_date=data.settlement_date,
        amount=data.amount.amount,
        accounting_amount=data.accounting_amount.amount,
        parts=tuple(parts),
        event_id=str(event.event_id),
    )


def _settlement_lines(settlement: SettlementFacts) -> list[tuple[str, Amounts]]:
    """(transaction, amounts taken off its open amount) per line of a settlement; line 0 is
    the paying transaction, line i the i-th settled one."""
    lines = [
        (
            settlement.paying_transaction_id,
            Amounts(settlement.accounting_amount, settlement.amount),
        )
    ]
    lines.extend(
        (p.transaction_id, Amounts(p.settled_accounting_amount, p.settled_amount))
        for p in settlement.parts
    )
    return lines


def _reopened(event: Event, settlement: SettlementFacts, on: date) -> list[Movement]:
    return [
        Movement(
            company=event.company,
            customer_id=event.customer_id,
            transaction_id=transaction_id,
            source_id=reopen_source(settlement.settlement_id),
            line=line,
            effective_date=on,
            delta=taken.accounting,
            delta_txn=taken.txn,
            cause="settlement_reopened",
            event_id=str(event.event_id),
            settlement_id=settlement.settlement_id,
        )
        for line, (transaction_id, taken) in enumerate(_settlement_lines(settlement))
    ]


def _settlement(lookups: Lookups, settlement_id: str, event: Event) -> SettlementFacts:
    settlement = lookups.settlements.get(settlement_id)
    if settlement is None:
        raise MissingFact(
            "unknown_settlement",
            f"{event.type} {event.event_id} names settlement {settlement_id}, which is not "
            "recorded",
        )
    return settlement


# ---------------------------------------------------------------------------- movements


def needs(event: Event) -> Needs:
    """What `movements_of(event, lookups)` needs in `lookups` (nothing for most events)."""
    if is_a(event, pm.SettlementReversed):
        return Needs(settlement_ids=(event.data.settlement_id,))
    if is_a(event, pm.PaymentReturnedNsf):
        return Needs(
            settlement_ids=tuple(event.data.reopened_settlement_ids),
            written_off_transaction_ids=(event.data.payment_transaction_id,),
        )
    return Needs()


class _Lines:
    """Collects the movements of one event, numbering them 0, 1, 2 ..."""

    def __init__(self, event: Event) -> None:
        self.event = event
        self.movements: list[Movement] = []

    def add(
        self,
        transaction_id: str,
        on: date,
        accounting: Decimal,
        txn: Decimal,
        cause: MovementCause,
        settlement_id: str | None = None,
    ) -> None:
        self.movements.append(
            Movement(
                company=self.event.company,
                customer_id=self.event.customer_id,
                transaction_id=transaction_id,
                source_id=str(self.event.event_id),
                line=len(self.movements),
                effective_date=on,
                delta=accounting,
                delta_txn=txn,
                cause=cause,
                event_id=str(self.event.event_id),
                settlement_id=settlement_id,
            )
        )

    def posted(self, facts: Iterable[OpenItemFacts]) -> None:
        for f in facts:
            self.add(f.transaction_id, f.posting_date, f.accounting_amount, f.amount, "posted")


def movements_of(event: Event, lookups: Lookups = NO_LOOKUPS) -> list[Movement]:
    """Every dated change of an open amount that `event` implies (see the module table).

    Raises `MissingFact` when a settlement that `needs(event)` names is not in `lookups`.
    """
    data = event.data
    lines = _Lines(event)
    if is_a(event, pm.PaymentSettled):
        on = data.settlement_date
        settlement = settlement_of(event)
        assert settlement is not None
        for transaction_id, taken in _settlement_lines(settlement):
            lines.add(
                transaction_id,
                on,
                -taken.accounting,
                -taken.txn,
                "settled",
                settlement.settlement_id,
            )
        return lines.movements
    if is_a(event, pm.SettlementReversed):
        return _reopened(event, _settlement(lookups, data.settlement_id, event), data.posting_date)
    if is_a(event, pm.PaymentReturnedNsf):
        reopened: list[Movement] = []
        for settlement_id in data.reopened_settlement_ids:
            settlement = _settlement(lookups, settlement_id, event)
            if settlement.paying_transaction_id != data.payment_transaction_id:
                raise MissingFact(
                    "foreign_settlement",
                    f"NSF return of {data.payment_transaction_id} names settlement "
                    f"{settlement_id} of {settlement.paying_transaction_id}",
                )
            reopened.extend(_reopened(event, settlement, data.posting_date))
        written_off = lookups.written_off.get(data.payment_transaction_id, Amounts())
        lines.add(
            data.payment_transaction_id,
            data.posting_date,
            -(data.accounting_amount.amount - written_off.accounting),
            -(data.amount.amount - written_off.txn),
            "payment_returned",
        )
        lines.posted(transactions_of(event))
        return reopened + lines.movements
    if is_a(event, pm.TransactionsWrittenOff):
        for item in data.transactions:
            lines.add(
                item.transaction_id,
                data.posting_date,
                -item.accounting_amount.amount,
                -item.amount.amount,
                "written_off",
            )
        return lines.movements
    adjustment = _FEE_ADJUSTMENTS.get((event.type, event.schema_version))
    if adjustment is not None:
        sign, cause = adjustment
        lines.add(
            data.transaction_id,
            data.posting_date,
            sign * data.accounting_amount.amount,
            sign * data.amount.amount,
            cause,
        )
        return lines.movements
    lines.posted(transactions_of(event))
    return lines.movements


_FEE_ADJUSTMENTS: dict[tuple[str, int], tuple[int, MovementCause]] = {
    event_types_of(iv.FeeWaived): (-1, "fee_waived"),
    event_types_of(iv.FeeReinstated): (1, "fee_reinstated"),
    event_types_of(iv.FeeReversed): (-1, "fee_reversed"),
}


def written_off_total(movements: Iterable[Movement]) -> Amounts:
    """What the `written_off` movements among `movements` took off (positive magnitudes):
    the `Lookups.written_off` entry of their transaction."""
    total = Amounts()
    for m in movements:
        if m.cause == "written_off":
            total = total + (-m.amounts)
    return total


# ---------------------------------------------------------------------------- status


def status_of(event: Event) -> StatusFacts | None:
    """The collection status of a transaction after `event`, if the event sets one (the
    shared rule, `arrears.shared.receivables.status_change`, as this read model keeps it)."""
    change = status_change(event)
    if change is None:
        return None
    return StatusFacts(**{f.name: getattr(change, f.name) for f in fields(StatusFacts)})


def merge_status(current: StatusFacts | None, new: StatusFacts) -> StatusFacts:
    """Status after both facts whatever order they came in: the newer `sequence` wins,
    except the broken-promise count, which only grows (the larger one). Idempotent,
    commutative; in SQL an upsert with `CASE WHEN excluded.sequence > t.sequence` per column
    and `GREATEST` for the count."""
    if current is None:
        return new
    winner = new if new.sequence > current.sequence else current
    count = max(current.broken_promise_count, new.broken_promise_count)
    if winner.broken_promise_count == count:
        return winner
    return replace(winner, broken_promise_count=count)


def status_as_of(history: Iterable[StatusFacts], as_of: date) -> StatusFacts | None:
    """The status of a transaction as of a date, from all of its status facts."""
    status: StatusFacts | None = None
    for fact in history:
        if fact.effective_date <= as_of:
            status = merge_status(status, fact)
    return status


# ---------------------------------------------------------------------------- customers


PROFILE_FIELDS = (
    "name",
    "credit_group",
    "account_status",
    "country",
    "credit_rating",
    "risk_score",
    "customer_since",
    "employee_responsible",
)
"""The profile attributes the aging read model keeps."""


def _profile(current: CustomerFacts, profile: cu.CustomerProfile) -> CustomerFacts:
    changes = profile_updates(profile, PROFILE_FIELDS)
    return replace(current, **changes) if changes else current


def evolve_customer(current: CustomerFacts | None, event: Event) -> CustomerFacts | None:
    """The customer's attributes after an event of the customers topic.

    Other events, and events at or before the sequence already applied (redelivery), leave
    `current` unchanged. Raises `MissingFact` for a change of a customer never registered.
    """
    handler = _CUSTOMER_EVENTS.get((event.type, event.schema_version))
    if handler is None or (current is not None and event.sequence <= current.sequence):
        return current
    if current is None and not is_a(event, cu.CustomerRegistered):
        raise MissingFact(
            "unknown_customer",
            f"{event.type} {event.event_id} for {event.stream}, which is not registered",
        )
    return replace(handler(current, event), sequence=event.sequence)


def _registered(current: CustomerFacts | None, event: Event) -> CustomerFacts:
    data: cu.CustomerRegisteredData = event.data
    facts = CustomerFacts(
        company=event.company,
        customer_id=event.customer_id,
        sequence=event.sequence,
        registered_on=event.occurred_at.date(),
        currency=data.currency,
        accounting_currency=data.accounting_currency,
        credit_limit=data.credit_limit.amount if data.credit_limit else None,
    )
    return _profile(facts, data.profile)


def _profile_changed(current: CustomerFacts | None, event: Event) -> CustomerFacts:
    assert current is not None
    return _profile(current, event.data.changes)


def _credit_limit_changed(current: CustomerFacts | None, event: Event) -> CustomerFacts:
    assert current is not None
    limit = event.data.credit_limit
    return replace(current, credit_limit=limit.amount if limit else None)


_CUSTOMER_EVENTS: dict[tuple[str, int], Callable[[CustomerFacts | None, Event], CustomerFacts]] = {
    event_types_of(cu.CustomerRegistered): _registered,
    event_types_of(cu.CustomerProfileChanged): _profile_changed,
    event_types_of(cu.CreditLimitChanged): _credit_limit_changed,
}
