"""Collections KPIs for a period [start, end]: DSO, countback DSO, best possible DSO,
average days delinquent and the collection effectiveness index (CEI).

Formulas, definitions of the inputs and worked examples: `docs/kpis.md`. In short, with
`days` = number of days in [start, end] (both included):

    DSO            = ending receivables / credit sales * days
    best DSO       = ending current receivables / credit sales * days
    ADD            = DSO - best DSO
    countback DSO  = days of the most recent sales windows that the ending receivables use
                     up, newest first, the last one pro rata
    CEI            = (beginning receivables + credit sales - ending receivables)
                     / (beginning receivables + credit sales - ending current receivables)
                     * 100

Every input is additive, so a pool's or the company's KPIs are those of the summed inputs
(`combine`), never an average of customers' KPIs. Results are rounded half-up to two
decimals at the end; ADD is computed from the unrounded DSOs (as overdue receivables /
credit sales * days). A KPI whose denominator is
zero is None (undefined).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from .balances import open_items
from .errors import InvalidKpiInput
from .facts import ZERO, Movement, OpenItemFacts

HUNDRED = Decimal(100)
PLACES = Decimal("0.01")


def _round(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class SalesWindow:
    """Credit sales of one window of days (a calendar month, for countback)."""

    start: date
    end: date
    sales: Decimal

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def month_windows(end: date, count: int) -> tuple[tuple[date, date], ...]:
    """`count` calendar-month windows ending at `end`, newest first; the newest runs from
    the first of `end`'s month to `end` (a whole month when `end` is a month end)."""
    windows = []
    last = end
    for _ in range(count):
        first = last.replace(day=1)
        windows.append((first, last))
        last = first - timedelta(days=1)
    return tuple(windows)


@dataclass(frozen=True, slots=True)
class KpiInputs:
    """What the KPIs of one customer, pool or company over [start, end] are computed from.

    Receivables are gross open receivables (invoices, interest notes, fees) in accounting
    currency; `beginning_receivables` as of the day before `start`, the others as of `end`.
    Current receivables are those not yet due (due date on or after `end`). Credit sales are
    the receivables posted in [start, end] (original accounting amounts). `sales_windows`
    (newest first, contiguous, the first ending at `end`) feed the countback DSO.
    """

    start: date
    end: date
    beginning_receivables: Decimal
    ending_receivables: Decimal
    ending_current_receivables: Decimal
    credit_sales: Decimal
    sales_windows: tuple[SalesWindow, ...] = ()

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidKpiInput("invalid_period", f"{self.end} precedes {self.start}")
        expected_end = self.end
        for window in self.sales_windows:
            if window.end != expected_end or window.start > window.end:
                raise InvalidKpiInput(
                    "invalid_sales_windows",
                    "sales windows must be contiguous, newest first, the first ending at "
                    f"{self.end}",
                )
            expected_end = window.start - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def combine(inputs: Iterable[KpiInputs]) -> KpiInputs:
    """The inputs of a pool or the company: the sum of its customers' inputs (same period,
    same sales windows)."""
    items = list(inputs)
    if not items:
        raise InvalidKpiInput("no_inputs", "nothing to combine")
    first = items[0]
    windows = [(w.start, w.end) for w in first.sales_windows]
    for item in items[1:]:
        if (item.start, item.end) != (first.start, first.end) or [
            (w.start, w.end) for w in item.sales_windows
        ] != windows:
            raise InvalidKpiInput(
                "misaligned_inputs", "combined inputs must share the period and sales windows"
            )
    return KpiInputs(
        start=first.start,
        end=first.end,
        beginning_receivables=sum((i.beginning_receivables for i in items), ZERO),
        ending_receivables=sum((i.ending_receivables for i in items), ZERO),
        ending_current_receivables=sum((i.ending_current_receivables for i in items), ZERO),
        credit_sales=sum((i.credit_sales for i in items), ZERO),
        sales_windows=tuple(
            SalesWindow(start, end, sum((i.sales_windows[n].sales for i in items), ZERO))
            for n, (start, end) in enumerate(windows)
        ),
    )


# ---------------------------------------------------------------------------- formulas


def _per_sales(receivables: Decimal, credit_sales: Decimal, days: int) -> Decimal | None:
    if credit_sales == 0:
        return None
    return receivables / credit_sales * days


def dso(ending_receivables: Decimal, credit_sales: Decimal, days: int) -> Decimal | None:
    """Simple DSO: ending receivables / credit sales of the period * days in the period."""
    return _round(_per_sales(ending_receivables, credit_sales, days))


def best_possible_dso(
    current_receivables: Decimal, credit_sales: Decimal, days: int
) -> Decimal | None:
    """Best possible DSO: ending current (not yet due) receivables / credit sales * days."""
    return _round(_per_sales(current_receivables, credit_sales, days))


def average_days_delinquent(
    ending_receivables: Decimal,
    current_receivables: Decimal,
    credit_sales: Decimal,
    days: int,
) -> Decimal | None:
    """DSO - best possible DSO before rounding, computed as (ending - current receivables,
    i.e. the overdue ones) / credit sales * days so that it is rounded once."""
    return _round(_per_sales(ending_receivables - current_receivables, credit_sales, days))


