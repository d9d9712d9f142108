"""Customer pools: saved filters over customer attributes and aged balances.

A pool is a conjunction (AND) of filters `(field, op, value)`. Fields and operators come
from a closed whitelist (`FIELDS`, `OPERATORS`), so a pool can be evaluated in Python
(`Pool.matches`) and translated to SQL by the store without ever putting user text into a
statement: the store maps each field name to one column and each operator to one fixed SQL
fragment, and binds the value as a parameter.

Null semantics follow SQL: every comparison with a missing value (no country, no credit
limit, no open receivables for `oldest_period`) is false, `ne` and `not_in` included; only
`is_null` / `not_null` test for absence.

Text comparisons are exact and case-sensitive; `prefix` is `LIKE` with the value's `%`,
`_` and `\\` escaped (`like_prefix`). Decimal values are exact (floats are refused).
Aging fields are read from the customer's aged balance by the pool's definition (the
company default when the pool names none), as of the date of the query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, get_args

from arrears.shared.inputs import bounded_number

from .balances import AgedBalance
from .errors import InvalidFilter
from .facts import CustomerFacts

FieldType = Literal["text", "decimal", "integer"]
Operator = Literal[
    "eq", "ne", "in", "not_in", "prefix", "gt", "gte", "lt", "lte", "is_null", "not_null"
]
OPERATORS: tuple[str, ...] = get_args(Operator)

FilterValue = str | Decimal | int | tuple[str, ...] | None
"""A normalized filter value: str (text eq/ne/prefix), tuple of str (in/not_in), Decimal or
int (comparisons), None (is_null/not_null)."""

MAX_FILTERS = 50
MAX_IN = 100
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field a pool may filter on."""

    name: str
    type: FieldType
    source: Literal["customer", "aging"]
    description: str


def _spec(
    name: str, type_: FieldType, source: Literal["customer", "aging"], text: str
) -> FieldSpec:
    return FieldSpec(name, type_, source, text)


FIELDS: dict[str, FieldSpec] = {
    s.name: s
    for s in (
        _spec("customer_id", "text", "customer", "Customer account number."),
        _spec("name", "text", "customer", "Customer name."),
        _spec("credit_group", "text", "customer", "Credit group."),
        _spec("account_status", "text", "customer", "Account status (active, on hold ...)."),
        _spec("country", "text", "customer", "ISO 3166-1 alpha-2 country code."),
        _spec("currency", "text", "customer", "Default transaction currency (ISO 4217)."),
        _spec("credit_rating", "text", "customer", "Credit rating."),
        _spec("employee_responsible", "text", "customer", "Employee responsible."),
        _spec("risk_score", "decimal", "customer", "Risk score (0-1000)."),
        _spec("credit_limit", "decimal", "customer", "Credit limit; null = unlimited."),
        _spec("balance", "decimal", "aging", "Net balance (receivables - open credits)."),
        _spec("gross_receivables", "decimal", "aging", "Open receivables before credits."),
        _spec("open_credits", "decimal", "aging", "Unsettled payments and credit notes."),
        _spec("overdue", "decimal", "aging", "Open receivables past their due date."),
        _spec("credit_remaining", "decimal", "aging", "Credit limit - balance; null = unlimited."),
        _spec("disputed_amount", "decimal", "aging", "Open amount of disputed transactions."),
        _spec("promised_amount", "decimal", "aging", "Open amount promised to pay."),
        _spec("disputed_count", "integer", "aging", "Number of disputed open transactions."),
        _spec("open_invoice_count", "integer", "aging", "Number of open invoices."),
        _spec(
            "oldest_period",
            "integer",
            "aging",
            "Index (0 = first) of the oldest period holding receivables; null = none.",
        ),
    )
}
"""Every field a pool may filter on, by name; the names are the store's column names."""

_NULL_OPS = frozenset({"is_null", "not_null"})
OPERATORS_BY_TYPE: dict[FieldType, frozenset[str]] = {
    "text": frozenset({"eq", "ne", "in", "not_in", "prefix"}) | _NULL_OPS,
    "decimal": frozenset({"eq", "ne", "gt", "gte", "lt", "lte"}) | _NULL_OPS,
    "integer": frozenset({"eq", "ne", "gt", "gte", "lt", "lte"}) | _NULL_OPS,
}

