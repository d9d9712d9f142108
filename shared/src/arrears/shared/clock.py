"""Injectable time: rules take `now`/`today` as arguments; services get them from a Clock."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def today(self) -> date: ...


class SystemClock:
    """Wall-clock UTC time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()


class FixedClock:
    """A settable clock for tests and demos."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at.astimezone(UTC)

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def today(self) -> date:
        return self._at.date()


class OffsetClock:
    """Wall-clock UTC time moved by a constant offset: it runs as the system clock does, some
    days (or hours) earlier or later."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def today(self) -> date:
        return self.now().date()


_OFFSET = re.compile(r"^([+-])(\d{1,6})([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
CLOCK_SETTING_HELP = (
    "Move every service's time: a date (2026-03-01: today is that day when the process "
    "starts, time of day runs on) or an offset from the real time (+30d, -2d, +12h, +90m). "
    "Unset: the real time."
)


def clock_offset(setting: str, now: datetime) -> timedelta:
    """The offset a clock setting means at `now`: a date gives the whole days from now's date
    to it (the time of day is kept), an offset `[+-]N(d|h|m)` itself. Raises ValueError."""
    text = setting.strip()
    found = _OFFSET.match(text)
    if found is not None:
        sign, number, unit = found.groups()
        offset = timedelta(**{_UNITS[unit]: int(number)})
        return -offset if sign == "-" else offset
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"clock setting {setting!r}: give a date (2026-03-01) or an offset (+30d, -12h)"
        ) from None
    return timedelta(days=(day - now.astimezone(UTC).date()).days)


def offset_text(offset: timedelta) -> str:
    """An offset as the setting that means it (whole minutes): `+30d`, `-90m`."""
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    if minutes % (24 * 60) == 0:
        return f"{sign}{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"{sign}{minutes // 60}h"
    return f"{sign}{minutes}m"


def clock_of(setting: str | None) -> Clock:
    """The clock a setting names (see `CLOCK_SETTING_HELP`): the system clock when unset."""
    if not setting:
        return SystemClock()
    return OffsetClock(clock_offset(setting, datetime.now(UTC)))
