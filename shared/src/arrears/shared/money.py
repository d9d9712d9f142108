"""Money: a Decimal amount with an ISO 4217 currency. Never a float."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

CurrencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    Field(description="ISO 4217 alphabetic currency code, e.g. EUR, USD."),
]

Amount = Annotated[
    Decimal,
    Field(
        max_digits=24,
        decimal_places=6,
        allow_inf_nan=False,
        description="Decimal amount, serialized as a JSON string so that it round-trips exactly.",
    ),
]


CENT = Decimal("0.01")


def decimal_text(value: Decimal) -> str:
    """Exact text of an amount with at least two decimals: 900.000000 -> "900.00",
    1.234500 -> "1.2345" (database columns carry six places)."""
    if value == value.quantize(CENT):
        return str(value.quantize(CENT))
    return format(value.normalize(), "f")


class CurrencyMismatchError(ValueError):
    """Two amounts in different currencies were combined."""


class Money(BaseModel):
    """An exact amount in one currency."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    amount: Amount = Field(description="The amount; negative only where the event says so.")
    currency: CurrencyCode

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Self:
        return cls(amount=Decimal(amount), currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(amount=Decimal(0), currency=currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __str__(self) -> str:
        return f"{self.currency} {self.amount:,.2f}"