SQL_OPERATORS: dict[str, str] = {
    "eq": "{column} = :value",
    "ne": "{column} <> :value",
    "in": "{column} = ANY(:value)",
    "not_in": "NOT ({column} = ANY(:value))",
    "prefix": "{column} LIKE :value ESCAPE '\\'",
    "gt": "{column} > :value",
    "gte": "{column} >= :value",
    "lt": "{column} < :value",
    "lte": "{column} <= :value",
    "is_null": "{column} IS NULL",
    "not_null": "{column} IS NOT NULL",
}
"""A suggested SQL fragment per operator (bind `sql_value(filter)` as `value`; for prefix it
is already the escaped LIKE pattern). Comparisons with NULL are not true, as in `matches`."""


def like_prefix(value: str) -> str:
    """A LIKE pattern (ESCAPE '\\') matching strings that start with `value`."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


def _bad(detail: str) -> InvalidFilter:
    return InvalidFilter("invalid_pool_filter", detail)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise _bad(f"{where}: expected a text of 1-{MAX_TEXT} characters, got {value!r}")
    return value


def _number(value: Any, type_: FieldType, where: str) -> Decimal | int:
    if isinstance(value, bool | float):
        raise _bad(f"{where}: expected an exact number (integer or decimal string), got {value!r}")
    if type_ == "integer":
        try:
            number = bounded_number(value) if isinstance(value, int | str) else None
        except ValueError:
            number = None
        if number is not None and number == number.to_integral_value():
            return int(number)
        raise _bad(f"{where}: expected an integer below 10^18, got {str(value)[:40]!r}")
    if isinstance(value, int | Decimal | str):
        try:
            return bounded_number(value)
        except ValueError as error:
            raise _bad(f"{where}: {error}") from None
    raise _bad(f"{where}: expected a decimal number, got {value!r}")


def _normalize(field: str, op: str, value: Any) -> FilterValue:
    spec = FIELDS.get(field)
    if spec is None:
        raise _bad(f"unknown field {field!r}; fields: {', '.join(FIELDS)}")
    allowed = OPERATORS_BY_TYPE[spec.type]
    if op not in allowed:
        raise _bad(f"{field}: operator {op!r} not allowed; use one of {', '.join(sorted(allowed))}")
    where = f"{field} {op}"
    if op in _NULL_OPS:
        if value is not None:
            raise _bad(f"{where} takes no value")
        return None
    if op in ("in", "not_in"):
        if isinstance(value, str) or not isinstance(value, Sequence | frozenset | set):
            raise _bad(f"{where}: expected a list of texts")
        values = tuple(sorted({_text(v, where) for v in value}))
        if not 1 <= len(values) <= MAX_IN:
            raise _bad(f"{where}: expected 1-{MAX_IN} values")
        return values
    if spec.type == "text":
        return _text(value, where)
    return _number(value, spec.type, where)


@dataclass(frozen=True, slots=True)
class Filter:
    """One condition `field op value`; the value is normalized on construction."""

    field: str
    op: str
    value: Any = None
    """Given as JSON-like data (a list for in/not_in, a decimal string or int for numbers);
    normalized to a `FilterValue` on construction."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _normalize(self.field, self.op, self.value))

    @property
    def spec(self) -> FieldSpec:
        return FIELDS[self.field]

    def test(self, actual: str | Decimal | int | None) -> bool:
        """Whether a field value satisfies the condition (SQL null semantics)."""
        op = self.op
        value: FilterValue = self.value
        if op == "is_null":
            return actual is None
        if op == "not_null":
            return actual is not None
        if actual is None:
            return False
        if op == "in":
            assert isinstance(value, tuple)
            return actual in value
        if op == "not_in":
            assert isinstance(value, tuple)
            return actual not in value
        if op == "prefix":
            return isinstance(actual, str) and isinstance(value, str) and actual.startswith(value)
        if op == "eq":
            return actual == value
        if op == "ne":
            return actual != value
        assert isinstance(actual, Decimal | int) and isinstance(value, Decimal | int)
        if op == "gt":
            return actual > value
        if op == "gte":
            return actual >= value
        if op == "lt":
            return actual < value
        return actual <= value

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form; decimals as strings, lists for in/not_in."""
        value: Any = self.value
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        return {"field": self.field, "op": self.op, "value": value}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Filter:
        unknown = set(raw) - {"field", "op", "value"}
        if unknown:
            raise _bad(f"unknown keys {sorted(unknown)} in a filter")
        field, op = raw.get("field"), raw.get("op")
        if not isinstance(field, str) or not isinstance(op, str):
            raise _bad("a filter needs a text `field` and `op`")
        return cls(field, op, raw.get("value"))


def sql_value(condition: Filter) -> Any:
    """The parameter to bind for a filter's SQL fragment (a list for in/not_in, the escaped
    LIKE pattern for prefix, None for the null tests)."""
    if condition.op == "prefix":
        assert isinstance(condition.value, str)
        return like_prefix(condition.value)
    if isinstance(condition.value, tuple):
        return list(condition.value)
    return condition.value


def pool_values(
    customer: CustomerFacts, aged: AgedBalance
) -> dict[str, str | Decimal | int | None]:
    """The value of every pool field for one customer: what the store's columns hold."""
    return {
        "customer_id": customer.customer_id,
        "name": customer.name,
        "credit_group": customer.credit_group,
        "account_status": customer.account_status,
        "country": customer.country,
        "currency": customer.currency,
        "credit_rating": customer.credit_rating,
        "employee_responsible": customer.employee_responsible,
        "risk_score": customer.risk_score,
        "credit_limit": customer.credit_limit,
        "balance": aged.balance,
        "gross_receivables": aged.gross_receivables,
        "open_credits": aged.open_credits,
        "overdue": aged.overdue,
        "credit_remaining": aged.credit_remaining,
        "disputed_amount": aged.disputed_amount,
        "promised_amount": aged.promised_amount,
        "disputed_count": aged.disputed_count,
        "open_invoice_count": aged.open_invoice_count,
        "oldest_period": aged.oldest_period,
    }


