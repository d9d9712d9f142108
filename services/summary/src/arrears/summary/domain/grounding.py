"""The grounding check: every figure in a text must be one of the customer's facts.

The check reads every amount, date, percentage and count out of a text and accepts the text
only if each one equals a fact value:

1. Text facts that are not plain numbers (document numbers, names, aging period names such as
   `1-30`, the customer id) are blanked out first, so the digits inside them are not read as
   figures; free text (activity memos) is not, so quoting a memo cannot smuggle a figure in.
   Dashes and non-breaking spaces are normalized before.
2. Dates: ISO (`2026-03-15`), German (`15.03.2026`), slashed (`03/15/2026` or `15/03/2026`),
   written (`15 March 2026`, `March 15, 2026`, `15. März 2026`), without a year (`15 March`,
   matched on day and month) and month with year (`March 2026`, matched on the month). A date
   must equal a date fact.
3. Numbers, read as English (`1,234.50`) and as German (`1.234,50`) notation, with a currency
   code or symbol before or after and `%` after:
   - a percentage must equal a percentage fact rounded as displayed (`67%` for 66.67);
   - an amount with a currency must equal a money fact in that currency;
   - a number with decimals must equal a money fact, or a days or percentage fact rounded as
     displayed;
   - a whole number must equal a count or a money fact, or a days or percentage fact rounded
     as displayed.
   Signs are not part of a figure (the words say whether the customer owes or is owed).
4. Zero is never accepted as a figure: nothing overdue, no disputes ... are written in words,
   so that a made-up "balance of 0.00" cannot pass on the strength of some other zero fact.
5. Count words (`two` ... `twelve`, `zwei` ... `zwölf`) must equal a count fact.

A figure that matches no fact fails the text with a reason such as
`amount 1,999.00 matches no fact`; the keys of the facts that did match are returned, so that
what a text cites can be traced to its events.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .facts import Fact, FactSheet
from .formatting import MONTHS_DE, MONTHS_EN

CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
_MONTH_NUMBERS: dict[str, int] = {}
for _names in (MONTHS_EN, MONTHS_DE):
    for _i, _name in enumerate(_names, start=1):
        _MONTH_NUMBERS[_name] = _i
        _MONTH_NUMBERS[_name[:3]] = _i
_MONTH_NUMBERS.update({"Sept": 9, "Maerz": 3, "Mrz": 3})
_MONTH = "(?P<month>" + "|".join(sorted(_MONTH_NUMBERS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\.?"
_YEAR = r"(?P<year>\d{4})"
_B = r"(?<![\w.,])"
_E = r"(?![\w])"
DATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("iso", re.compile(_B + r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})" + _E)),
    ("dotted", re.compile(_B + r"(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})" + _E)),
    ("slashed", re.compile(_B + r"(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<year>\d{4})" + _E)),
    ("day_month_year", re.compile(_B + _DAY + r"\s+" + _MONTH + r",?\s+" + _YEAR + _E)),
    ("month_day_year", re.compile(r"\b" + _MONTH + r"\s+" + _DAY + r",?\s+" + _YEAR + _E)),
    ("day_month", re.compile(_B + _DAY + r"\s+" + _MONTH + r"(?![\w])")),
    ("month_day", re.compile(r"\b" + _MONTH + r"\s+" + _DAY + r"(?![\w])")),
    ("month_year", re.compile(r"\b" + _MONTH + r",?\s+" + _YEAR + _E)),
)
NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:[,.]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)(?![\w])")
_BEFORE = re.compile(r"(?:(?P<code>\b[A-Z]{3})|(?P<symbol>[$€£¥]))\s?$")
_AFTER = re.compile(
    r"^\s?(?:(?P<percent>%|percent\b|per cent\b|Prozent\b)|(?P<code>[A-Z]{3}\b)|(?P<symbol>[$€£¥]))"
)
COUNT_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5,
    "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12,
}  # fmt: skip
_COUNT_WORD = re.compile(r"\b(" + "|".join(COUNT_WORDS) + r")\b", re.IGNORECASE)
UNMASKED_PREFIXES = ("activity.",)
"""Free text (activity memos and purposes) is never blanked out: quoting a memo must not
smuggle figures past the check."""
_PLAIN_NUMBER = re.compile(r"^[\d.,\s]+$")
_NORMALIZE = str.maketrans(
    {
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
    }
)


@dataclass(frozen=True, slots=True)
class Grounding:
    """The result of checking one text."""

    passed: bool
    reasons: tuple[str, ...]
    """Why it failed, one reason per figure that matches no fact."""
    matched: tuple[str, ...]
    """Keys of the facts the text's figures matched, in the order first cited."""
    figures: int
    """How many figures the text holds."""

    @property
    def result(self) -> str:
        return "passed" if self.passed else "failed"


