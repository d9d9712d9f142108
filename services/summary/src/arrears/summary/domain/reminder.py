"""Reminder-email drafts: which invoices, which tone, which language, and the text.

A draft lists the customer's overdue receivables that are not in dispute (document, due date,
open amount in the document's currency) and their total per currency, addressed to the
collections contact. The tone follows how overdue the customer is and whether promises were
broken:

- `final` when the oldest listed item is more than 60 days past due, or two or more promises
  to pay were broken in the past year;
- `firm` when it is more than 30 days past due, or one promise was broken;
- `friendly` otherwise.

The language is the customer's preferred language when it is supported (English, German),
English otherwise. The text is written from the facts by a template, so every figure in it is
a fact (the totals are added to the facts of the draft) and it passes the grounding check.
The draft is a suggestion: nothing is sent from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from . import formatting as fmt
from .facts import Fact, FactSheet, sources_of

REMINDER_VERSION = "template-reminder-1"
Tone = Literal["friendly", "firm", "final"]
ZERO = Decimal(0)


class ReminderRefused(Exception):
    """A draft cannot be written for this customer (answered 422 with `code`)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Line:
    transaction_id: str
    kind: str
    document: Fact
    due: Fact
    open: Fact
    days_overdue: Fact


@dataclass(frozen=True, slots=True)
class Draft:
    recipient_name: str | None
    recipient_email: str
    subject: str
    body: str
    language: str
    tone: Tone
    transaction_ids: tuple[str, ...]
    facts: FactSheet
    """The customer's facts plus the totals the draft states."""


def overdue_lines(sheet: FactSheet) -> list[Line]:
    """Overdue receivables not in dispute, oldest due first."""
    lines = []
    for transaction_id, fields in sheet.group("invoice.").items():
        status = fields.get("status")
        if status is None or status.value == "disputed" or "days_overdue" not in fields:
            continue
        lines.append(
            Line(
                transaction_id,
                str(fields["kind"].value) if "kind" in fields else "invoice",
                fields["document"],
                fields["due"],
                fields["open"],
                fields["days_overdue"],
            )
        )
    return sorted(
        lines, key=lambda line: (line.due.value, str(line.document.value), line.transaction_id)
    )


def tone_for(max_days_overdue: int, broken_promises: int) -> Tone:
    if max_days_overdue > 60 or broken_promises >= 2:
        return "final"
    if max_days_overdue > 30 or broken_promises >= 1:
        return "firm"
    return "friendly"


def _totals(lines: Sequence[Line]) -> list[Fact]:
    """The figures a draft states beyond the listed items: how many, and their total per
    currency."""
    count = Fact(
        "reminder.items",
        "count",
        len(lines),
        "overdue items in the reminder",
        sources=tuple(sources_of(line.open for line in lines)),
    )
    totals: dict[str, tuple[Decimal, list[Fact]]] = {}
    for line in lines:
        currency = line.open.currency or ""
        amount, facts = totals.get(currency, (ZERO, []))
        assert isinstance(line.open.value, Decimal)
        totals[currency] = (amount + line.open.value, [*facts, line.open])
    return [count] + [
        Fact(
            f"reminder.total.{currency}",
            "money",
            amount,
            "total of the overdue items in the reminder",
            currency,
            tuple(sources_of(facts)),
        )
        for currency, (amount, facts) in sorted(totals.items())
    ]


def draft_reminder(sheet: FactSheet, *, language: str | None = None) -> Draft:
    """The reminder draft for a customer (raises `ReminderRefused` when there is none)."""
    email = sheet.value("customer.contact_email")
    if not email:
        raise ReminderRefused(
            "no_collections_contact",
            f"customer {sheet.customer_id} has no collections contact with an email address",
        )
    lines = overdue_lines(sheet)
    if not lines:
        raise ReminderRefused(
            "nothing_overdue", f"customer {sheet.customer_id} has no overdue, undisputed items"
        )
    lang = fmt.language_of(language or sheet.language)
    stated = _totals(lines)
    totals = [f for f in stated if f.kind == "money"]
    facts = sheet.with_facts(stated)
    oldest = max(_int(line.days_overdue) for line in lines)
    broken = int(sheet.value("promises.broken") or 0)
    tone = tone_for(oldest, broken)
    name = sheet.value("customer.contact_name")
    phrases = _GERMAN if lang == "de" else _ENGLISH
    subject, body = _compose(phrases, tone, name, lines, totals, facts)
    return Draft(
        recipient_name=name,
        recipient_email=str(email),
        subject=subject,
        body=body,
        language=lang,
        tone=tone,
        transaction_ids=tuple(line.transaction_id for line in lines),
        facts=facts,
    )


def _int(fact: Fact) -> int:
    assert isinstance(fact.value, int)
    return fact.value


def _money(fact: Fact, lang: str) -> str:
    return fmt.money_fact(fact, lang)


def _day(fact: Fact, lang: str) -> str:
    assert isinstance(fact.value, date)
    return fmt.day(fact.value, lang)


def _table(lines: Sequence[Line], p: _Phrases) -> str:
    names = [p.labels.get(str(line.document.value), str(line.document.value)) for line in lines]
    width = max(len(name) for name in names)
    return "\n".join(
        f"  {name:<{width}}  {p.due_word} {_day(line.due, p.lang)}  {_money(line.open, p.lang)}"
        for name, line in zip(names, lines, strict=True)
    )


