"""How figures are written in English and German text (and read back by the grounding check).

English: `USD 1,234.50`, `15 March 2026`, `67%`, `4.5`. German: `EUR 1.234,50`,
`15.03.2026`, `67 %`, `4,5`. Amounts are written without a sign; the sentence says whether
the customer owes or is owed.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .facts import Fact

SUPPORTED_LANGUAGES = ("en", "de")
CENT = Decimal("0.01")

MONTHS_EN = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
MONTHS_DE = (
    "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
    "Oktober", "November", "Dezember",
)  # fmt: skip


def language_of(preferred: str | None) -> str:
    """The supported language closest to a BCP 47 tag ('de-AT' -> 'de'); English otherwise."""
    primary = (preferred or "en").split("-")[0].split("_")[0].lower()
    return primary if primary in SUPPORTED_LANGUAGES else "en"


def _swap(text: str) -> str:
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def number(value: Decimal, language: str, places: int | None = None) -> str:
    """A number with thousands separators; `places` decimals (default: as many as it has)."""
    value = abs(value)
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    exponent = value.as_tuple().exponent
    decimals = max(0, -exponent) if isinstance(exponent, int) else 0
    text = f"{value:,.{decimals}f}"
    return _swap(text) if language == "de" else text


def money(amount: Decimal, currency: str, language: str) -> str:
    value = abs(amount)
    places = 2 if value == value.quantize(CENT) else None
    return f"{currency} {number(value, language, places)}"


def money_fact(fact: Fact, language: str) -> str:
    assert isinstance(fact.value, Decimal) and fact.currency is not None
    return money(fact.value, fact.currency, language)


def day(value: date, language: str) -> str:
    if language == "de":
        return f"{value.day:02d}.{value.month:02d}.{value.year}"
    return f"{value.day} {MONTHS_EN[value.month - 1]} {value.year}"


def percent(value: Decimal, language: str) -> str:
    rounded = number(value, language, 0)
    return f"{rounded} %" if language == "de" else f"{rounded}%"


def days(value: Decimal | int, language: str) -> str:
    """Days with one decimal, or none when whole (4.5, 4)."""
    amount = Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if amount == amount.to_integral_value():
        return number(amount.to_integral_value(), language, 0)
    return number(amount, language, 1)
