"""Customer pools: the filter language, its validation and its null semantics."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from arrears.aging.domain import (
    DEFAULT_DEFINITION,
    FIELDS,
    OPERATORS_BY_TYPE,
    SQL_OPERATORS,
    AgedBalance,
    CustomerFacts,
    Filter,
    InvalidFilter,
    Pool,
    age,
    like_prefix,
    matches,
    pool_values,
    sql_value,
)
from tests.unit.aging import D, Story
from tests.unit.aging.reference import MemoryProjection

pytestmark = pytest.mark.unit

AS_OF = date(2025, 6, 30)


def customer(**fields: Any) -> CustomerFacts:
    values: dict[str, Any] = {
        "company": "usmf",
        "customer_id": "US-0042",
        "sequence": 3,
        "registered_on": date(2024, 1, 1),
        "currency": "USD",
        "accounting_currency": "USD",
        "name": "Fabrikam",
        "credit_group": "RETAIL",
        "account_status": "active",
        "country": "US",
        "credit_limit": D(5000),
        "risk_score": D("310.5"),
    }
    values.update(fields)
    return CustomerFacts(**values)


@pytest.fixture
def overdue_customer() -> AgedBalance:
    """2,000.00 open, 1,200.00 of it 45 days past due, 300.00 disputed."""
    story = Story().register(credit_limit=D(5000))
    story.on(date(2025, 4, 16)).invoice("1200.00", due_in=30)
    late = story.on(date(2025, 6, 1)).invoice("300.00", due_in=60)
    story.set_status(late, "disputed")
    story.on(date(2025, 6, 20)).invoice("500.00", due_in=30)
    projection = MemoryProjection()
    for event in story.events:
        projection.apply(event)
    return projection.aged("usmf", "C-0001", DEFAULT_DEFINITION, AS_OF)


def pool(*filters: tuple[str, str, Any]) -> Pool:
    return Pool.from_dict({"id": "p1", "name": "Pool", "filters": [list(f) for f in filters]})


def test_the_customer_is_in_pools_whose_filters_all_hold(overdue_customer: AgedBalance) -> None:
    who = customer()
    assert overdue_customer.overdue == D("1200.00") and overdue_customer.oldest_period == 2
    holds = [
        ("credit_group", "in", ["RETAIL", "WHOLESALE"]),
        ("account_status", "eq", "active"),
        ("country", "ne", "DE"),
        ("currency", "eq", "USD"),
        ("balance", "gte", "2000.00"),
        ("overdue", "gt", 1000),
        ("oldest_period", "gte", 2),
        ("customer_id", "prefix", "US-"),
        ("credit_remaining", "eq", "3000"),
        ("disputed_count", "eq", 1),
        ("risk_score", "lt", "400"),
        ("credit_rating", "is_null", None),
        ("credit_limit", "not_null", None),
    ]
    for condition in holds:
        assert pool(condition).matches(who, overdue_customer), condition
    assert matches(pool(*holds), who, overdue_customer)
    fails = [
        ("credit_group", "not_in", ["RETAIL"]),
        ("balance", "gt", "2000"),
        ("oldest_period", "gte", 3),
        ("customer_id", "prefix", "us-"),
        ("overdue", "lte", "1199.99"),
    ]
    for condition in fails:
        assert not pool(condition).matches(who, overdue_customer), condition
        assert not pool(*holds, condition).matches(who, overdue_customer)
    assert Pool("all", "Everyone").matches(who, overdue_customer)


def test_missing_values_only_match_null_tests() -> None:
    empty = age([], DEFAULT_DEFINITION, AS_OF)
    who = customer(country=None, credit_limit=None)
    assert empty.oldest_period is None and empty.credit_remaining is None
    for condition in [
        ("country", "eq", "US"),
        ("country", "ne", "US"),
        ("country", "not_in", ["US"]),
        ("country", "prefix", "U"),
        ("oldest_period", "gte", 0),
        ("oldest_period", "ne", 3),
        ("credit_remaining", "lt", "0"),
        ("credit_limit", "gte", "0"),
    ]:
        assert not pool(condition).matches(who, empty), condition
    for condition in [("country", "is_null", None), ("oldest_period", "is_null", None)]:
        assert pool(condition).matches(who, empty), condition


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (("password", "eq", "x"), "unknown field"),
        (("balance", "prefix", "1"), "not allowed"),
        (("country", "gt", "A"), "not allowed"),
        (("country", "eq", ""), "1-200 characters"),
        (("country", "eq", 3), "expected a text"),
        (("country", "in", "US"), "list of texts"),
        (("country", "in", []), "1-100 values"),
        (("balance", "gte", 1000.5), "exact number"),
        (("balance", "gte", True), "exact number"),
        (("balance", "gte", "lots"), "not a decimal"),
        (("balance", "gte", "NaN"), "decimal number"),
        (("oldest_period", "gte", "2.5"), "integer"),
        (("balance", "gte", "1e999"), "out of range"),
        (("balance", "gte", "-Infinity"), "out of range"),
        (("balance", "gte", "0.0000001"), "six decimals"),
        (("oldest_period", "gte", "9" * 30), "integer below 10\\^18"),
        (("country", "is_null", "US"), "takes no value"),
        (("balance", "drop table", 1), "not allowed"),
    ],
)
def test_invalid_filters(raw: tuple[str, str, Any], message: str) -> None:
    with pytest.raises(InvalidFilter, match=message) as caught:
        Filter(*raw)
    assert caught.value.status == 422 and caught.value.code == "invalid_pool_filter"


def test_values_are_normalized_and_round_trip() -> None:
    assert Filter("balance", "gte", 1000).value == Decimal(1000)
    assert Filter("balance", "gte", " 12.50 ").value == D("12.50")
    assert Filter("oldest_period", "gte", "3").value == 3
    assert Filter("country", "in", ["US", "DE", "US"]).value == ("DE", "US")
    original = Pool(
        "p7",
        "Overdue retail",
        (Filter("credit_group", "in", ["RETAIL"]), Filter("overdue", "gte", "500.00")),
        aging_definition_id="std",
    )
    assert Pool.from_dict(original.as_dict()) == original
    assert original.as_dict()["filters"][1] == {"field": "overdue", "op": "gte", "value": "500.00"}
    with pytest.raises(InvalidFilter, match="unknown keys"):
        Filter.from_dict({"field": "country", "op": "eq", "value": "US", "sql": "1=1"})
    with pytest.raises(InvalidFilter, match="must be a list"):
        Pool.from_dict({"id": "p", "name": "n", "filters": "country = 'US'"})
    with pytest.raises(InvalidFilter, match="pool id"):
        Pool("", "n")
    with pytest.raises(InvalidFilter, match="at most 50"):
        Pool("p", "n", tuple(Filter("balance", "gte", i) for i in range(51)))


def test_the_whitelist_and_its_sql() -> None:
    empty = age([], DEFAULT_DEFINITION, AS_OF)
    assert set(pool_values(customer(), empty)) == set(FIELDS)
    for spec in FIELDS.values():
        assert spec.name.isidentifier() and spec.description
        for op in OPERATORS_BY_TYPE[spec.type]:
            assert "{column}" in SQL_OPERATORS[op]
    assert like_prefix("50%_off\\") == "50\\%\\_off\\\\%"
    assert sql_value(Filter("customer_id", "prefix", "US_")) == "US\\_%"
    assert sql_value(Filter("country", "in", ["US"])) == ["US"]
    assert sql_value(Filter("balance", "gte", "1")) == Decimal(1)
    assert sql_value(Filter("country", "is_null")) is None