@dataclass(frozen=True, slots=True)
class _Index:
    dates: dict[date, list[str]]
    money: list[tuple[Decimal, str, str]]
    """(absolute value, currency, key)"""
    counts: dict[Decimal, list[str]]
    rounded: list[tuple[Decimal, str, str]]
    """(value, kind, key) of days and percentages, matched rounded as displayed"""

    @classmethod
    def of(cls, facts: Iterable[Fact]) -> _Index:
        dates: dict[date, list[str]] = {}
        money: list[tuple[Decimal, str, str]] = []
        counts: dict[Decimal, list[str]] = {}
        rounded: list[tuple[Decimal, str, str]] = []
        for fact in facts:
            value = fact.value
            if fact.kind == "date" and isinstance(value, date):
                dates.setdefault(value, []).append(fact.key)
            elif fact.kind == "money" and isinstance(value, Decimal):
                money.append((abs(value), fact.currency or "", fact.key))
            elif fact.kind == "count" and isinstance(value, int):
                counts.setdefault(Decimal(abs(value)), []).append(fact.key)
            elif fact.kind in ("days", "percentage") and isinstance(value, Decimal):
                rounded.append((abs(value), fact.kind, fact.key))
        return cls(dates, money, counts, rounded)


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for index in range(start, end):
            chars[index] = " "
    return "".join(chars)


def _masked_text_facts(text: str, facts: Iterable[Fact]) -> str:
    values = sorted(
        {
            f.value.translate(_NORMALIZE)
            for f in facts
            if f.kind == "text"
            and isinstance(f.value, str)
            and f.value.strip()
            and not f.key.startswith(UNMASKED_PREFIXES)
        },
        key=len,
        reverse=True,
    )
    for value in values:
        if _PLAIN_NUMBER.match(value):
            continue
        pattern = re.compile(r"(?<![\w])" + re.escape(value) + r"(?![\w])", re.IGNORECASE)
        text = _mask(text, (m.span() for m in pattern.finditer(text)))
    return text


def _date_candidates(kind: str, match: re.Match[str]) -> list[tuple[int | None, int, int]]:
    """(year or None, month, day) readings of a date match; day 0 = the whole month."""
    groups = match.groupdict()
    year = int(groups["year"]) if groups.get("year") else None
    if kind == "slashed":
        a, b = int(groups["a"]), int(groups["b"])
        return [(year, a, b), (year, b, a)]
    raw_month = groups["month"]
    month = int(raw_month) if raw_month.isdigit() else _MONTH_NUMBERS[raw_month]
    if kind == "month_year":
        return [(year, month, 0)]
    return [(year, month, int(groups["day"]))]


def _check_dates(
    text: str, index: _Index, reasons: list[str], matched: list[str]
) -> tuple[str, int]:
    found = 0
    for kind, pattern in DATE_PATTERNS:
        spans = []
        for match in pattern.finditer(text):
            found += 1
            spans.append(match.span())
            token = match.group(0).strip().rstrip(".,")
            keys = _date_keys(_date_candidates(kind, match), index)
            if keys is None:
                reasons.append(f"date {token} is not a valid date")
            elif keys:
                matched.extend(keys)
            else:
                reasons.append(f"date {token} matches no fact")
        text = _mask(text, spans)
    return text, found


def _date_keys(candidates: list[tuple[int | None, int, int]], index: _Index) -> list[str] | None:
    valid = False
    for year, month, day in candidates:
        if not 1 <= month <= 12 or not 0 <= day <= 31:
            continue
        if year is not None and day:
            try:
                exact = date(year, month, day)
            except ValueError:
                continue
            valid = True
            if exact in index.dates:
                return index.dates[exact]
            continue
        valid = True
        for fact_date, keys in index.dates.items():
            if fact_date.month != month:
                continue
            if (day and fact_date.day == day and year is None) or (
                not day and fact_date.year == year
            ):
                return keys
    return [] if valid else None


