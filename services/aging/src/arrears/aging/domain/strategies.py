"""Collection strategies: per pool (or a company default), an ordered list of steps, each
falling due a number of days after the due date of an open receivable or after the step
before it, under conditions.

A strategy decides which (customer, transaction, step) fall due on a day; it emits nothing
itself. The rule, evaluated as of a day D for one open receivable:

- each step's offset from the due date is fixed by the strategy (`Strategy.offsets`): a
  step relative to the due date is `days` after it (negative: before it), a step relative to
  the previous step is `days` after that step's offset, so a step falls due on exactly one
  day per receivable, `due_date + offset`;
- the step falls due on D when D is that day, the receivable has something open on D
  (accounting currency, above zero) and the step's `Conditions` hold on D (`admits`): its
  open amount on D, its collection status on D, the customer's risk score and segment.

A step whose conditions do not hold on its day is skipped, not postponed: the next step
follows on its own day. An item settled before a step's day never reaches that step.
Evaluating a day twice gives the same answer: nothing is remembered between days.

Versions are immutable: a change makes a new version and the history keeps which version
was in force when (the store's `strategy_versions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate
from typing import Any, Literal, get_args

from arrears.shared.inputs import bounded_number
from arrears.shared.money import decimal_text

from .errors import InvalidInput
from .facts import CollectionStatusValue

StepKind = Literal[
    "reminder_email", "letter", "call", "escalate", "credit_hold", "write_off_proposal"
]
STEP_KINDS: tuple[str, ...] = get_args(StepKind)
CONTACT_KINDS: frozenset[str] = frozenset({"reminder_email", "letter", "call"})
"""The steps that reach the customer (the backtest's customers contacted)."""
RelativeTo = Literal["due_date", "previous_step"]
RELATIVE_TO: tuple[str, ...] = get_args(RelativeTo)

MAX_STEPS = 30
MAX_DAYS = 3650
MAX_LETTER_LEVEL = 5
MAX_SEGMENTS = 100
MAX_TEXT = 200
RISK_SCORES = (Decimal(0), Decimal(1000))


class InvalidStrategy(InvalidInput):
    """A strategy that breaks a rule: unknown step kind, steps out of date order, a letter
    without a level, a condition out of range (answered 422)."""


def _bad(detail: str) -> InvalidStrategy:
    return InvalidStrategy("invalid_strategy", detail)


@dataclass(frozen=True, slots=True)
class Conditions:
    """When a step may act on an open receivable, on the day it falls due. Every condition
    set must hold (AND); an unset one always holds."""

    min_amount: Decimal | None = None
    """The receivable's open amount on the day (accounting currency) is at least this."""
    min_risk_score: Decimal | None = None
    """The customer's risk score is at least this (a customer without one fails)."""
    max_risk_score: Decimal | None = None
    """The customer's risk score is at most this (a customer without one fails)."""
    segments: tuple[str, ...] = ()
    """The customer's segment (its credit group) is one of these; empty: any."""
    skip_disputed: bool = True
    """Not while the receivable is disputed (its collection status on the day)."""
    skip_promised: bool = True
    """Not while a promise to pay is active (collection status `promised_to_pay` on the day)."""

    def admits(
        self,
        open_amount: Decimal,
        status: CollectionStatusValue | str | None,
        risk_score: Decimal | None,
        segment: str | None,
    ) -> bool:
        """Whether the conditions hold for a receivable with this open amount and collection
        status on the day, of a customer with this risk score and segment."""
        if self.min_amount is not None and open_amount < self.min_amount:
            return False
        if self.min_risk_score is not None and (
            risk_score is None or risk_score < self.min_risk_score
        ):
            return False
        if self.max_risk_score is not None and (
            risk_score is None or risk_score > self.max_risk_score
        ):
            return False
        if self.segments and segment not in self.segments:
            return False
        if self.skip_disputed and status == "disputed":
            return False
        return not (self.skip_promised and status == "promised_to_pay")

    def as_dict(self) -> dict[str, Any]:
        return {
            "min_amount": _text(self.min_amount),
            "min_risk_score": _text(self.min_risk_score),
            "max_risk_score": _text(self.max_risk_score),
            "segments": list(self.segments),
            "skip_disputed": self.skip_disputed,
            "skip_promised": self.skip_promised,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], where: str) -> Conditions:
        _known(raw, {f for f in cls.__dataclass_fields__}, where)
        segments = raw.get("segments") or ()
        if isinstance(segments, str) or not isinstance(segments, Sequence):
            raise _bad(f"{where}: segments must be a list of credit groups")
        if len(segments) > MAX_SEGMENTS or not all(
            isinstance(s, str) and 0 < len(s) <= MAX_TEXT for s in segments
        ):
            raise _bad(f"{where}: segments must be at most {MAX_SEGMENTS} non-empty names")
        conditions = cls(
            min_amount=_number(raw.get("min_amount"), f"{where}.min_amount"),
            min_risk_score=_number(raw.get("min_risk_score"), f"{where}.min_risk_score"),
            max_risk_score=_number(raw.get("max_risk_score"), f"{where}.max_risk_score"),
            segments=tuple(dict.fromkeys(segments)),
            skip_disputed=_flag(raw.get("skip_disputed", True), f"{where}.skip_disputed"),
            skip_promised=_flag(raw.get("skip_promised", True), f"{where}.skip_promised"),
        )
        if conditions.min_amount is not None and conditions.min_amount < 0:
            raise _bad(f"{where}.min_amount must not be negative")
        low, high = RISK_SCORES
        for name in ("min_risk_score", "max_risk_score"):
            score = getattr(conditions, name)
            if score is not None and not low <= score <= high:
                raise _bad(f"{where}.{name} must be between {low} and {high}")
        if (
            conditions.min_risk_score is not None
            and conditions.max_risk_score is not None
            and conditions.min_risk_score > conditions.max_risk_score
        ):
            raise _bad(f"{where}: min_risk_score exceeds max_risk_score")
        return conditions


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a strategy: what to do, when, under which conditions."""

    kind: StepKind
    days: int
    """Days after the due date (negative: before it) or after the previous step."""
    relative_to: RelativeTo = "due_date"
    level: int | None = None
    """The letter level (1-5) of a `letter`; None for every other kind."""
    conditions: Conditions = field(default_factory=Conditions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "days": self.days,
            "relative_to": self.relative_to,
            "level": self.level,
            "conditions": self.conditions.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class Strategy:
    """An ordered list of steps, valid by construction (`from_dict` says why not)."""

    steps: tuple[Step, ...]

    @property
    def offsets(self) -> tuple[int, ...]:
        """Each step's day relative to the due date, in step order (strictly increasing)."""
        return tuple(
            accumulate(
                self.steps,
                lambda before, step: (
                    (before if step.relative_to == "previous_step" else 0) + step.days
                ),
                initial=0,
            )
        )[1:]

    def as_dict(self) -> dict[str, Any]:
        return {"steps": [step.as_dict() for step in self.steps]}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Strategy:
        _known(raw, {"steps"}, "strategy")
        steps = raw.get("steps")
        if isinstance(steps, str) or not isinstance(steps, Sequence) or not steps:
            raise _bad("steps must be a non-empty list")
        if len(steps) > MAX_STEPS:
            raise _bad(f"at most {MAX_STEPS} steps")
        strategy = cls(tuple(_step(item, index) for index, item in enumerate(steps)))
        offsets = strategy.offsets
        for index in range(1, len(offsets)):
            if offsets[index] <= offsets[index - 1]:
                raise _bad(
                    f"steps[{index}] falls due {offsets[index]} days from the due date, not "
                    f"after steps[{index - 1}] ({offsets[index - 1]} days): steps are in "
                    "date order"
                )
        if any(abs(offset) > MAX_DAYS for offset in offsets):
            raise _bad(f"every step falls due within {MAX_DAYS} days of the due date")
        return strategy


