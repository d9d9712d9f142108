"""Collections KPIs: the worked examples of docs/kpis.md, reproduced exactly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.aging.domain import (
    InvalidKpiInput,
    KpiInputs,
    SalesWindow,
    average_days_delinquent,
    best_possible_dso,
    cei,
    combine,
    countback_dso,
    dso,
    kpi_inputs,
    kpis,
    month_windows,
)
from tests.unit.aging import D
from tests.unit.aging.reference import MemoryProjection
from tests.unit.aging.test_balances import worked_story

pytestmark = pytest.mark.unit


def windows(end: date, *sales: str) -> tuple[SalesWindow, ...]:
    return tuple(
        SalesWindow(first, last, D(amount))
        for (first, last), amount in zip(month_windows(end, len(sales)), sales, strict=True)
    )


def company_quarter() -> KpiInputs:
    """Worked example 1."""
    return KpiInputs(
        start=date(2025, 1, 1),
        end=date(2025, 3, 31),
        beginning_receivables=D("200000.00"),
        ending_receivables=D("240000.00"),
        ending_current_receivables=D("150000.00"),
        credit_sales=D("350000.00"),
        sales_windows=windows(date(2025, 3, 31), "130000.00", "120000.00", "100000.00"),
    )


def test_worked_example_1_a_company_quarter() -> None:
    result = kpis(company_quarter())
    assert result.days == 90
    assert result.dso == D("61.71")
    assert result.best_possible_dso == D("38.57")
    assert result.average_days_delinquent == D("23.14")
    assert (result.countback_dso, result.countback_complete) == (D("56.67"), True)
    assert result.cei == D("77.50")
    assert result.overdue_share == D("37.50")


def test_worked_example_2_one_customer_from_its_transactions() -> None:
    story, _ = worked_story()
    projection = MemoryProjection()
    for event in story.events:
        projection.apply(event)
    inputs = kpi_inputs(
        projection.transactions.values(),
        projection.movements.values(),
        date(2025, 4, 1),
        date(2025, 6, 30),
        countback_months=4,
    )
    assert (inputs.beginning_receivables, inputs.credit_sales) == (D("1000.00"), D("4325.00"))
    assert (inputs.ending_receivables, inputs.ending_current_receivables) == (
        D("4575.00"), D("800.00"),
    )  # fmt: skip
    assert [w.sales for w in inputs.sales_windows] == [
        D("825.00"), D("1500.00"), D("2000.00"), D("1000.00"),
    ]  # fmt: skip
    result = kpis(inputs)
    assert result.days == 91
    assert result.dso == D("96.26")
    assert result.best_possible_dso == D("16.83")
    assert result.average_days_delinquent == D("79.43")
    assert (result.countback_dso, result.countback_complete) == (D("98.75"), True)
    assert result.cei == D("16.57")


def test_the_single_formulas() -> None:
    assert dso(D(240000), D(350000), 90) == D("61.71")
    assert best_possible_dso(D(150000), D(350000), 90) == D("38.57")
    assert average_days_delinquent(D(240000), D(150000), D(350000), 90) == D("23.14")
    assert cei(D(200000), D(350000), D(240000), D(150000)) == D("77.50")
    assert cei(D(100), D(0), D(0), D(0)) == D("100.00"), "everything collected"
    assert dso(D("0.005"), D(1), 1) == D("0.01"), "half-up"


def test_undefined_kpis_are_none() -> None:
    assert dso(D(100), D(0), 30) is None
    assert best_possible_dso(D(100), D(0), 30) is None
    assert average_days_delinquent(D(100), D(0), D(0), 30) is None
    assert cei(D(0), D(0), D(0), D(0)) is None
    assert countback_dso(D(100), ()) == (None, False)
    empty = kpis(KpiInputs(date(2025, 1, 1), date(2025, 1, 31), D(0), D(0), D(0), D(0)))
    assert (empty.dso, empty.cei, empty.countback_dso) == (None, None, None)


def test_countback_edges() -> None:
    end = date(2025, 3, 31)
    assert countback_dso(D(0), windows(end, "10")) == (D("0.00"), True)
    assert countback_dso(D(130), windows(end, "130", "120")) == (D("31.00"), True)
    # a month without sales counts in full; running out of history gives a lower bound
    assert countback_dso(D(60), windows(end, "0", "120")) == (D("45.00"), True)
    assert countback_dso(D(500), windows(end, "130", "120")) == (D("59.00"), False)


def test_month_windows() -> None:
    assert month_windows(date(2025, 3, 15), 3) == (
        (date(2025, 3, 1), date(2025, 3, 15)),
        (date(2025, 2, 1), date(2025, 2, 28)),
        (date(2025, 1, 1), date(2025, 1, 31)),
    )
    assert month_windows(date(2025, 1, 31), 2)[1] == (date(2024, 12, 1), date(2024, 12, 31))


def test_pools_and_the_company_sum_their_inputs() -> None:
    quarter = company_quarter()
    half = KpiInputs(
        start=quarter.start,
        end=quarter.end,
        beginning_receivables=quarter.beginning_receivables / 2,
        ending_receivables=quarter.ending_receivables / 2,
        ending_current_receivables=quarter.ending_current_receivables / 2,
        credit_sales=quarter.credit_sales / 2,
        sales_windows=tuple(
            SalesWindow(w.start, w.end, w.sales / 2) for w in quarter.sales_windows
        ),
    )
    assert combine([half, half]) == quarter
    assert kpis(combine([half, half])) == kpis(quarter)
    with pytest.raises(InvalidKpiInput, match="share the period"):
        combine([quarter, KpiInputs(quarter.start, date(2025, 3, 30), D(0), D(0), D(0), D(0))])
    with pytest.raises(InvalidKpiInput, match="nothing"):
        combine([])


def test_inputs_are_checked() -> None:
    with pytest.raises(InvalidKpiInput, match="precedes"):
        KpiInputs(date(2025, 2, 1), date(2025, 1, 31), D(0), D(0), D(0), D(0))
    with pytest.raises(InvalidKpiInput, match="contiguous"):
        KpiInputs(
            date(2025, 1, 1),
            date(2025, 3, 31),
            D(0),
            D(0),
            D(0),
            D(0),
            (SalesWindow(date(2025, 3, 1), date(2025, 3, 30), D(1)),),
        )


money = st.integers(min_value=0, max_value=10_000_000).map(lambda n: Decimal(n) / 100)


@given(money, money, money, money)
def test_add_is_the_overdue_share_of_sales(
    sales: Decimal, current: Decimal, overdue: Decimal, beginning: Decimal
) -> None:
    """ADD = overdue / sales * days, and CEI is at most 100 when nothing is over-collected."""
    total = current + overdue
    add = average_days_delinquent(total, current, sales, 91)
    if sales == 0:
        assert add is None
        return
    assert add == dso(overdue, sales, 91)
    value = cei(beginning, sales, total, current)
    if value is not None and total <= beginning + sales and current <= beginning + sales:
        assert value <= 100
