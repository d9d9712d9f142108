"""Aging period definitions: ordered, contiguous day ranges and the date they count from.

A transaction's age in days as of a date is `as_of - its aging date`, where the aging date
is, by the definition's basis:

- `due_date`: the due date of a receivable (0 on the due date, negative before it); a
  payment or credit note has no due date and ages from its document date (the payment's
  value date, the credit note's date), as in Dynamics 365;
- `transaction_date`: the posting date;
- `document_date`: the document date (a payment's value date, a fee's posting date).

Rules: at least two periods for the due-date basis (one for the others), at most 20; names
unique; the first period is open below (`from_days` None), the last open above (`to_days`
None), every other bound set; each period starts the day after the previous one ends; for
the due-date basis the first period ("Current") is exactly "not yet due": it ends at day 0.
Every integer number of days therefore falls in exactly one period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Literal, get_args

from .errors import InvalidDefinition
from .facts import OpenItemFacts

AgingBasis = Literal["due_date", "transaction_date", "document_date"]
AGING_BASES: tuple[str, ...] = get_args(AgingBasis)
AgedBy = Literal["due_date", "document_date", "posting_date"]

AGED_BY: dict[str, AgedBy] = {
    "due_date": "due_date",
    "transaction_date": "posting_date",
    "document_date": "document_date",
}
"""The `aged_by` value of `CustomerAgingChanged` for each basis (the event calls the
transaction date `posting_date`)."""

MAX_PERIODS = 20
MAX_NAME = 50


@dataclass(frozen=True, slots=True)
class AgingPeriod:
    """One period: days `from_days`..`to_days` inclusive; None is an open end."""

    name: str
    from_days: int | None
    to_days: int | None

    def contains(self, days: int) -> bool:
        return (self.from_days is None or days >= self.from_days) and (
            self.to_days is None or days <= self.to_days
        )


@dataclass(frozen=True, slots=True)
class AgingDefinition:
    """An ordered set of aging periods and the date transactions are aged from."""

    id: str
    name: str
    periods: tuple[AgingPeriod, ...]
    basis: AgingBasis = "due_date"

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def aged_by(self) -> AgedBy:
        return AGED_BY[self.basis]

    def period_index(self, days: int) -> int:
        """Index of the period `days` falls in."""
        for index, period in enumerate(self.periods):
            if period.to_days is None or days <= period.to_days:
                return index
        raise AssertionError("a validated definition covers every day")  # pragma: no cover

    def days_of(self, facts: OpenItemFacts, as_of_ordinal: int) -> int:
        """Age in days of a transaction as of the date with ordinal `as_of_ordinal`."""
        return as_of_ordinal - aging_date(facts, self.basis).toordinal()


def aging_date(facts: OpenItemFacts, basis: AgingBasis) -> date:
    """The date a transaction ages from under `basis`."""
    if basis == "due_date":
        return facts.due_date or facts.document_date
    if basis == "transaction_date":
        return facts.posting_date
    return facts.document_date


def _fail(definition: AgingDefinition, detail: str) -> InvalidDefinition:
    return InvalidDefinition("invalid_aging_definition", f"{definition.id!r}: {detail}")


def _validate(d: AgingDefinition) -> None:
    if not d.id or len(d.id) > MAX_NAME or not d.id.strip():
        raise InvalidDefinition("invalid_aging_definition", "the id must be 1-50 characters")
    if not d.name.strip() or len(d.name) > 200:
        raise _fail(d, "the name must be 1-200 characters")
    if d.basis not in AGING_BASES:
        raise _fail(d, f"basis must be one of {', '.join(AGING_BASES)}, not {d.basis!r}")
    periods = d.periods
    minimum = 2 if d.basis == "due_date" else 1
    if not minimum <= len(periods) <= MAX_PERIODS:
        raise _fail(d, f"{minimum} to {MAX_PERIODS} periods are needed, got {len(periods)}")
    names = [p.name for p in periods]
    for name in names:
        if not name.strip() or len(name) > MAX_NAME:
            raise _fail(d, f"period name {name!r} must be 1-{MAX_NAME} characters")
    if len(set(names)) != len(names):
        raise _fail(d, "period names must be unique")
    first, last = periods[0], periods[-1]
    if first.from_days is not None:
        raise _fail(d, f"the first period {first.name!r} must be open below (from_days null)")
    if last.to_days is not None:
        raise _fail(d, f"the last period {last.name!r} must be open above (to_days null)")
    if d.basis == "due_date" and first.to_days != 0:
        raise _fail(
            d, f"the first period {first.name!r} must cover exactly not-yet-due (to_days 0)"
        )
    for previous, period in pairwise(periods):
        if previous.to_days is None or period.from_days is None:
            raise _fail(d, f"only the first and last periods may be open ({period.name!r})")
        if period.from_days != previous.to_days + 1:
            raise _fail(
                d,
                f"{period.name!r} must start at day {previous.to_days + 1}, the day after "
                f"{previous.name!r} ends (no gap, no overlap)",
            )
        if period.to_days is not None and period.to_days < period.from_days:
            raise _fail(d, f"{period.name!r} ends before it starts")


DEFAULT_DEFINITION = AgingDefinition(
    id="default",
    name="Standard: current, 30-day periods, over 120",
    periods=(
        AgingPeriod("Current", None, 0),
        AgingPeriod("1-30", 1, 30),
        AgingPeriod("31-60", 31, 60),
        AgingPeriod("61-90", 61, 90),
        AgingPeriod("91-120", 91, 120),
        AgingPeriod("Over 120", 121, None),
    ),
    basis="due_date",
)
"""Current (not yet due), 1-30, 31-60, 61-90, 91-120 and over 120 days past due."""
