"""Facts about one customer, computed in code from the read model and today's date.

A `Fact` has a stable `key`, a typed value (money with its currency, a date, a count, days,
a percentage, or text) and the ids of the events it came from. A `FactSheet` is every fact
about one customer at one ledger position; writers turn it into text and the grounding check
holds every figure of that text against it. Text facts written by people outside the
collections team (customer names, contacts, memos) are marked `untrusted`: writers may
quote them, never follow them.

Keys (one customer):

- `customer.*`: id, name, account status, language, since, collections contact;
- `history.*` (the past year, see `Windows`): invoices paid, paid on time, on-time share,
  average and amount-weighted days late, payments received and their total, returned
  payments, last payment date and amount;
- `debt.*` (from the latest `CustomerAgingChanged`): as-of date, balance, overdue, amount
  per aging period (`debt.period.N.amount`, `debt.period.N.name`);
- `open.*`: open receivables, overdue ones, days the oldest is overdue and its document;
- `credits.*`: open credit notes and unapplied payments;
- `recent.*` (the last six months): invoices posted, their total, how many are still open;
- `invoice.<transaction id>.*`: document, posting and due date, amount, open amount, days
  overdue, status, paid date — for every open receivable and every recent invoice;
- `credit.*`: credit limit and what remains of it;
- `disputes.*`, `promises.*`, `promise.<transaction id>.*`: open disputes, open promises,
  promises kept and broken in the past year;
- `letters.*`: letters in the past year and the last letter;
- `activities.*`, `activity.<activity id>.*`: open collection activities and their memos.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from .history import History, Item, Windows, items, promise_outcomes

FactKind = Literal["money", "date", "count", "days", "percentage", "text"]
FactValue = Decimal | date | int | str
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
ZERO = Decimal(0)
MAX_LISTED_OPEN = 30
"""Open receivables listed one by one (oldest due first); the rest only count."""
MAX_LISTED_RECENT = 12
MAX_LISTED_ACTIVITIES = 3


def money_value(amount: Decimal) -> Decimal:
    """An amount as a fact value: cents, unless it carries finer digits."""
    cents = amount.quantize(CENT)
    return cents if cents == amount else amount.normalize()


@dataclass(frozen=True, slots=True)
class Fact:
    key: str
    kind: FactKind
    value: FactValue
    label: str
    currency: str | None = None
    sources: tuple[str, ...] = ()
    untrusted: bool = False
    """Text written by the customer or an agent: data to quote, never instructions."""

    def as_json(self) -> dict[str, Any]:
        value = self.value
        body: dict[str, Any] = {
            "key": self.key,
            "kind": self.kind,
            "label": self.label,
            "value": value.isoformat() if isinstance(value, date) else value,
        }
        if isinstance(value, Decimal):
            body["value"] = str(value)
        if self.currency is not None:
            body["currency"] = self.currency
        if self.untrusted:
            body["untrusted"] = True
        body["sources"] = list(self.sources)
        return body


@dataclass(frozen=True, slots=True)
class FactSheet:
    """Every fact about one customer, as of a day and a ledger position."""

    company: str
    customer_id: str
    as_of: date
    position: int
    aging_revision: int
    language: str
    """The customer's preferred language (BCP 47), 'en' when unknown."""
    facts: tuple[Fact, ...]
    _index: dict[str, Fact] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {f.key: f for f in self.facts})

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def get(self, key: str) -> Fact | None:
        return self._index.get(key)

    def __getitem__(self, key: str) -> Fact:
        return self._index[key]

    def value(self, key: str) -> Any:
        fact = self._index.get(key)
        return None if fact is None else fact.value

    def group(self, prefix: str) -> dict[str, dict[str, Fact]]:
        """Facts keyed `<prefix><id>.<field>`, as {id: {field: fact}} in sheet order."""
        grouped: dict[str, dict[str, Fact]] = {}
        for fact in self.facts:
            if fact.key.startswith(prefix):
                ident, _, name = fact.key[len(prefix) :].rpartition(".")
                grouped.setdefault(ident, {})[name] = fact
        return grouped

    def with_facts(self, extra: Iterable[Fact]) -> FactSheet:
        return FactSheet(
            self.company,
            self.customer_id,
            self.as_of,
            self.position,
            self.aging_revision,
            self.language,
            (*self.facts, *extra),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "company": self.company,
            "customer_id": self.customer_id,
            "as_of": self.as_of.isoformat(),
            "position": self.position,
            "aging_revision": self.aging_revision,
            "language": self.language,
            "facts": [f.as_json() for f in self.facts],
        }


