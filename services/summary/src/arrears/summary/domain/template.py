"""The built-in deterministic writer: a short, professional English summary from the facts.

No model and no network. Every figure it writes is a fact value, formatted the way the
grounding check reads it back, so its text always passes the check (a property test holds
it to that). Zero amounts and counts are written in words. The wording varies from customer
to customer and from one ledger position to the next: each sentence picks one of a few
phrasings by a hash of the customer, the position and the sentence, so the same facts always
give the same text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from . import formatting as fmt
from .facts import Fact, FactSheet

TEMPLATE_VERSION = "template-summary-1"
LANGUAGE = "en"


class _Pick:
    """Deterministic choice among phrasings, by customer, position and sentence."""

    def __init__(self, sheet: FactSheet) -> None:
        self.seed = f"{sheet.company}/{sheet.customer_id}@{sheet.position}"

    def __call__(self, slot: str, options: Sequence[str]) -> str:
        digest = hashlib.sha256(f"{self.seed}#{slot}".encode()).digest()
        return options[int.from_bytes(digest[:4], "big") % len(options)]


def _money(fact: Fact) -> str:
    return fmt.money_fact(fact, LANGUAGE)


def _date(fact: Fact) -> str:
    assert not isinstance(fact.value, str | int | Decimal)
    return fmt.day(fact.value, LANGUAGE)


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def _who(sheet: FactSheet) -> str:
    name = sheet.value("customer.name")
    return str(name) if name else f"Customer {sheet.customer_id}"


def _debt(sheet: FactSheet, pick: _Pick) -> list[str]:
    balance, overdue, as_of = (sheet.get(k) for k in ("debt.balance", "debt.overdue", "debt.as_of"))
    who = _who(sheet)
    if balance is None or as_of is None or overdue is None:
        return [f"{who} has no aged balance yet; the figures below come from the ledger."]
    when = _date(as_of)
    amount = balance.value
    assert isinstance(amount, Decimal)
    if amount == 0:
        return [
            pick(
                "balance",
                (
                    f"{who} owes nothing as of {when}.",
                    f"As of {when}, {who} has no open balance.",
                ),
            )
        ]
    if amount < 0:
        return [
            pick(
                "balance",
                (
                    f"{who} is in credit by {_money(balance)} as of {when}.",
                    f"As of {when}, {who} has a credit balance of {_money(balance)}.",
                ),
            )
        ]
    overdue_value = overdue.value
    assert isinstance(overdue_value, Decimal)
    if overdue_value <= 0:
        lead = pick(
            "balance",
            (
                f"{who} owes {_money(balance)} as of {when}, none of it overdue.",
                f"As of {when}, {who} has an open balance of {_money(balance)}, "
                "all of it not yet due.",
            ),
        )
        return [lead]
    whole = overdue_value >= amount
    share = "all of it overdue" if whole else f"of which {_money(overdue)} is overdue"
    lead = pick(
        "balance",
        (
            f"{who} owes {_money(balance)} as of {when}, {share}.",
            f"As of {when}, {who} has an open balance of {_money(balance)}; "
            + ("all of it is overdue." if whole else f"{_money(overdue)} of it is overdue."),
            f"{who} has {_money(balance)} outstanding as of {when}, {share}.",
        ),
    )
    sentences = [lead]
    periods = []
    for fields in sheet.group("debt.period.").values():
        name, value = fields.get("name"), fields.get("amount")
        if name is None or value is None:
            continue
        amount_value = value.value
        assert isinstance(amount_value, Decimal)
        if amount_value > 0 and "(overdue)" in value.label:
            periods.append(f"{_money(value)} at {_band(str(name.value))}")
    if len(periods) > 1:
        sentences.append(
            pick(
                "periods",
                (
                    f"By age, the overdue amount splits into {_join(periods)}.",
                    f"Aged by due date: {_join(periods)}.",
                ),
            )
        )
    return sentences


def _band(name: str) -> str:
    """An aging period's name as a phrase: '1-30' -> '1-30 days', 'Over 120' -> 'over 120 days'."""
    phrase = name[0].lower() + name[1:] if name[:1].isupper() and name[1:2].islower() else name
    return phrase + " days" if phrase[-1:].isdigit() else phrase


