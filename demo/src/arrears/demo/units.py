"""Days and cents the way the demo counts them: business days, month ends, quarter starts,
clock times in UTC; amounts in cents and random factors as exact decimals."""

from __future__ import annotations

import calendar
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache

CENT = Decimal("0.01")


def seeded(seed: str) -> random.Random:
    """A reproducible generator (demo data, not secrets)."""
    return random.Random(seed)  # noqa: S311


def cents(value: Decimal) -> Decimal:
    """A generated quantity as an exact amount in cents."""
    return value.quantize(CENT)


def factor(value: float) -> Decimal:
    """A random factor (from `random`) as a decimal with four places, for exact arithmetic."""
    return Decimal(str(round(value, 4)))


def round_to(value: Decimal, step: int) -> Decimal:
    steps = max(1, int((value / step).to_integral_value()))
    return Decimal(steps * step).quantize(CENT)


def business(day: date) -> date:
    """`day`, or the Monday after it when it falls on a weekend."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@cache
def month_end(year: int, month: int) -> date:
    """The business day on or after the third-last day of the month: month-end jobs run then."""
    last = calendar.monthrange(year, month)[1]
    return business(date(year, month, last) - timedelta(days=3))


def invoice_day_in(year: int, month: int, day_of_month: int) -> date:
    """The business day on or after `day_of_month` (the month's last day at most)."""
    last = calendar.monthrange(year, month)[1]
    return business(date(year, month, min(day_of_month, last)))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def quarter_starts(after: date, until: date) -> Iterator[date]:
    """First business days of January, April, July and October in (after, until]."""
    year, month = after.year, after.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        if month % 3 != 1:
            continue
        day = business(date(year, month, 1))
        if day > until:
            return
        yield day
