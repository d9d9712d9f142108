"""Activities: each event as a patch of attributes, the current state as the fold of them.

An activity's events (created, changed, closed) each set some attributes to absolute values.
They are kept as patches keyed by (company, activity id, sequence); the current state is
the patches applied in `sequence` order, so the state is the same whatever order the patches
arrived in, and a redelivered patch changes nothing. An activity exists once its
`ActivityCreated` patch is known; changes or a closing that arrive before it wait for it.

Overdue: open, and its end (its start when it has no end) lies before `now`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from arrears.shared.events.activities import ActivityChanged, ActivityClosed, ActivityCreated
from arrears.shared.events.envelope import Event, event_types_of
from arrears.shared.events.messages import Message, as_json, as_message

CREATED = event_types_of(ActivityCreated)[0]
CHANGED = event_types_of(ActivityChanged)[0]
CLOSED = event_types_of(ActivityClosed)[0]


@dataclass(frozen=True, slots=True)
class ActivityPatch:
    """What one activity event sets (attribute -> JSON value)."""

    company: str
    customer_id: str
    activity_id: str
    sequence: int
    event_id: UUID
    event_type: str
    occurred_at: datetime
    actor: str
    values: Mapping[str, Any]


def patch_of(given: Message | Event) -> ActivityPatch | None:
    """The attributes an activity event sets; None for any other event."""
    event = as_message(given)
    kind = event.type
    if kind == CREATED:
        values = as_json(event.data, keep_none=True)
        activity_id = values.pop("activity_id")
    elif kind == CHANGED:
        values = as_json(event.data.changes)
        activity_id = event.data.activity_id
    elif kind == CLOSED:
        data = event.data
        values = {
            "closed_at": as_json(data.closed_at),
            "outcome": data.outcome.value,
            "closing_memo": data.memo,
        }
        activity_id = data.activity_id
    else:
        return None
    return ActivityPatch(
        company=event.company,
        customer_id=event.customer_id,
        activity_id=activity_id,
        sequence=event.sequence,
        event_id=event.event_id,
        event_type=event.type,
        occurred_at=event.occurred_at,
        actor=event.actor,
        values=values,
    )


@dataclass(frozen=True, slots=True)
class ActivityState:
    """An activity as of all its known events."""

    company: str
    customer_id: str
    activity_id: str
    created_sequence: int
    created_event_id: UUID
    created_at: datetime
    created_by: str
    sequence: int
    """Sequence of the latest event applied."""
    changed_at: datetime
    kind: str
    purpose: str
    responsible: str
    start: datetime
    end: datetime | None
    category: str | None = None
    priority: str | None = None
    memo: str | None = None
    related_transaction_ids: tuple[str, ...] = field(default_factory=tuple)
    closed_at: datetime | None = None
    outcome: str | None = None
    closing_memo: str | None = None

    @property
    def due(self) -> datetime:
        """When it is due: its end, or its start when it has none."""
        return self.end or self.start

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def memo_included(self) -> bool:
        return bool(self.memo) or bool(self.closing_memo)

    def overdue(self, now: datetime) -> bool:
        return is_overdue(self.is_open, self.due, now)

    def as_json(self) -> dict[str, Any]:
        """The activity's attributes as JSON values (timestamps ISO 8601, UTC)."""
        return {
            "activity_id": self.activity_id,
            "kind": self.kind,
            "purpose": self.purpose,
            "responsible": self.responsible,
            "category": self.category,
            "priority": self.priority,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "due": _iso(self.due),
            "state": "open" if self.is_open else "closed",
            "memo_included": self.memo_included,
            "memo": self.memo,
            "related_transaction_ids": list(self.related_transaction_ids),
            "closed_at": _iso(self.closed_at),
            "outcome": self.outcome,
            "closing_memo": self.closing_memo,
        }


def is_overdue(is_open: bool, due: datetime, now: datetime) -> bool:
    return is_open and due < now


def overdue_as_json(attributes: Mapping[str, Any], now: datetime) -> bool:
    """Whether an activity given as `ActivityState.as_json()` is overdue at `now`."""
    return is_overdue(attributes["state"] == "open", _parse(attributes["due"]), now)


def fold(patches: Iterable[ActivityPatch]) -> ActivityState | None:
    """The state the patches of one activity give, applied in sequence order; None while its
    `ActivityCreated` is not among them."""
    ordered = sorted(patches, key=lambda p: p.sequence)
    created = [p for p in ordered if p.event_type == CREATED]
    if not created:
        return None
    first, last = created[-1], ordered[-1]
    merged: dict[str, Any] = {}
    for patch in ordered:
        merged.update(patch.values)
    return ActivityState(
        company=first.company,
        customer_id=first.customer_id,
        activity_id=first.activity_id,
        created_sequence=first.sequence,
        created_event_id=first.event_id,
        created_at=first.occurred_at,
        created_by=first.actor,
        sequence=last.sequence,
        changed_at=last.occurred_at,
        kind=merged["kind"],
        purpose=merged["purpose"],
        responsible=merged["responsible"],
        start=_parse(merged["start"]),
        end=_timestamp(merged.get("end")),
        category=merged.get("category"),
        priority=merged.get("priority"),
        memo=merged.get("memo"),
        related_transaction_ids=tuple(merged.get("related_transaction_ids") or ()),
        closed_at=_timestamp(merged.get("closed_at")),
        outcome=merged.get("outcome"),
        closing_memo=merged.get("closing_memo"),
    )


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _timestamp(value: str | None) -> datetime | None:
    return None if value is None else _parse(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