def readings(token: str) -> set[Decimal]:
    """The values a number token can mean, in English and in German notation."""
    values: set[Decimal] = set()
    for thousands, decimal in ((",", "."), (".", ",")):
        head, sep, tail = token.rpartition(decimal)
        if not sep:
            head, tail = token, ""
        if decimal in head or (tail and thousands in tail):
            continue
        groups = head.split(thousands)
        if len(groups) > 1 and (
            not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])
        ):
            continue
        digits = "".join(groups) + ("." + tail if tail else "")
        try:
            values.add(Decimal(digits))
        except InvalidOperation:
            continue
    return values


def _places(token: str, value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _rounded_match(value: Decimal, fact_value: Decimal, places: int) -> bool:
    quantum = Decimal(1).scaleb(-places)
    return fact_value.quantize(quantum, rounding=ROUND_HALF_UP) == value


def _check_number(
    token: str, currency: str | None, is_percent: bool, index: _Index
) -> tuple[list[str], str | None]:
    """(matched fact keys, reason when none)."""
    values = readings(token)
    shown = f"{currency} {token}" if currency else token
    if not values:
        return [], f"number {token} cannot be read"
    if all(v == 0 for v in values):
        what = "percentage" if is_percent else "figure"
        return [], f"{what} {shown} is zero: zero amounts and counts must be written in words"
    for value in values:
        places = _places(token, value)
        if is_percent:
            keys = [
                key
                for fact_value, kind, key in index.rounded
                if kind == "percentage" and _rounded_match(value, fact_value, places)
            ]
        elif currency is not None:
            keys = [key for v, cur, key in index.money if cur == currency and v == value]
        else:
            keys = [key for v, _, key in index.money if v == value]
            keys += [key for v, _, key in index.rounded if _rounded_match(value, v, places)]
            if places == 0:
                keys += index.counts.get(value, [])
        if keys:
            return keys, None
    if is_percent:
        return [], f"percentage {token}% matches no fact"
    has_decimals = any(_places(token, v) for v in values)
    what = "amount" if currency is not None or has_decimals else "number"
    return [], f"{what} {shown} matches no fact"


def _check_numbers(text: str, index: _Index, reasons: list[str], matched: list[str]) -> int:
    found = 0
    for match in NUMBER.finditer(text):
        found += 1
        token = match.group(1)
        before = _BEFORE.search(text[max(0, match.start() - 4) : match.start()])
        after = _AFTER.match(text[match.end() : match.end() + 12])
        currency = None
        if after and after.group("code"):
            currency = after.group("code")
        elif after and after.group("symbol"):
            currency = CURRENCY_SYMBOLS[after.group("symbol")]
        elif before and before.group("code"):
            currency = before.group("code")
        elif before and before.group("symbol"):
            currency = CURRENCY_SYMBOLS[before.group("symbol")]
        is_percent = bool(after and after.group("percent"))
        keys, reason = _check_number(token, None if is_percent else currency, is_percent, index)
        if reason:
            reasons.append(reason)
        matched.extend(keys)
    return found


def _check_count_words(text: str, index: _Index, reasons: list[str], matched: list[str]) -> int:
    found = 0
    for match in _COUNT_WORD.finditer(text):
        found += 1
        value = Decimal(COUNT_WORDS[match.group(1).lower()])
        keys = index.counts.get(value, [])
        if keys:
            matched.extend(keys)
        else:
            reasons.append(f"count '{match.group(1)}' matches no fact")
    return found


def check(text: str, sheet: FactSheet | Iterable[Fact]) -> Grounding:
    """Hold every figure of `text` against the facts (see the module documentation)."""
    facts = list(sheet.facts if isinstance(sheet, FactSheet) else sheet)
    index = _Index.of(facts)
    reasons: list[str] = []
    matched: list[str] = []
    normalized = _masked_text_facts(text.translate(_NORMALIZE), facts)
    rest, dates = _check_dates(normalized, index, reasons, matched)
    numbers = _check_numbers(rest, index, reasons, matched)
    words = _check_count_words(rest, index, reasons, matched)
    unique_reasons = tuple(dict.fromkeys(reasons))
    return Grounding(
        passed=not unique_reasons,
        reasons=unique_reasons,
        matched=tuple(dict.fromkeys(matched)),
        figures=dates + numbers + words,
    )