@dataclass(frozen=True, slots=True)
class _Phrases:
    """The wording of a reminder in one language; `{what}`, `{amount}`, `{name}`, `{items}`,
    `{total}` and `{date}` are filled in by `_compose`."""

    lang: str
    subject: dict[str, str]
    one: tuple[str, str]
    """One listed item in the subject: (an invoice, any other item)."""
    many: tuple[str, str]
    """Several listed items in the subject: (invoices, items)."""
    nouns: tuple[tuple[str, str], tuple[str, str]]
    """The items in the opening: ((invoice, item), (invoices, items))."""
    labels: dict[str, str]
    """Names of fees (a fee is listed by what it is for) in this language."""
    greeting: str
    anonymous_greeting: str
    opening: dict[str, str]
    these: tuple[str, str]
    """Subject of the opening sentence: (one item, several items)."""
    due_word: str
    total: str
    and_word: str
    broken_promise: str
    request: dict[str, str]
    sign_off: str


def _compose(
    p: _Phrases,
    tone: Tone,
    name: str | None,
    lines: Sequence[Line],
    totals: Sequence[Fact],
    facts: FactSheet,
) -> tuple[str, str]:
    invoices = 0 if all(line.kind == "invoice" for line in lines) else 1
    amount = " + ".join(_money(t, p.lang) for t in totals)
    if len(lines) == 1:
        what = f"{p.one[invoices]} {lines[0].document.value}"
    else:
        what = f"{len(lines)} {p.many[invoices]}"
    subject = p.subject[tone].format(what=what, amount=amount)
    several = len(lines) > 1
    items = p.these[several].format(noun=p.nouns[several][invoices])
    paragraphs = [
        p.greeting.format(name=name) if name else p.anonymous_greeting,
        p.opening[tone].format(items=items),
        _table(lines, p),
        p.total.format(total=f" {p.and_word} ".join(_money(t, p.lang) for t in totals)),
    ]
    broken = facts.get("promises.last_broken_date")
    if tone != "friendly" and broken is not None:
        paragraphs.append(p.broken_promise.format(date=_day(broken, p.lang)))
    paragraphs += [p.request[tone], p.sign_off]
    return subject, "\n\n".join(paragraphs) + "\n"


_ENGLISH = _Phrases(
    lang="en",
    subject={
        "friendly": "Payment reminder: {what} ({amount})",
        "firm": "Second reminder: {what} ({amount})",
        "final": "Final reminder: {what} ({amount})",
    },
    one=("invoice", "item"),
    many=("overdue invoices", "overdue items"),
    nouns=(("invoice", "item"), ("invoices", "items")),
    labels={},
    greeting="Dear {name},",
    anonymous_greeting="Dear Sir or Madam,",
    opening={
        "friendly": "According to our records, the {items} past due:",
        "firm": "Despite our earlier reminders, the {items} still unpaid:",
        "final": "The {items} now seriously overdue:",
    },
    these=("following {noun} is", "following {noun} are"),
    due_word="due",
    total="Total due: {total}.",
    and_word="and",
    broken_promise="We note that the payment promised for {date} did not reach us.",
    request={
        "friendly": "We would be grateful if you could arrange payment at your earliest "
        "convenience. If you have already paid, please disregard this message.",
        "firm": "Please arrange payment without further delay, or contact us if there is a "
        "reason why payment cannot be made.",
        "final": "This is our final reminder. Unless payment reaches us promptly, we will have "
        "to take further collection steps. Please pay immediately or contact us today.",
    },
    sign_off="Kind regards,\nAccounts Receivable",
)
_GERMAN = _Phrases(
    lang="de",
    subject={
        "friendly": "Zahlungserinnerung: {what} ({amount})",
        "firm": "Zweite Mahnung: {what} ({amount})",
        "final": "Letzte Mahnung: {what} ({amount})",
    },
    one=("Rechnung", "Posten"),
    many=("überfällige Rechnungen", "überfällige Posten"),
    nouns=(("Rechnung", "Posten"), ("Rechnungen", "Posten")),
    labels={
        "collection letter fee": "Mahngebühr",
        "interest note fee": "Gebühr Zinsrechnung",
        "returned payment fee": "Rücklastschriftgebühr",
        "late payment fee": "Verzugsgebühr",
        "fee": "Gebühr",
    },
    greeting="Guten Tag {name},",
    anonymous_greeting="Sehr geehrte Damen und Herren,",
    opening={
        "friendly": "nach unseren Unterlagen {items} noch offen:",
        "firm": "trotz unserer Erinnerung {items} weiterhin unbezahlt:",
        "final": "leider {items} erheblich überfällig:",
    },
    these=("ist die folgende {noun}", "sind die folgenden {noun}"),
    due_word="fällig am",
    total="Offener Gesamtbetrag: {total}.",
    and_word="und",
    broken_promise="Die für den {date} zugesagte Zahlung ist bei uns nicht eingegangen.",
    request={
        "friendly": "Wir bitten Sie, den Betrag bei Gelegenheit zu überweisen. Sollten Sie "
        "bereits gezahlt haben, betrachten Sie diese Nachricht bitte als gegenstandslos.",
        "firm": "Bitte begleichen Sie den Betrag umgehend oder teilen Sie uns mit, falls es "
        "einen Grund gibt, der einer Zahlung entgegensteht.",
        "final": "Dies ist unsere letzte Mahnung. Geht die Zahlung nicht umgehend ein, müssen "
        "wir weitere Inkassoschritte einleiten. Bitte zahlen Sie sofort oder melden Sie sich "
        "noch heute bei uns.",
    },
    sign_off="Mit freundlichen Grüßen\nDebitorenbuchhaltung",
)
