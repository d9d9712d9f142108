"""Date windows and keyset cursors."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.timeline.domain import (
    ActivityKey,
    EntryKey,
    InvalidCursor,
    InvalidRange,
    Window,
    activity_cursor,
    entry_cursor,
    parse_activity_cursor,
    parse_entry_cursor,
    window,
)

pytestmark = pytest.mark.unit

TODAY = date(2026, 6, 15)


def test_the_default_window_is_the_last_365_days_with_no_end() -> None:
    assert window(TODAY, None, None) == Window(date(2025, 6, 15), None)
    assert window(TODAY, None, None, days=30) == Window(TODAY - timedelta(days=30), None)
    assert window(TODAY, date(2020, 1, 1), TODAY) == Window(date(2020, 1, 1), TODAY)
    assert window(TODAY, TODAY, TODAY) == Window(TODAY, TODAY)
    assert window(TODAY, None, date(2025, 6, 15)) == Window(date(2025, 6, 15), date(2025, 6, 15))


def test_a_range_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidRange, match="invalid_range"):
        window(TODAY, TODAY, TODAY - timedelta(days=1))
    with pytest.raises(InvalidRange):
        window(TODAY, None, date(2025, 6, 14))  # before the default start


@given(st.dates(), st.integers(min_value=1, max_value=2**62))
def test_entry_cursors_round_trip(day: date, sequence: int) -> None:
    key = EntryKey(day, sequence)
    text = entry_cursor(key)
    assert parse_entry_cursor(text) == key
    assert text.isascii() and "=" not in text and "/" not in text and "+" not in text


@given(
    st.datetimes(timezones=st.just(UTC)),
    st.text(min_size=1, max_size=64),
)
def test_activity_cursors_round_trip(due: datetime, activity_id: str) -> None:
    key = ActivityKey(due, activity_id)
    assert parse_activity_cursor(activity_cursor(key)) == key


def encoded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "!!!",
        "not-base64-at-all",
        encoded(b"not json"),
        encoded(b"[1, 2]"),
        encoded(b'{"k": "timeline"}'),
        encoded(b'{"k": "timeline", "d": "2026-02-30", "s": 1}'),
        encoded(b'{"k": "timeline", "d": "2026-02-03", "s": "1"}'),
        encoded(b'{"k": "timeline", "d": "2026-02-03", "s": true}'),
        encoded(b'{"k": "activities", "t": "2026-02-03T00:00:00+00:00", "i": "a"}'),
    ],
)
def test_foreign_or_tampered_entry_cursors_are_refused(text: str) -> None:
    with pytest.raises(InvalidCursor, match="invalid_cursor"):
        parse_entry_cursor(text)


@pytest.mark.parametrize(
    "text",
    [
        entry_cursor(EntryKey(TODAY, 3)),
        encoded(b'{"k": "activities", "t": "2026-02-03T00:00:00", "i": "a"}'),
        encoded(b'{"k": "activities", "t": "2026-02-03T00:00:00+00:00", "i": 7}'),
        encoded(b'{"k": "activities", "t": 5, "i": "a"}'),
    ],
)
def test_foreign_or_tampered_activity_cursors_are_refused(text: str) -> None:
    with pytest.raises(InvalidCursor):
        parse_activity_cursor(text)
