"""Date windows and keyset cursors.

A cursor is the sort key of the last item of a page, encoded as opaque URL-safe text and
tagged with the list it belongs to. The next page holds the items strictly after that key,
so entries that arrive meanwhile (newer ones, or ones placed before the page) neither shift
nor repeat what the next pages show.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from .errors import InvalidCursor, InvalidRange

DEFAULT_WINDOW_DAYS = 365


@dataclass(frozen=True, slots=True)
class Window:
    """Business dates from `since` to `until`, both included; None is open-ended."""

    since: date | None
    until: date | None


def window(
    today: date,
    since: date | None,
    until: date | None,
    *,
    days: int = DEFAULT_WINDOW_DAYS,
) -> Window:
    """The dates a timeline shows: from `since` (default: `days` days before today) to `until`
    (default: no end, so activities planned ahead show too)."""
    start = since if since is not None else today - timedelta(days=days)
    if until is not None and until < start:
        raise InvalidRange("invalid_range", f"`to` {until} precedes `from` {start}")
    return Window(start, until)


@dataclass(frozen=True, slots=True)
class EntryKey:
    """Sort key of a timeline entry (newest first: date, then sequence, both descending)."""

    entry_date: date
    sequence: int


@dataclass(frozen=True, slots=True)
class ActivityKey:
    """Sort key of an activity in a list (when it is due, then its id)."""

    due: datetime
    activity_id: str


def _encode(kind: str, values: dict[str, Any]) -> str:
    raw = json.dumps({"k": kind, **values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(kind: str, text: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("invalid_cursor", "the cursor is not one this service issued") from exc
    if not isinstance(values, dict) or values.get("k") != kind:
        raise InvalidCursor("invalid_cursor", f"the cursor does not belong to a {kind} list")
    return values


def entry_cursor(key: EntryKey) -> str:
    return _encode("timeline", {"d": key.entry_date.isoformat(), "s": key.sequence})


def parse_entry_cursor(text: str) -> EntryKey:
    values = _decode("timeline", text)
    try:
        return EntryKey(date.fromisoformat(values["d"]), _integer(values["s"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidCursor("invalid_cursor", "the cursor's position is malformed") from exc


def activity_cursor(key: ActivityKey) -> str:
    return _encode("activities", {"t": key.due.isoformat(), "i": key.activity_id})


def parse_activity_cursor(text: str) -> ActivityKey:
    values = _decode("activities", text)
    try:
        due = datetime.fromisoformat(values["t"])
        activity_id = values["i"]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidCursor("invalid_cursor", "the cursor's position is malformed") from exc
    if due.tzinfo is None or not isinstance(activity_id, str):
        raise InvalidCursor("invalid_cursor", "the cursor's position is malformed")
    return ActivityKey(due, activity_id)


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not an integer")
    return value
