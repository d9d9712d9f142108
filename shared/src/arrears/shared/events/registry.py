"""Every event class by (type, schema_version), and parsing of raw envelopes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from arrears.shared.events import (
    activities,
    aging,
    customers,
    invoices,
    letters,
    notifications,
    payments,
    summaries,
)
from arrears.shared.events.envelope import Event, event_types_of


class ContractViolation(ValueError):
    """A message that cannot be parsed or does not satisfy the event contract."""


def _index(classes: Iterable[type[Event]]) -> dict[tuple[str, int], type[Event]]:
    index: dict[tuple[str, int], type[Event]] = {}
    for cls in classes:
        key = event_types_of(cls)
        if key in index:
            raise RuntimeError(f"event {key} declared twice")
        index[key] = cls
    return index


ALL_EVENTS: tuple[type[Event], ...] = (
    *customers.EVENTS,
    *invoices.EVENTS,
    *payments.EVENTS,
    *letters.EVENTS,
    *activities.EVENTS,
    *aging.EVENTS,
    *summaries.EVENTS,
    *notifications.EVENTS,
)
EVENT_CLASSES: dict[tuple[str, int], type[Event]] = _index(ALL_EVENTS)


def event_class(type_name: str, schema_version: int) -> type[Event]:
    try:
        return EVENT_CLASSES[(type_name, schema_version)]
    except KeyError:
        raise ContractViolation(
            f"unknown event type {type_name!r} version {schema_version}"
        ) from None


def parse_event(raw: bytes | str | dict[str, Any]) -> Event:
    """Rebuild and validate an envelope; raise ContractViolation with the reason otherwise."""
    try:
        doc = raw if isinstance(raw, dict) else json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ContractViolation(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ContractViolation("envelope is not a JSON object")
    type_name, version = doc.get("type"), doc.get("schema_version")
    if not isinstance(type_name, str) or not isinstance(version, int):
        raise ContractViolation("envelope lacks a string `type` and an integer `schema_version`")
    cls = event_class(type_name, version)
    try:
        return cls.model_validate(doc)
    except ValidationError as exc:
        raise ContractViolation(f"{type_name} v{version} invalid: {exc}") from exc
