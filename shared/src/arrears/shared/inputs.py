"""What every service accepts from outside, typed once: business dates within a sane range,
bounded numbers, email addresses, and text free of control characters.

Routes and commands declare these types; the boundary middleware (`arrears.shared.boundary`)
applies the rules that hold for every request whatever its route (body size, control
characters).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, Field

from arrears.shared.events.envelope import UtcDatetime

EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
"""Business dates outside this range are refused: they are typing mistakes, and the edges of
what dates can hold (year 1 or 9999) overflow as soon as a day is added or a period taken."""


def in_date_range(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"a date between {EARLIEST} and {LATEST} is expected, not {value}")
    return value


Day = Annotated[
    date,
    AfterValidator(in_date_range),
    Field(description=f"An ISO date between {EARLIEST} and {LATEST}."),
]
"""A business date as clients give it (a posting date, an `as_of`, a promise date)."""


def in_moment_range(value: datetime) -> datetime:
    in_date_range(value.date())
    return value


Moment = Annotated[
    UtcDatetime,
    AfterValidator(in_moment_range),
    Field(description=f"A timestamp with a timezone, between {EARLIEST} and {LATEST}."),
]
"""A time as clients give it (an activity's start and end)."""

NUMBER_DIGITS = 18
"""Digits before the decimal point of a number a client may give (the read models' columns
hold 18; more is refused rather than overflowing in the database)."""


def bounded_number(text: str | int | Decimal) -> Decimal:
    """The exact number written in `text`; ValueError unless it is finite, below 10^18 in
    magnitude and has at most six decimals."""
    try:
        number = Decimal(text.strip() if isinstance(text, str) else text)
    except InvalidOperation:
        raise ValueError(f"{str(text)[:40]!r} is not a decimal number") from None
    if number.is_nan():
        raise ValueError(f"{str(text)[:40]!r} is not a decimal number")
    if number.is_infinite() or abs(number) >= Decimal(10) ** NUMBER_DIGITS:
        raise ValueError(f"{str(text)[:40]!r} is out of range (at most {NUMBER_DIGITS} digits)")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -6 and number != number.quantize(Decimal("0.000001")):
        raise ValueError(f"{str(text)[:40]!r} has more than six decimals")
    return number


# ----------------------------------------------------------------------------- email

_LOCAL_PART = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_ADDRESS = re.compile(rf"^{_LOCAL_PART}@{_LABEL}(?:\.{_LABEL})*$")
"""One plain address, `name@domain`: no display name, no list, nothing around it."""


def is_email_address(text: str) -> bool:
    return len(text) <= 254 and EMAIL_ADDRESS.match(text) is not None


def email_address(value: str) -> str:
    text = value.strip()
    if not is_email_address(text):
        raise ValueError(f"{text[:80]!r} is not one email address (name@domain)")
    return text


EmailAddress = Annotated[
    str,
    AfterValidator(email_address),
    Field(max_length=320, description="One email address (name@domain)."),
]

# ----------------------------------------------------------------------------- text

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
"""What no text field may hold: C0 controls except tab, line feed and carriage return, DEL,
and unpaired surrogates (which no database encoding can store)."""


def control_character(text: str) -> str | None:
    """The first control character in `text`, as `U+0000`; None when there is none."""
    found = CONTROL_CHARACTERS.search(text)
    return f"U+{ord(found.group()):04X}" if found else None