class _Facts:
    """Collects facts in order; one place for the constructors."""

    def __init__(self) -> None:
        self.facts: list[Fact] = []

    def add(
        self,
        key: str,
        kind: FactKind,
        value: FactValue | None,
        label: str,
        sources: Iterable[str],
        *,
        currency: str | None = None,
        untrusted: bool = False,
    ) -> None:
        if value is None:
            return
        if kind == "money":
            assert isinstance(value, Decimal)
            value = money_value(value)
        self.facts.append(
            Fact(
                key,
                kind,
                value,
                label,
                currency,
                tuple(dict.fromkeys(sources)),
                untrusted,
            )
        )

    def money(
        self, key: str, amount: Decimal | None, currency: str, label: str, sources: Iterable[str]
    ) -> None:
        self.add(key, "money", amount, label, sources, currency=currency)

    def text(
        self, key: str, value: str | None, label: str, sources: Iterable[str], *, untrusted: bool
    ) -> None:
        if value:
            self.add(key, "text", value, label, sources, untrusted=untrusted)


def _share(part: int, whole: int) -> Decimal:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _mean(values: Sequence[Decimal], weights: Sequence[Decimal] | None = None) -> Decimal:
    if weights is None:
        weights = [Decimal(1)] * len(values)
    total = sum(weights, ZERO)
    weighted = sum((v * w for v, w in zip(values, weights, strict=True)), ZERO)
    return (weighted / total).quantize(TENTH, rounding=ROUND_HALF_EVEN)


def _by_currency(items_: Iterable[tuple[str, Decimal, Iterable[str]]]) -> dict[str, Any]:
    totals: dict[str, tuple[Decimal, list[str]]] = {}
    for currency, amount, sources in items_:
        total, seen = totals.get(currency, (ZERO, []))
        totals[currency] = (total + amount, [*seen, *sources])
    return dict(sorted(totals.items()))


DOCUMENT_LABELS = {
    "invoice": "invoice",
    "interest_note": "interest note",
    "fee": "fee",
    "credit_note": "credit note",
    "payment": "payment",
}
FEE_LABELS = {
    "collection_letter": "collection letter fee",
    "interest_note": "interest note fee",
    "nsf": "returned payment fee",
    "late_payment": "late payment fee",
    "other": "fee",
}


def document_of(item: Item) -> str:
    """How a transaction is named to people: its document number; a fee by what it is for
    (the document it was charged with is another transaction's number)."""
    row = item.row
    if row.kind == "fee":
        return FEE_LABELS.get(row.fee_kind or "other", "fee")
    return row.document_number or DOCUMENT_LABELS[row.kind]


def invoice_state(item: Item, today: date) -> str:
    if item.is_open:
        status = item.status_value
        if status == "disputed":
            return "disputed"
        if status == "promised_to_pay" and item.status and item.status.promise_state == "open":
            return "promised"
        return "overdue" if item.days_overdue(today) > 0 else "open"
    if item.paid_on is not None:
        return "paid"
    return "closed"


def compute_facts(history: History, today: date) -> FactSheet:
    """Every fact about the customer as of `today` (pure: same rows and day, same facts)."""
    out = _Facts()
    windows = Windows.ending(today)
    state = items(history)
    customer = history.customer
    accounting = customer.accounting_currency if customer else _accounting_of(history)
    _customer_facts(out, history)
    _history_facts(out, state, history, windows, accounting)
    _debt_facts(out, history)
    _open_facts(out, state, today)
    _recent_facts(out, state, windows, accounting)
    _invoice_facts(out, state, windows, today)
    _credit_facts(out, history)
    _dispute_and_promise_facts(out, state, history, windows)
    _letter_facts(out, history, windows)
    _activity_facts(out, history)
    language = (customer.language if customer and customer.language else "en").lower()
    return FactSheet(
        company=history.company,
        customer_id=history.customer_id,
        as_of=today,
        position=history.position,
        aging_revision=history.aging_revision,
        language=language,
        facts=tuple(out.facts),
    )


def _accounting_of(history: History) -> str:
    if history.aging is not None:
        return history.aging.currency
    for row in history.transactions:
        return row.accounting_currency
    return "USD"


