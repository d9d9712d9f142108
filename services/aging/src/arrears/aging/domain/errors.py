"""Typed errors of the aging domain.

Each carries a stable snake_case `code` and a human `detail`:

- `InvalidDefinition`, `InvalidFilter`, `InvalidKpiInput` (422 at the HTTP edge): a caller
  gave an aging definition, a pool filter or KPI inputs that break a rule;
- `MissingFact`: an event needs a fact the read model does not hold yet (the settlement a
  reversal undoes, the customer a profile change belongs to). Within one topic Kafka keeps a
  customer's order, so this means a gap (a message skipped or sent to the DLQ), and the
  consumer should retry or dead-letter the event, never skip it.
"""

from __future__ import annotations

from typing import ClassVar


class AgingError(Exception):
    """Base of every error raised by the aging domain."""

    status: ClassVar[int] = 400

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.detail!r})"


class InvalidInput(AgingError):
    """A caller's input breaks a rule (answered 422)."""

    status: ClassVar[int] = 422


class InvalidDefinition(InvalidInput):
    """An aging period definition that is not ordered, contiguous and complete."""


class InvalidFilter(InvalidInput):
    """A pool or one of its filters uses an unknown field, an unknown operator or a bad value."""


class InvalidKpiInput(InvalidInput):
    """KPI inputs that do not fit together (an empty period, misaligned sales windows)."""


class MissingFact(AgingError):
    """An event refers to a fact the read model does not hold (retry or dead-letter it)."""

    status: ClassVar[int] = 409
