"""What pages show, computed without I/O: grids, the aged-balances chart, tabs, outcomes."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.gateway import views
from arrears.gateway.views import HIGHEST_BALANCES, GridState

pytestmark = pytest.mark.unit


def params(url: str | None) -> dict[str, list[str]]:
    assert url is not None
    return parse_qs(urlsplit(url).query)


def test_grid_state_ignores_unknown_sorts_and_non_numbers() -> None:
    state = GridState.parse(
        HIGHEST_BALANCES,
        {"hb_sort": "password", "hb_order": "sideways", "hb_page": "x", "hb_f_balance": "lots",
         "hb_f_name": "Acme", "ag_f_name": "other grid"},
    )  # fmt: skip
    assert (state.sort, state.order, state.page) == ("balance", "desc", 1)
    assert state.filters == {"name": "Acme"}
    assert state.aging_filters() == ["name:prefix:Acme"]
    assert state.problems and "not a number" in state.problems[0]


def test_header_links_flip_the_sorted_column_and_keep_the_rest_of_the_page() -> None:
    query = {"company": "usmf", "pool": "anna", "ag_sort": "overdue", "hb_page": "2"}
    state = GridState.parse(HIGHEST_BALANCES, query)
    grid = views.grid(state, [], 60, query)
    by_key = {h.column.key: h for h in grid.headers}
    assert by_key["balance"].sorted == "descending"
    flipped = params(by_key["balance"].href)
    assert flipped["hb_order"] == ["asc"] and "hb_page" not in flipped
    assert flipped["company"] == ["usmf"] and flipped["ag_sort"] == ["overdue"]
    assert params(by_key["name"].href)["hb_order"] == ["asc"]
    assert params(by_key["risk_score"].href)["hb_order"] == ["desc"]
    assert grid.pages == 3 and params(grid.next)["hb_page"] == ["3"]
    assert params(grid.previous)["hb_page"] == ["1"]
    assert ("hb_page", "2") not in grid.hidden and ("pool", "anna") in grid.hidden


def test_rows_sort_in_memory_with_missing_values_last() -> None:
    rows = [{"name": "b", "risk_score": "2"}, {"name": "A", "risk_score": None},
            {"name": "c", "risk_score": "10"}]  # fmt: skip
    by_risk = GridState.parse(HIGHEST_BALANCES, {"hb_sort": "risk_score", "hb_order": "asc"})
    assert [r["name"] for r in views.sort_rows(rows, by_risk)] == ["b", "c", "A"]
    by_name = GridState.parse(HIGHEST_BALANCES, {"hb_sort": "name", "hb_order": "desc"})
    assert [r["name"] for r in views.sort_rows(rows, by_name)] == ["c", "b", "A"]


@given(st.lists(st.decimals(min_value=-(10**6), max_value=10**6, places=2), min_size=1, max_size=8))
def test_chart_bars_are_proportional_and_stay_in_the_picture(amounts: list[Decimal]) -> None:
    periods = [{"name": f"P{i}", "amount": str(a)} for i, a in enumerate(amounts)]
    chart = views.aged_chart(periods)
    assert [b.amount for b in chart.bars] == amounts
    for bar in chart.bars:
        assert bar.y >= 0 and bar.y + bar.height <= chart.height
        assert (bar.y + bar.height <= chart.baseline + 1.0) if bar.amount > 0 else True
        assert (bar.y >= chart.baseline) if bar.amount < 0 else True
    biggest = max(chart.bars, key=lambda b: abs(b.amount))
    for bar in chart.bars:
        if biggest.amount and bar.amount:
            expected = float(abs(bar.amount) / abs(biggest.amount)) * biggest.height
            assert abs(max(bar.height, 1.0) - max(expected, 1.0)) < 1.01


def test_tabs_are_cut_from_the_open_items() -> None:
    receivables = [
        {"document_number": "1", "collection_status": "disputed", "open_amount": "5.00"},
        {"document_number": "2", "collection_status": "promised_to_pay", "open_amount": "50.00"},
        {"document_number": "3", "collection_status": "not_disputed", "open_amount": "9.00"},
    ]
    payments = [{"document_number": "P", "open_amount": "1.00"}]
    docs = lambda rows: [r["document_number"] for r in rows]  # noqa: E731
    assert docs(views.tab_rows(receivables, payments, "disputed", "due_date", "asc")) == ["1"]
    assert docs(views.tab_rows(receivables, payments, "promised", "due_date", "asc")) == ["2"]
    by_amount = views.tab_rows(receivables, payments, "open", "open_amount", "desc")
    assert docs(by_amount) == ["2", "3", "1"], "amounts compare as numbers, not texts"
    assert docs(views.tab_rows(receivables, payments, "unsettled_payments", "x", "asc")) == ["P"]


def test_the_ledgers_answer_in_words() -> None:
    done = {"events": [{"type": "CollectionStatusChanged"}, {"type": "PaymentReturnedNsf"}]}
    assert views.outcome_text("Dispute", 201, done) == (
        "success",
        "Dispute: done (collection status changed, payment returned nsf).",
    )
    assert views.outcome_text("Dispute", 200, {"events": []})[0] == "info"
    refused = views.outcome_text("Write-off", 422, {"detail": "nothing is open"})
    assert refused == ("error", "Write-off was refused: nothing is open")


def test_figures_behind_the_ledger_say_how_far_and_current_ones_say_nothing() -> None:
    reflected = {"sequence": 7, "recorded_at": "2026-06-15T14:02:11+00:00"}
    head = {"sequence": 9, "recorded_at": "2026-06-15T14:02:51.400000+00:00"}
    behind = views.freshness(reflected, head)
    assert behind is not None and behind.newer_events == 2
    assert behind.text == (
        "Figures as of 14:02:11 UTC, 40 s behind the ledger (2 newer events not yet applied)."
    )
    assert views.freshness(reflected, {"sequence": 7, "recorded_at": head["recorded_at"]}) is None
    idle = views.freshness(reflected, {"sequence": 8, "recorded_at": "2026-06-17T04:30:00+00:00"})
    assert idle is not None and idle.text == (
        "Figures as of 2026-06-15 14:02 UTC, 38 h behind the ledger "
        "(1 newer event not yet applied)."
    )
    assert views.freshness(reflected, None) is None  # the ledger could not say
    nothing_yet = views.freshness({"sequence": 0, "recorded_at": None}, head)
    assert nothing_yet is not None
    assert (
        nothing_yet.text
        == "Figures do not include this customer's events yet (9 newer events pending)."
    )


def test_grids_say_their_currency_once_and_never_add_two() -> None:
    one = [{"accounting_currency": "USD"}, {"accounting_currency": "USD"}]
    assert views.currency_note(one) == "Amounts in USD, the accounting currency."
    mixed = views.currency_note([*one, {"accounting_currency": "EUR"}])
    assert "(EUR, USD, see the Currency column)" in mixed and "not added up" in mixed


def test_a_tab_totals_its_accounting_amounts_only() -> None:
    rows = [
        {"open_amount": "110.00", "open_amount_txn": "100.00", "currency": "EUR"},
        {"open_amount": "25.50", "open_amount_txn": "25.50", "currency": "USD"},
    ]
    assert views.open_total(rows) == Decimal("135.50")


def test_the_customer_page_says_why_its_figures_are_in_the_accounting_currency() -> None:
    same = views.money_note({"currency": "USD", "accounting_currency": "USD"})
    assert same.startswith("Figures in USD, the accounting currency")
    assert "documents are in" not in same
    other = views.money_note({"currency": "EUR", "accounting_currency": "USD"})
    assert "This customer's documents are in EUR" in other


def test_an_expected_payment_date_reads_in_words() -> None:
    item = {
        "transaction_id": "T-1",
        "expected_date": "2027-01-12",
        "basis": "customer",
        "median_days_late": "9",
        "sample_size": 14,
    }
    assert views.expected_payment_text(item) == (
        "expected 12 Jan 2027 (median 9 days late over 14 invoices)"
    )
    early = item | {"basis": "company", "median_days_late": "-1.50", "sample_size": 1}
    assert views.expected_payment_text(early) == (
        "expected 12 Jan 2027 (median 1.5 days early over 1 invoice of the company)"
    )
    assert "median on time" in str(views.expected_payment_text(item | {"median_days_late": "0"}))
    none = item | {"basis": "none", "expected_date": None, "median_days_late": None}
    assert views.expected_payment_text(none) is None
    assert views.expected_payments([item, none | {"transaction_id": "T-2"}]) == {
        "T-1": "expected 12 Jan 2027 (median 9 days late over 14 invoices)"
    }
