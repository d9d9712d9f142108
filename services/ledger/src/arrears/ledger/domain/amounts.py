"""Money arithmetic of the ledger: cents, exchange rates and accounting-currency shares.

Rounding: every accounting-currency amount is an exact product rounded to cents with
ROUND_HALF_EVEN (banker's rounding). Command amounts must already be whole cents.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from arrears.shared.money import Money

from .errors import Rejected

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ROUNDING = ROUND_HALF_EVEN
MAX_AMOUNT = Decimal("1e15")
"""Amounts of a quadrillion or more are refused (they would not fit the contract's digits)."""


def cents(value: Decimal) -> Decimal:
    """`value` rounded to cents (ROUND_HALF_EVEN)."""
    return value.quantize(CENT, rounding=ROUNDING)


def money(amount: Decimal, currency: str) -> Money:
    return Money(amount=amount, currency=currency)


def start_of(day: date) -> datetime:
    """Midnight UTC of a business date: the `occurred_at` of a dated fact."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def positive_amount(value: Decimal, what: str = "amount") -> Decimal:
    """A command amount checked to be positive whole cents, returned with two decimals."""
    try:
        if not value.is_finite() or value <= 0:
            raise Rejected("invalid_amount", f"{what} must be positive, got {value}")
        if value >= MAX_AMOUNT:
            raise Rejected("invalid_amount", f"{what} {value} is too large")
        rounded = value.quantize(CENT)
    except InvalidOperation:
        raise Rejected("invalid_amount", f"{what} {value} is not a valid amount") from None
    if rounded != value:
        raise Rejected("invalid_amount", f"{what} {value} has more than two decimals")
    return rounded


def exchange_rate(
    currency: str, accounting_currency: str, rate: Decimal | None, what: str = "amount"
) -> Decimal:
    """The rate (accounting-currency units per transaction-currency unit) a posting uses.

    Required when the currencies differ; absent or exactly 1 when they are the same.
    """
    if rate is not None and (not rate.is_finite() or rate <= 0):
        raise Rejected("invalid_exchange_rate", f"exchange rate must be positive, got {rate}")
    if currency == accounting_currency:
        if rate is not None and rate != 1:
            raise Rejected(
                "invalid_exchange_rate",
                f"{what} is in the accounting currency {currency}; the exchange rate must be "
                f"absent or 1, got {rate}",
            )
        return Decimal(1)
    if rate is None:
        raise Rejected(
            "exchange_rate_required",
            f"{what} is in {currency}, not the accounting currency {accounting_currency}; "
            "give an exchange_rate",
        )
    return rate


def to_accounting(amount: Decimal, rate: Decimal, what: str = "amount") -> Decimal:
    """`amount` times `rate` in cents; refused when it rounds to nothing."""
    value = amount if rate == 1 else cents(amount * rate)
    if value <= 0:
        raise Rejected(
            "amount_too_small", f"{what} {amount} is worth nothing in the accounting currency"
        )
    return value


def accounting_share(
    open_amount: Decimal, open_accounting: Decimal, part: Decimal, same_currency: bool
) -> Decimal:
    """The accounting-currency value of `part` of an open amount.

    In the accounting currency it is `part` itself. Otherwise it is the open accounting amount
    pro rata (so the historical rate of the transaction is kept), all of it when `part` is the
    whole open amount, and never all of it when it is not (a cent stays with the remainder).
    """
    if same_currency:
        return part
    if part >= open_amount:
        return open_accounting
    if open_amount <= 0:
        return ZERO
    value = cents(open_accounting * part / open_amount)
    if value >= open_accounting:
        value = max(open_accounting - CENT, ZERO)
    return max(value, ZERO)


def distribute(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `total` pro rata to `weights` in cents; the rounding goes to the last share."""
    whole = sum(weights, Decimal(0))
    if whole <= 0:
        raise ValueError("weights must sum to a positive amount")
    shares = [cents(total * weight / whole) for weight in weights[:-1]]
    shares.append(total - sum(shares, Decimal(0)))
    return shares
