"""Events on the wire: Kafka key, JSON value and CloudEvents binary-mode headers.

Two ways in. `decode` validates a record into its pydantic event (everything that needs the
model: tests, tools). `read` is the consumers' hot path: the CloudEvents headers name the
type and version, the value is decoded straight into that event's msgspec Struct (the
contract's constraints and cross-field rules included, see `events.messages`); a value the
Struct refuses, or a record without those headers, is decided by the models, so a message
that violates the contract is refused with the models' reason either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import msgspec
from pydantic import ValidationError

from arrears.shared.events.envelope import Event
from arrears.shared.events.messages import Message, decode_message, message_of
from arrears.shared.events.registry import (
    EVENT_CLASSES,
    ContractViolation,
    event_class,
    parse_event,
)

CE_SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class WireMessage:
    """One Kafka record as Arrears writes it."""

    key: bytes
    value: bytes
    headers: dict[str, str]


def cloudevents_headers(event: Event, source: str) -> dict[str, str]:
    """CloudEvents 1.0 Kafka binary-mode attributes (plus Arrears extensions)."""
    headers = {
        "ce_specversion": CE_SPECVERSION,
        "ce_id": str(event.event_id),
        "ce_type": event.type,
        "ce_source": source,
        "ce_time": event.recorded_at.isoformat().replace("+00:00", "Z"),
        "ce_subject": event.stream,
        "ce_schemaversion": str(event.schema_version),
        "ce_sequence": str(event.sequence),
        "content-type": CONTENT_TYPE,
    }
    if event.correlation_id:
        headers["ce_correlationid"] = event.correlation_id
    return headers


def encode(event: Event, source: str) -> WireMessage:
    return WireMessage(
        key=event.stream.encode(),
        value=event.model_dump_json().encode(),
        headers=cloudevents_headers(event, source),
    )


def _header_map(headers: Mapping[str, str | bytes] | Iterable[tuple[str, bytes]]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        out[name] = value.decode() if isinstance(value, bytes) else value
    return out


def _parse(value: bytes, headers: dict[str, str]) -> Event:
    """The envelope, validated straight from the JSON bytes by the class the CloudEvents
    headers name (pydantic parses them in one pass); without those headers, by the `type`
    and `schema_version` the JSON itself carries. A body of another type than its header
    says fails validation (`type` is a literal), so nothing is trusted blindly."""
    type_name, version = headers.get("ce_type"), headers.get("ce_schemaversion")
    if type_name is None or version is None or not version.isdigit():
        return parse_event(value)
    cls = event_class(type_name, int(version))
    try:
        return cls.model_validate_json(value)
    except ValidationError as exc:
        raise ContractViolation(f"{type_name} v{version} invalid: {exc}") from exc


Headers = Mapping[str, str | bytes] | Iterable[tuple[str, bytes]]


def decode(value: bytes | None, headers: Headers = (), key: bytes | None = None) -> Event:
    """Rebuild and validate the envelope; headers and key must agree with it when present."""
    if value is None:
        raise ContractViolation("empty message value")
    found = _header_map(headers)
    event = _parse(value, found)
    _agree(event, found.get("ce_id"), found.get("ce_type"), key)
    return event


def _agree(
    event: Event | Message, ce_id: str | None, ce_type: str | None, key: bytes | None
) -> None:
    """Raise unless the headers and the key say what the envelope says."""
    if ce_id is not None and ce_id != str(event.event_id):
        raise ContractViolation(f"ce_id {ce_id} does not match event_id {event.event_id}")
    if ce_type is not None and ce_type != event.type:
        raise ContractViolation(f"ce_type {ce_type} does not match type {event.type}")
    if key is not None and key.decode(errors="replace") != event.stream:
        raise ContractViolation(f"key {key!r} does not match stream {event.stream}")


_CLASS_BY_HEADERS: dict[tuple[bytes, bytes], type[Event]] = {
    (type_name.encode(), str(version).encode()): cls
    for (type_name, version), cls in EVENT_CLASSES.items()
}
_NAMED = {"ce_id", "ce_type", "ce_schemaversion"}


def read(
    value: bytes | None, headers: Headers = (), key: bytes | None = None
) -> tuple[Message, Event | None]:
    """A record as its event's Struct, for a consumer: (the Struct, the pydantic event when the
    models had to decide). Raises `ContractViolation` with the reason, as `decode` does."""
    if value is None:
        raise ContractViolation("empty message value")
    named: dict[str, bytes] = {}
    for name, raw in headers.items() if isinstance(headers, Mapping) else headers:
        if name in _NAMED:
            named[name] = raw.encode() if isinstance(raw, str) else raw
    cls = _CLASS_BY_HEADERS.get((named.get("ce_type", b""), named.get("ce_schemaversion", b"")))
    if cls is not None:
        try:
            message = decode_message(cls, value)
        except (msgspec.MsgspecError, ValueError, TypeError, AttributeError):
            pass  # the models decide below, and give the reason when they refuse too
        else:
            ce_id = named.get("ce_id")
            _agree(message, None if ce_id is None else ce_id.decode(errors="replace"), None, key)
            return message, None
    event = decode(value, headers, key)
    return message_of(event), event
