"""The outbound gate: the one policy check before any message to a customer, as pure rules.

Every message (a reminder email, a letter, later any automated step) is checked against the
company's contact policy and what is known of the customer; the answer is recorded whatever
it is. A refused message may be sent anyway by a supervisor who writes down why.

Rules, each refusing with its own code and reason:

- `do_not_contact`: the customer's profile says not to contact them.
- `disputed`: a covered transaction is disputed (covered: the transactions the message is
  about, or every one of the customer's when it names none).
- `promised`: a covered transaction is promised to pay and the promise is still open.
- `promise_active`: the customer has an open promise to pay not yet due (any transaction).
- `frequency_cap`: the customer already got the company's maximum of messages in the
  rolling 7 days before now.
- `letter_interval`: a letter comes sooner than the company's minimum number of days after
  the customer's previous letter.

A reprint (a copy of a posted document, sent because it was asked for) serves the customer
rather than pressing for payment: only `do_not_contact` applies to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Policy:
    """A company's contact rules (the defaults apply until a company sets its own)."""

    max_messages_per_week: int = 3
    min_days_between_letters: int = 14
    block_disputed: bool = True
    block_promised: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "max_messages_per_week": self.max_messages_per_week,
            "min_days_between_letters": self.min_days_between_letters,
            "block_disputed": self.block_disputed,
            "block_promised": self.block_promised,
        }


@dataclass(frozen=True, slots=True)
class ItemStatus:
    transaction_id: str
    status: str | None
    """disputed, promised_to_pay, resolved or None."""
    promise_date: date | None
    promise_state: str | None
    """open, kept, broken, partially_kept or None."""


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """What the gate knows of a customer when it decides."""

    do_not_contact: bool = False
    items: Sequence[ItemStatus] = ()
    messages_sent: Sequence[datetime] = ()
    """When messages to the customer were requested (not the refused or failed ones)."""
    last_letter_on: date | None = None


@dataclass(frozen=True, slots=True)
class Message:
    purpose: str
    related_transaction_ids: Sequence[str] = ()
    letter_id: str | None = None
    """The letter itself, for a letter (its own date is not a previous letter)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Decision:
    refusals: tuple[Refusal, ...] = field(default=())

    @property
    def allowed(self) -> bool:
        return not self.refusals

    def reasons(self) -> list[dict[str, str]]:
        return [{"code": r.code, "reason": r.reason} for r in self.refusals]

    def words(self) -> str:
        return "; ".join(r.reason for r in self.refusals)


def _open_promise(item: ItemStatus) -> bool:
    return item.status == "promised_to_pay" and item.promise_state in (None, "open")


SERVICE_PURPOSES = frozenset({"reprint"})
"""Messages that serve the customer rather than press for payment (a copy of a document
they asked for): only the do-not-contact flag holds them back."""


def decide(policy: Policy, facts: CustomerFacts, message: Message, now: datetime) -> Decision:
    """Every rule the message breaks (none: it may go)."""
    refusals: list[Refusal] = []
    if facts.do_not_contact:
        refusals.append(
            Refusal("do_not_contact", "the customer's profile says not to contact them")
        )
    if message.purpose in SERVICE_PURPOSES:
        return Decision(tuple(refusals))
    wanted = set(message.related_transaction_ids)
    covered = [i for i in facts.items if not wanted or i.transaction_id in wanted]
    disputed = sorted(i.transaction_id for i in covered if i.status == "disputed")
    if policy.block_disputed and disputed:
        refusals.append(Refusal("disputed", f"disputed: {', '.join(disputed)}"))
    promised = sorted(i.transaction_id for i in covered if _open_promise(i))
    if policy.block_promised and promised:
        refusals.append(Refusal("promised", f"promised to pay: {', '.join(promised)}"))
    today = now.date()
    active = sorted(
        (i for i in facts.items if _open_promise(i) and i.promise_date and i.promise_date >= today),
        key=lambda i: (i.promise_date or today, i.transaction_id),
    )
    if policy.block_promised and active:
        first = active[0]
        refusals.append(
            Refusal(
                "promise_active",
                f"a promise to pay is active until {first.promise_date} ({first.transaction_id})",
            )
        )
    recent = [t for t in facts.messages_sent if now - WINDOW < t <= now]
    if len(recent) >= policy.max_messages_per_week:
        refusals.append(
            Refusal(
                "frequency_cap",
                f"{len(recent)} messages in the last 7 days (at most "
                f"{policy.max_messages_per_week})",
            )
        )
    if message.purpose == "letter" and facts.last_letter_on is not None:
        next_allowed = facts.last_letter_on + timedelta(days=policy.min_days_between_letters)
        if today < next_allowed:
            refusals.append(
                Refusal(
                    "letter_interval",
                    f"the previous letter went on {facts.last_letter_on}; the next one not "
                    f"before {next_allowed}",
                )
            )
    return Decision(tuple(refusals))