def _customer_facts(out: _Facts, history: History) -> None:
    c = history.customer
    registered = [c.sources.get("registered", "")] if c else []
    out.text("customer.id", history.customer_id, "customer account", registered, untrusted=False)
    if c is None:
        return
    src = c.sources
    out.text(
        "customer.name", c.name, "customer name", [src.get("name", registered[0])], untrusted=True
    )
    out.text(
        "customer.account_status",
        c.account_status,
        "account status",
        [src.get("account_status", registered[0])],
        untrusted=False,
    )
    out.add(
        "customer.since",
        "date",
        c.customer_since or c.registered_on,
        "customer since",
        [src.get("customer_since", registered[0])],
    )
    contact = [src.get("contact", registered[0])]
    out.text(
        "customer.contact_name", c.contact_name, "collections contact", contact, untrusted=True
    )
    out.text(
        "customer.contact_email",
        c.contact_email,
        "collections contact email",
        contact,
        untrusted=True,
    )


def _history_facts(
    out: _Facts, state: list[Item], history: History, windows: Windows, accounting: str
) -> None:
    year = windows.past_year
    out.add("history.window_start", "date", year.start, "first day of the past year", ())
    paid = [
        i for i in state if i.row.kind == "invoice" and i.paid_on is not None and i.paid_on in year
    ]
    paid_sources = [s for i in paid for s in (i.row.event_id, *(a.event_id for a in i.applied))]
    out.add(
        "history.invoices_paid", "count", len(paid), "invoices paid in the past year", paid_sources
    )
    if paid:
        on_time = [i for i in paid if i.paid_on and i.row.due_date and i.paid_on <= i.row.due_date]
        out.add(
            "history.paid_on_time",
            "count",
            len(on_time),
            "invoices paid by their due date in the past year",
            paid_sources,
        )
        out.add(
            "history.on_time_share",
            "percentage",
            _share(len(on_time), len(paid)),
            "share of paid invoices paid by their due date",
            paid_sources,
        )
        late_days = [_late(i.paid_on, i.row.due_date) for i in paid]
        out.add(
            "history.average_days_late",
            "days",
            _mean(late_days),
            "average days after the due date that invoices were paid (0 when on time)",
            paid_sources,
        )
    parts = [
        (a, i)
        for i in state
        if i.row.kind == "invoice"
        for a in i.applied
        if a.by_payment and a.settled_on in year and a.accounting_amount > 0
    ]
    if parts:
        out.add(
            "history.weighted_days_late",
            "days",
            _mean(
                [_late(a.settled_on, i.row.due_date) for a, i in parts],
                [a.accounting_amount for a, _ in parts],
            ),
            "days late of payments, weighted by the amount they settled",
            [s for a, i in parts for s in (a.event_id, i.row.event_id)],
        )
    payments = [i for i in state if i.row.kind == "payment"]
    kept = [p for p in payments if p.returned is None]
    in_year = [p for p in kept if p.row.document_date in year]
    out.add(
        "history.payments",
        "count",
        len(in_year),
        "payments received in the past year (returned ones excluded)",
        [p.row.event_id for p in in_year],
    )
    if in_year:
        out.money(
            "history.received",
            sum((p.row.accounting_amount for p in in_year), ZERO),
            accounting,
            "total of the payments received in the past year",
            [p.row.event_id for p in in_year],
        )
    returned = [p for p in payments if p.returned is not None and p.returned.returned_on in year]
    out.add(
        "history.returned_payments",
        "count",
        len(returned),
        "payments returned unpaid (NSF) in the past year",
        [p.returned.event_id for p in returned if p.returned],
    )
    if kept:
        last = max(kept, key=lambda p: (p.row.document_date, p.row.posting_date, p.transaction_id))
        out.add(
            "history.last_payment_date",
            "date",
            last.row.document_date,
            "last payment received",
            [last.row.event_id],
        )
        out.money(
            "history.last_payment_amount",
            last.row.amount,
            last.row.currency,
            "amount of the last payment",
            [last.row.event_id],
        )


def _late(paid_on: date | None, due: date | None) -> Decimal:
    if paid_on is None or due is None:
        return ZERO
    return Decimal(max(0, (paid_on - due).days))


def _debt_facts(out: _Facts, history: History) -> None:
    aging = history.aging
    if aging is None:
        return
    src = [aging.event_id]
    cur = aging.currency
    out.add("debt.as_of", "date", aging.as_of, "date the balances were aged as of", src)
    out.money("debt.balance", aging.balance, cur, "open balance (negative: in credit)", src)
    out.money("debt.overdue", aging.overdue, cur, "part of the balance past its due date", src)
    for index, period in enumerate(aging.periods):
        out.text(f"debt.period.{index}.name", period.name, "aging period", src, untrusted=False)
        out.money(
            f"debt.period.{index}.amount",
            period.amount,
            cur,
            f"amount in aging period {period.name}"
            + (" (overdue)" if period.overdue else " (not yet due)"),
            src,
        )


