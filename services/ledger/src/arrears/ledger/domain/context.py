"""What `decide` is given besides state and command, and what it returns.

Kept apart from `decide` so the rule modules (promises, letters) can build changes too; both
names are re-exported by `arrears.ledger.domain.decide` and the package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from arrears.shared.events.envelope import Event, Payload, event_types_of

from .errors import Rejected

if TYPE_CHECKING:
    from .letters import LetterSequence

P = TypeVar("P", bound=Payload)


@dataclass(frozen=True)
class Context:
    """The outside world a decision may use, passed in so decisions stay pure.

    `now` is the current time (UTC-aware); `new_id(prefix)` returns a fresh unique id that
    starts with `prefix` (e.g. "INV" → "INV-0193..."); `letter_sequence` is the collection
    letter setup a `CreateCollectionLetter` applies.
    """

    now: datetime
    new_id: Callable[[str], str]
    letter_sequence: LetterSequence | None = None

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("Context.now must be timezone-aware")


@dataclass(frozen=True)
class Change:
    """One event decided: its class, its payload and its business time.

    The caller wraps it into an envelope (event id, sequence, recorded_at, actor, ...).
    """

    event: type[Event]
    data: Payload
    occurred_at: datetime

    def to_event(
        self,
        *,
        company: str,
        customer_id: str,
        sequence: int,
        event_id: object,
        recorded_at: datetime,
        actor: str,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> Event:
        """The recorded event: this change inside a complete envelope."""
        type_name, schema_version = event_types_of(self.event)
        return self.event(
            type=type_name,
            schema_version=schema_version,
            event_id=event_id,
            company=company,
            customer_id=customer_id,
            sequence=sequence,
            occurred_at=self.occurred_at,
            recorded_at=recorded_at,
            actor=actor,
            correlation_id=correlation_id,
            causation_id=causation_id,
            data=self.data,
        )


def payload(cls: type[P], **fields: Any) -> P:
    """Build an event payload; a value the contract refuses becomes a `Rejected`."""
    try:
        return cls(**fields)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        detail = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
        raise Rejected("invalid_command", f"{cls.__name__} {detail}") from None