def _step(raw: Any, index: int) -> Step:
    where = f"steps[{index}]"
    if not isinstance(raw, Mapping):
        raise _bad(f"{where} must be an object")
    _known(raw, {"kind", "days", "relative_to", "level", "conditions"}, where)
    kind, days = raw.get("kind"), raw.get("days")
    relative_to = raw.get("relative_to", "due_date")
    if kind not in STEP_KINDS:
        raise _bad(f"{where}.kind must be one of {', '.join(STEP_KINDS)}")
    if isinstance(days, bool) or not isinstance(days, int) or abs(days) > MAX_DAYS:
        raise _bad(f"{where}.days must be a whole number of days within ±{MAX_DAYS}")
    if relative_to not in RELATIVE_TO:
        raise _bad(f"{where}.relative_to must be due_date or previous_step")
    if relative_to == "previous_step":
        if index == 0:
            raise _bad(f"{where}: the first step has no previous step; use due_date")
        if days < 1:
            raise _bad(f"{where}.days must be at least 1 after the previous step")
    level = raw.get("level")
    if kind == "letter":
        if isinstance(level, bool) or not isinstance(level, int):
            raise _bad(f"{where}: a letter needs its level (1-{MAX_LETTER_LEVEL})")
        if not 1 <= level <= MAX_LETTER_LEVEL:
            raise _bad(f"{where}.level must be between 1 and {MAX_LETTER_LEVEL}")
    elif level is not None:
        raise _bad(f"{where}: only a letter has a level")
    conditions = raw.get("conditions") or {}
    if not isinstance(conditions, Mapping):
        raise _bad(f"{where}.conditions must be an object")
    return Step(
        kind=kind,
        days=days,
        relative_to=relative_to,
        level=level,
        conditions=Conditions.from_dict(conditions, f"{where}.conditions"),
    )


def _known(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(raw) - allowed
    if unknown:
        raise _bad(f"{where}: unknown keys {sorted(map(str, unknown))}")


def _number(raw: Any, where: str) -> Decimal | None:
    if raw is None:
        return None
    if isinstance(raw, bool | float) or not isinstance(raw, str | int | Decimal):
        raise _bad(f"{where} must be a decimal number written as a string or an integer")
    try:
        return bounded_number(raw)
    except ValueError as error:
        raise _bad(f"{where}: {error}") from None


def _flag(raw: Any, where: str) -> bool:
    if not isinstance(raw, bool):
        raise _bad(f"{where} must be true or false")
    return raw


def _text(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)