def _open_facts(out: _Facts, state: list[Item], today: date) -> None:
    receivable = [i for i in state if i.row.receivable and i.is_open]
    overdue = [i for i in receivable if i.days_overdue(today) > 0]
    out.add(
        "open.receivables",
        "count",
        len(receivable),
        "open invoices, interest notes and fees",
        [s for i in receivable for s in i.sources],
    )
    out.add(
        "open.overdue",
        "count",
        len(overdue),
        "open receivables past their due date",
        [s for i in overdue for s in i.sources],
    )
    if overdue:
        oldest = max(overdue, key=lambda i: (i.days_overdue(today), i.transaction_id))
        out.add(
            "open.oldest_days_overdue",
            "count",
            oldest.days_overdue(today),
            "days the oldest overdue receivable is past due",
            oldest.sources,
        )
        out.text(
            "open.oldest_document",
            document_of(oldest),
            "document of the oldest overdue receivable",
            [oldest.row.event_id],
            untrusted=False,
        )
        out.add(
            "open.oldest_due",
            "date",
            oldest.row.due_date,
            "due date of the oldest overdue receivable",
            [oldest.row.event_id],
        )
    credits = [i for i in state if not i.row.receivable and i.is_open]
    out.add(
        "credits.open",
        "count",
        len(credits),
        "open credit notes and unapplied payments",
        [s for i in credits for s in i.sources],
    )
    for currency, (total, sources) in _by_currency(
        (i.row.currency, i.open_amount, i.sources) for i in credits
    ).items():
        out.money(
            f"credits.amount.{currency}",
            total,
            currency,
            "open credit notes and unapplied payments",
            sources,
        )


def _recent_facts(out: _Facts, state: list[Item], windows: Windows, accounting: str) -> None:
    recent = [
        i
        for i in state
        if i.row.kind == "invoice" and i.row.posting_date in windows.last_six_months
    ]
    out.add("recent.months", "count", 6, "length of the recent window in months", ())
    out.add(
        "recent.window_start",
        "date",
        windows.last_six_months.start,
        "start of the last six months",
        (),
    )
    sources = [i.row.event_id for i in recent]
    out.add(
        "recent.invoices", "count", len(recent), "invoices posted in the last six months", sources
    )
    if recent:
        out.money(
            "recent.amount",
            sum((i.row.accounting_amount for i in recent), ZERO),
            accounting,
            "total of the invoices posted in the last six months",
            sources,
        )
        still_open = [i for i in recent if i.is_open]
        out.add(
            "recent.open",
            "count",
            len(still_open),
            "invoices of the last six months still open",
            [s for i in still_open for s in i.sources],
        )


def listed_items(state: list[Item], windows: Windows) -> list[Item]:
    """The receivables listed one by one: the open ones (oldest due first), then the
    invoices of the last six months that are closed (newest first)."""
    open_ = sorted(
        (i for i in state if i.row.receivable and i.is_open),
        key=lambda i: (i.row.due_date or i.row.posting_date, i.transaction_id),
    )[:MAX_LISTED_OPEN]
    closed = sorted(
        (
            i
            for i in state
            if i.row.kind == "invoice"
            and not i.is_open
            and i.row.posting_date in windows.last_six_months
        ),
        key=lambda i: (i.row.posting_date, i.transaction_id),
        reverse=True,
    )[:MAX_LISTED_RECENT]
    return open_ + closed


def _invoice_facts(out: _Facts, state: list[Item], windows: Windows, today: date) -> None:
    for item in listed_items(state, windows):
        row = item.row
        key = f"invoice.{item.transaction_id}."
        posted = [row.event_id]
        out.text(key + "document", document_of(item), "document", posted, untrusted=False)
        out.text(key + "kind", row.kind, "kind of receivable", posted, untrusted=False)
        out.add(key + "posted", "date", row.posting_date, "posting date", posted)
        out.add(key + "due", "date", row.due_date, "due date", posted)
        out.money(key + "amount", row.amount, row.currency, "original amount", posted)
        out.money(key + "open", item.open_amount, row.currency, "open amount", item.sources)
        days = item.days_overdue(today)
        if days:
            out.add(key + "days_overdue", "count", days, "days past due", item.sources)
        out.text(key + "status", invoice_state(item, today), "state", item.sources, untrusted=False)
        if item.paid_on is not None:
            out.add(
                key + "paid_on",
                "date",
                item.paid_on,
                "date it was paid",
                [a.event_id for a in item.applied],
            )


