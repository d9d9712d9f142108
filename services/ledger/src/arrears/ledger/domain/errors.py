"""Typed refusals of the ledger's domain.

Every rule a command can break raises one of three kinds, each with a stable, machine-readable
snake_case `code`, a human `detail`, and the HTTP `status` the edge translates it to:

- `NotFound` (404): something the command names does not exist (customer, transaction,
  settlement, activity);
- `Conflict` (409): the command collides with the current state (registered twice, already
  reversed, already closed, a document number used twice);
- `Rejected` (422): every other business rule (currency mismatch, over-settlement, ...).
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """Base of every refusal of a command by the ledger's rules."""

    status: ClassVar[int] = 400

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.detail!r})"


class NotFound(DomainError):
    """The command names a customer, transaction, settlement or activity that does not exist."""

    status: ClassVar[int] = 404


class Conflict(DomainError):
    """The command conflicts with the current state (already registered, reversed, closed)."""

    status: ClassVar[int] = 409


class Rejected(DomainError):
    """The command breaks a business rule."""

    status: ClassVar[int] = 422