def _oldest(sheet: FactSheet, pick: _Pick) -> list[str]:
    days, document = sheet.get("open.oldest_days_overdue"), sheet.get("open.oldest_document")
    if days is None or document is None:
        return []
    overdue = sheet.value("open.overdue") or 0
    due_fact = sheet.get("open.oldest_due")
    due = f" (due {_date(due_fact)})" if due_fact is not None else ""
    if overdue == 1:
        return [
            pick(
                "oldest",
                (
                    f"One receivable is overdue: {document.value}{due}, {days.value} days "
                    "past due.",
                    f"{document.value}{due} is the only overdue receivable, {days.value} days "
                    "past due.",
                ),
            )
        ]
    return [
        pick(
            "oldest",
            (
                f"{overdue} receivables are overdue; the oldest, {document.value}{due}, is "
                f"{days.value} days past due.",
                f"{overdue} receivables are overdue, the oldest being {document.value}{due} at "
                f"{days.value} days past due.",
            ),
        )
    ]


def _history(sheet: FactSheet, pick: _Pick) -> list[str]:
    paid = sheet.value("history.invoices_paid") or 0
    sentences = []
    if not paid:
        sentences.append(
            pick(
                "history",
                (
                    "No invoice was paid in the past year.",
                    "The customer has not paid any invoice in the past year.",
                ),
            )
        )
    else:
        on_time = sheet.value("history.paid_on_time") or 0
        share = sheet["history.on_time_share"]
        assert isinstance(share.value, Decimal)
        invoices = _plural(paid, "invoice was", "invoices were")
        if on_time == paid:
            timing = "all of them by the due date" if paid > 1 else "by its due date"
        elif on_time == 0:
            timing = "none of them on time" if paid > 1 else "after its due date"
        else:
            timing = f"{on_time} of them on time ({fmt.percent(share.value, LANGUAGE)})"
        sentences.append(
            pick(
                "history",
                (
                    f"In the past year {paid} {invoices} paid, {timing}.",
                    f"Over the past year the customer paid {paid} "
                    f"{_plural(paid, 'invoice', 'invoices')}, {timing}.",
                ),
            )
        )
        average = sheet.get("history.average_days_late")
        weighted = sheet.get("history.weighted_days_late")
        if average is not None and isinstance(average.value, Decimal) and average.value > 0:
            late = fmt.days(average.value, LANGUAGE)
            extra = ""
            if weighted is not None and isinstance(weighted.value, Decimal) and weighted.value > 0:
                extra = f" ({fmt.days(weighted.value, LANGUAGE)} days weighted by amount)"
            sentences.append(
                pick(
                    "lateness",
                    (
                        f"On average invoices were paid {late} days after the due date{extra}.",
                        f"Payments arrived {late} days late on average{extra}.",
                    ),
                )
            )
    last_date, last_amount = (
        sheet.get("history.last_payment_date"),
        sheet.get("history.last_payment_amount"),
    )
    if last_date is not None and last_amount is not None:
        sentences.append(
            pick(
                "last_payment",
                (
                    f"The last payment, {_money(last_amount)}, was received on {_date(last_date)}.",
                    f"The most recent payment of {_money(last_amount)} arrived on "
                    f"{_date(last_date)}.",
                ),
            )
        )
    elif not sheet.value("history.returned_payments"):
        sentences.append("No payment has been received so far.")
    returned = sheet.value("history.returned_payments") or 0
    if returned:
        sentences.append(
            f"{returned} {_plural(returned, 'payment was', 'payments were')} returned unpaid "
            "by the bank in the past year."
            if returned > 1
            else "One payment was returned unpaid by the bank in the past year."
        )
    return sentences


def _disputes_and_promises(sheet: FactSheet, pick: _Pick) -> list[str]:
    sentences = []
    disputed = sheet.value("disputes.open") or 0
    if disputed:
        amounts = [_money(f) for f in sheet.facts if f.key.startswith("disputes.amount.")]
        what = "receivable is" if disputed == 1 else "receivables are"
        number = "One" if disputed == 1 else str(disputed)
        sentences.append(f"{number} {what} in dispute ({_join(amounts)}).")
    promises = sheet.group("promise.")
    if promises:
        first = next(iter(promises.values()))
        count = len(promises)
        what = f"{_money(first['amount'])} for {first['document'].value}"
        when = _date(first["date"])
        passed = isinstance(first["date"].value, date) and first["date"].value < sheet.as_of
        if passed:
            lead = "A promise to pay" if count == 1 else f"{count} promises to pay are open; one,"
            sentences.append(
                f"{lead} {what} fell due on {when}; the payment has not been confirmed yet."
                if count == 1
                else f"{lead} {what}, fell due on {when} and has not been confirmed yet."
            )
        elif count == 1:
            sentences.append(
                pick(
                    "promise",
                    (
                        f"The customer has promised to pay {what} by {when}.",
                        f"A promise to pay {what} is due on {when}.",
                    ),
                )
            )
        else:
            sentences.append(
                f"{count} promises to pay are open; the next, {what}, is due on {when}."
            )
    broken = sheet.value("promises.broken") or 0
    if broken:
        last = sheet.get("promises.last_broken_date")
        when = ""
        if last is not None:
            when = (
                f"; it was due on {_date(last)}"
                if broken == 1
                else f"; the last one was due on {_date(last)}"
            )
        sentences.append(
            ("One promise to pay was" if broken == 1 else f"{broken} promises to pay were")
            + f" broken in the past year{when}."
        )
    kept = sheet.value("promises.kept") or 0
    if kept and not broken:
        sentences.append(
            "One promise to pay was kept in the past year."
            if kept == 1
            else f"{kept} promises to pay were kept in the past year."
        )
    return sentences