@dataclass(frozen=True, slots=True)
class Pool:
    """A named, saved set of filters (all must hold) and the aging definition it uses."""

    id: str
    name: str
    filters: tuple[Filter, ...] = ()
    aging_definition_id: str | None = None
    """None: the company's default definition."""

    def __post_init__(self) -> None:
        if not self.id.strip() or len(self.id) > 50:
            raise _bad("a pool id must be 1-50 characters")
        if not self.name.strip() or len(self.name) > MAX_TEXT:
            raise _bad(f"a pool name must be 1-{MAX_TEXT} characters")
        if len(self.filters) > MAX_FILTERS:
            raise _bad(f"a pool has at most {MAX_FILTERS} filters")
        object.__setattr__(self, "filters", tuple(self.filters))

    def matches(self, customer: CustomerFacts, aged: AgedBalance) -> bool:
        values = pool_values(customer, aged)
        return all(f.test(values[f.field]) for f in self.filters)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "aging_definition_id": self.aging_definition_id,
            "filters": [f.as_dict() for f in self.filters],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Pool:
        filters = raw.get("filters", ())
        if isinstance(filters, str | bytes) or not isinstance(filters, Sequence):
            raise _bad("`filters` must be a list")
        parsed = []
        for item in filters:
            if isinstance(item, Mapping):
                parsed.append(Filter.from_dict(item))
            elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 3:
                parsed.append(Filter(str(item[0]), str(item[1]), item[2]))
            else:
                raise _bad(f"a filter is {{field, op, value}} or [field, op, value], not {item!r}")
        definition = raw.get("aging_definition_id")
        return cls(
            id=str(raw.get("id", "")),
            name=str(raw.get("name", "")),
            filters=tuple(parsed),
            aging_definition_id=None if definition is None else str(definition),
        )


def matches(pool: Pool, customer: CustomerFacts, aged: AgedBalance) -> bool:
    """Whether a customer (with its aged balance by the pool's definition) is in the pool."""
    return pool.matches(customer, aged)
