"""The common envelope of every Arrears event."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, ClassVar, TypeGuard, TypeVar
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from arrears.shared.topics import Topic


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a timezone (UTC)")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]
"""A timezone-aware timestamp, normalized to UTC. Naive datetimes are rejected."""

CompanyId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=20,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Legal entity (tenant) the fact belongs to, e.g. 'usmf'.",
    ),
]
CustomerId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[^/\s][^/]*$",
        description="Customer account number within the company (no '/').",
    ),
]


class Payload(BaseModel):
    """Base of every event's `data`: frozen, closed to unknown fields."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Event(BaseModel):
    """The envelope shared by every event; subclasses fix `type`, `schema_version` and `data`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    topic: ClassVar[Topic]

    event_id: UUID = Field(description="Unique forever (UUIDv7); consumers dedupe on it.")
    type: str = Field(description="Event type name, one class per type, past tense.")
    schema_version: int = Field(
        ge=1, description="Version of this type's schema; only additive changes within it."
    )
    company: CompanyId
    customer_id: CustomerId
    sequence: int = Field(
        ge=1,
        description="Position in the customer's stream (1, 2, 3 ...), assigned by the writer.",
    )
    occurred_at: UtcDatetime = Field(
        description="Business time of the fact (posting date, payment date), UTC."
    )
    recorded_at: UtcDatetime = Field(description="When the fact was recorded, UTC.")
    actor: str = Field(
        min_length=1,
        max_length=200,
        description="Who caused it: an agent id, 'system', or an import job id.",
    )
    correlation_id: str | None = Field(
        default=None, max_length=200, description="Request that started the chain, for tracing."
    )
    causation_id: str | None = Field(
        default=None, max_length=200, description="Message that directly caused this event."
    )
    data: Any = Field(description="The type-specific payload.")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Give the fields a subclass re-declares (`type`, `schema_version`, `data`) the
        envelope's descriptions when it declares none, so every published field is documented."""
        super().__pydantic_init_subclass__(**kwargs)
        inherited = False
        for name, base in Event.model_fields.items():
            field = cls.model_fields[name]
            if not field.description and base.description:
                field.description = base.description
                inherited = True
        if inherited:
            cls.model_rebuild(force=True)

    @property
    def stream(self) -> str:
        return f"{self.company}/{self.customer_id}"


@cache
def event_types_of(cls: type[Event]) -> tuple[str, int]:
    """(type, schema_version) declared by an event class."""
    fields = cls.model_fields
    return str(fields["type"].default), int(fields["schema_version"].default)


E = TypeVar("E", bound=Event)


def is_a(event: object, cls: type[E]) -> TypeGuard[E]:
    """Whether `event` is an event of `cls`'s type and version: its validated model, or any
    other decoded form of the same event that carries `type` and `schema_version` (the
    consumers' msgspec Structs). Rules written with it read either form."""
    return (getattr(event, "type", None), getattr(event, "schema_version", None)) == (
        event_types_of(cls)
    )