def _credit_facts(out: _Facts, history: History) -> None:
    aging, customer = history.aging, history.customer
    if aging is not None and aging.credit_limit is not None:
        src = [aging.event_id]
        out.money("credit.limit", aging.credit_limit, aging.currency, "credit limit", src)
        out.money(
            "credit.remaining",
            aging.credit_remaining,
            aging.currency,
            "credit limit minus balance (negative: over the limit)",
            src,
        )
    elif customer is not None and customer.credit_limit is not None:
        out.money(
            "credit.limit",
            customer.credit_limit,
            customer.accounting_currency,
            "credit limit",
            [customer.sources.get("credit_limit", "")],
        )


def _dispute_and_promise_facts(
    out: _Facts, state: list[Item], history: History, windows: Windows
) -> None:
    disputed = [i for i in state if i.is_open and i.row.receivable and i.status_value == "disputed"]
    out.add(
        "disputes.open",
        "count",
        len(disputed),
        "open receivables in dispute",
        [s for i in disputed for s in (*i.sources, i.status.event_id if i.status else "")],
    )
    for currency, (total, sources) in _by_currency(
        (i.row.currency, i.open_amount, i.sources) for i in disputed
    ).items():
        out.money(f"disputes.amount.{currency}", total, currency, "open amount in dispute", sources)
    promised = sorted(
        (
            i
            for i in state
            if i.is_open
            and i.row.receivable
            and i.status is not None
            and i.status.status == "promised_to_pay"
            and i.status.promise_state == "open"
        ),
        key=lambda i: (i.status.promise_date if i.status else None, i.transaction_id),
    )
    out.add(
        "promises.open",
        "count",
        len(promised),
        "open promises to pay",
        [i.status.event_id for i in promised if i.status],
    )
    for item in promised:
        status = item.status
        assert status is not None
        key = f"promise.{item.transaction_id}."
        src = [status.event_id]
        out.text(key + "document", document_of(item), "promised document", src, untrusted=False)
        out.add(key + "date", "date", status.promise_date, "promised payment date", src)
        out.money(
            key + "amount",
            status.promise_amount if status.promise_amount is not None else item.open_amount,
            status.promise_currency or item.row.currency,
            "promised amount (the open amount when the promise named none)",
            src,
        )
    judged = [p for p in promise_outcomes(history.statuses) if p.judged_on in windows.past_year]
    kept = [p for p in judged if p.state == "kept"]
    broken = [p for p in judged if p.state != "kept"]
    out.add(
        "promises.kept",
        "count",
        len(kept),
        "promises kept in the past year",
        [p.event_id for p in kept],
    )
    out.add(
        "promises.broken",
        "count",
        len(broken),
        "promises broken or only partly kept in the past year",
        [p.event_id for p in broken],
    )
    if broken:
        last = broken[-1]
        out.add(
            "promises.last_broken_date",
            "date",
            last.promise_date,
            "payment date of the last broken promise",
            [last.event_id],
        )


def _letter_facts(out: _Facts, history: History, windows: Windows) -> None:
    in_year = [r for r in history.letters if r.posting_date in windows.past_year]
    out.add(
        "letters.past_year",
        "count",
        len(in_year),
        "collection letters in the past year",
        [r.event_id for r in in_year],
    )
    if not history.letters:
        return
    last = max(history.letters, key=lambda r: (r.posting_date, r.level, r.letter_id))
    src = [last.event_id]
    out.add("letters.last_date", "date", last.posting_date, "date of the last letter", src)
    out.add("letters.last_level", "count", last.level, "level of the last letter", src)
    out.text("letters.last_document", last.document_number, "last letter", src, untrusted=False)
    out.money("letters.last_amount", last.amount, last.currency, "amount on the last letter", src)


def _activity_facts(out: _Facts, history: History) -> None:
    open_ = sorted(
        (a for a in history.activities if not a.closed), key=lambda a: (a.start, a.activity_id)
    )
    out.add(
        "activities.open",
        "count",
        len(open_),
        "open collection activities",
        [e for a in open_ for e in a.event_ids],
    )
    for activity in open_[:MAX_LISTED_ACTIVITIES]:
        key = f"activity.{activity.activity_id}."
        src = activity.event_ids
        out.add(key + "due", "date", activity.start.date(), "activity start or due date", src)
        out.text(key + "purpose", activity.purpose, "activity purpose", src, untrusted=True)
        out.text(key + "memo", activity.memo, "activity memo", src, untrusted=True)


def sources_of(facts: Iterable[Fact]) -> list[str]:
    """The distinct event ids behind some facts, in first-seen order."""
    return list(dict.fromkeys(s for f in facts for s in f.sources if s))