def _letter(sheet: FactSheet, pick: _Pick) -> list[str]:
    when, level = sheet.get("letters.last_date"), sheet.get("letters.last_level")
    amount = sheet.get("letters.last_amount")
    if when is None or level is None or amount is None:
        return []
    return [
        pick(
            "letter",
            (
                f"The last collection letter (level {level.value}) was posted on {_date(when)} "
                f"for {_money(amount)}.",
                f"A level {level.value} collection letter for {_money(amount)} went out on "
                f"{_date(when)}.",
            ),
        )
    ]


def _credit(sheet: FactSheet, pick: _Pick) -> list[str]:
    limit, remaining = sheet.get("credit.limit"), sheet.get("credit.remaining")
    if limit is None:
        return ["No credit limit is set."] if sheet.get("customer.since") else []
    if remaining is None or not isinstance(remaining.value, Decimal):
        return [f"The credit limit is {_money(limit)}."]
    if remaining.value < 0:
        return [f"The balance exceeds the credit limit of {_money(limit)} by {_money(remaining)}."]
    if remaining.value == 0:
        return [f"The credit limit of {_money(limit)} is fully used."]
    return [
        pick(
            "credit",
            (
                f"Of the {_money(limit)} credit limit, {_money(remaining)} remains available.",
                f"The credit limit is {_money(limit)}, with {_money(remaining)} remaining.",
            ),
        )
    ]


def _recent(sheet: FactSheet, pick: _Pick) -> list[str]:
    count = sheet.value("recent.invoices") or 0
    if not count:
        return ["No invoice was posted in the last six months."]
    amount = sheet["recent.amount"]
    still_open = sheet.value("recent.open") or 0
    invoices = _plural(count, "invoice", "invoices")
    tail = (
        "all of them settled"
        if not still_open
        else ("one of them still open" if still_open == 1 else f"{still_open} still open")
    )
    if count == 1:
        tail = "still open" if still_open else "since settled"
    return [
        pick(
            "recent",
            (
                f"In the last six months {count} {invoices} totalling {_money(amount)} "
                f"were posted, {tail}."
                if count > 1
                else f"In the last six months one invoice of {_money(amount)} was posted, {tail}.",
                f"The last six months brought {count} {invoices} worth {_money(amount)}, {tail}."
                if count > 1
                else f"The last six months brought one invoice worth {_money(amount)}, {tail}.",
            ),
        )
    ]


def _credits(sheet: FactSheet) -> list[str]:
    amounts = [_money(f) for f in sheet.facts if f.key.startswith("credits.amount.")]
    count = sheet.value("credits.open") or 0
    if not count or not amounts:
        return []
    what = "credit note or payment" if count == 1 else "credit notes and payments"
    number = "One" if count == 1 else str(count)
    return [f"{number} unapplied {what} ({_join(amounts)}) can be settled against invoices."]


def _activities(sheet: FactSheet) -> list[str]:
    count = sheet.value("activities.open") or 0
    if not count:
        return []
    first = next(iter(sheet.group("activity.").values()), None)
    due = ""
    if first and "due" in first:
        when = first["due"].value
        word = (
            "the earliest dated"
            if isinstance(when, date) and when < sheet.as_of
            else "the next due on"
        )
        due = f", {word} {_date(first['due'])}"
    if count == 1:
        return [f"One collection activity is open{due}."]
    return [f"{count} collection activities are open{due}."]


def write_summary(sheet: FactSheet) -> str:
    """The summary text of a fact sheet (English)."""
    pick = _Pick(sheet)
    debt = _debt(sheet, pick) + _oldest(sheet, pick)
    behaviour = _history(sheet, pick) + _disputes_and_promises(sheet, pick)
    standing = _letter(sheet, pick) + _credit(sheet, pick) + _credits(sheet)
    recent = _recent(sheet, pick) + _activities(sheet)
    order = pick("order", ("debt-first", "history-first"))
    blocks = [debt, behaviour, standing, recent]
    if order == "history-first" and sheet.value("open.overdue"):
        blocks = [debt, standing, behaviour, recent]
    return " ".join(sentence for block in blocks for sentence in block)