def _countback(
    receivables: Decimal, windows: tuple[SalesWindow, ...]
) -> tuple[Decimal | None, bool]:
    if not windows:
        return None, False
    if receivables <= 0:
        return ZERO, True
    remaining, days = receivables, Decimal(0)
    for window in windows:
        if window.sales > 0 and remaining <= window.sales:
            return days + remaining / window.sales * window.days, True
        remaining -= max(window.sales, ZERO)
        days += window.days
    return days, False


def countback_dso(
    ending_receivables: Decimal, windows: Iterable[SalesWindow]
) -> tuple[Decimal | None, bool]:
    """Countback DSO and whether it is complete.

    Walking back from the newest window, each window's sales are taken off the ending
    receivables and its days counted, until the receivables left are no more than a
    window's sales: that window counts pro rata (left / its sales * its days). When the
    windows run out first, the result is the days of all of them and `complete` is False (a
    lower bound). None without windows.
    """
    days, complete = _countback(ending_receivables, tuple(windows))
    return _round(days), complete


def cei(
    beginning_receivables: Decimal,
    credit_sales: Decimal,
    ending_receivables: Decimal,
    ending_current_receivables: Decimal,
) -> Decimal | None:
    """Collection effectiveness index, in percent (standard variant):

    (beginning + credit sales - ending total) / (beginning + credit sales - ending current)
    * 100.
    """
    collectible = beginning_receivables + credit_sales - ending_current_receivables
    if collectible == 0:
        return None
    collected = beginning_receivables + credit_sales - ending_receivables
    return _round(collected / collectible * HUNDRED)


def overdue_share(
    ending_receivables: Decimal, ending_current_receivables: Decimal
) -> Decimal | None:
    """The overdue part of the ending receivables, in percent:
    (ending - ending current receivables) / ending receivables * 100; None when nothing is
    receivable."""
    if ending_receivables == 0:
        return None
    return _round((ending_receivables - ending_current_receivables) / ending_receivables * HUNDRED)


@dataclass(frozen=True, slots=True)
class Kpis:
    """The KPIs of one set of inputs; None where undefined."""

    start: date
    end: date
    days: int
    dso: Decimal | None
    countback_dso: Decimal | None
    countback_complete: bool
    best_possible_dso: Decimal | None
    average_days_delinquent: Decimal | None
    cei: Decimal | None
    overdue_share: Decimal | None


def kpis(inputs: KpiInputs) -> Kpis:
    """Every KPI of one set of inputs."""
    countback, complete = countback_dso(inputs.ending_receivables, inputs.sales_windows)
    return Kpis(
        start=inputs.start,
        end=inputs.end,
        days=inputs.days,
        dso=dso(inputs.ending_receivables, inputs.credit_sales, inputs.days),
        countback_dso=countback,
        countback_complete=complete,
        best_possible_dso=best_possible_dso(
            inputs.ending_current_receivables, inputs.credit_sales, inputs.days
        ),
        average_days_delinquent=average_days_delinquent(
            inputs.ending_receivables,
            inputs.ending_current_receivables,
            inputs.credit_sales,
            inputs.days,
        ),
        cei=cei(
            inputs.beginning_receivables,
            inputs.credit_sales,
            inputs.ending_receivables,
            inputs.ending_current_receivables,
        ),
        overdue_share=overdue_share(inputs.ending_receivables, inputs.ending_current_receivables),
    )


# ---------------------------------------------------------------------------- pure path


def credit_sales(facts: Iterable[OpenItemFacts], start: date, end: date) -> Decimal:
    """Receivables posted in [start, end], original accounting amounts."""
    return sum(
        (f.accounting_amount for f in facts if f.receivable and start <= f.posting_date <= end),
        ZERO,
    )


def receivables_as_of(
    facts: Iterable[OpenItemFacts], movements: Iterable[Movement], as_of: date
) -> tuple[Decimal, Decimal]:
    """(gross open receivables, of which not yet due) as of a date."""
    total = current = ZERO
    for item in open_items(facts, movements, as_of):
        if item.facts.receivable:
            total += item.open_amount
            due = item.facts.due_date
            if due is not None and due >= as_of:
                current += item.open_amount
    return total, current


def kpi_inputs(
    facts: Iterable[OpenItemFacts],
    movements: Iterable[Movement],
    start: date,
    end: date,
    *,
    countback_months: int = 12,
) -> KpiInputs:
    """KPI inputs computed from transactions and movements (the store computes the same
    numbers in SQL)."""
    facts, movements = list(facts), list(movements)
    beginning, _ = receivables_as_of(facts, movements, start - timedelta(days=1))
    ending, current = receivables_as_of(facts, movements, end)
    return KpiInputs(
        start=start,
        end=end,
        beginning_receivables=beginning,
        ending_receivables=ending,
        ending_current_receivables=current,
        credit_sales=credit_sales(facts, start, end),
        sales_windows=tuple(
            SalesWindow(first, last, credit_sales(facts, first, last))
            for first, last in month_windows(end, countback_months)
        ),
    )
