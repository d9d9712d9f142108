"""Terms of payment: due dates from 'net N' and 'end of month + N' codes."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.ledger.domain import PaymentTerms, due_date_from_terms, parse_payment_terms

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("net 30", PaymentTerms("net", 30)),
        ("NET30", PaymentTerms("net", 30)),
        ("Net30", PaymentTerms("net", 30)),
        ("  net   45 days ", PaymentTerms("net", 45)),
        ("14 days", PaymentTerms("net", 14)),
        ("1 day", PaymentTerms("net", 1)),
        ("EOM+30", PaymentTerms("eom", 30)),
        ("eom + 15", PaymentTerms("eom", 15)),
        ("EOM 10", PaymentTerms("eom", 10)),
        ("EOM", PaymentTerms("eom", 0)),
        ("end of month + 15", PaymentTerms("eom", 15)),
        ("End of Month+60 days", PaymentTerms("eom", 60)),
        ("due on receipt", PaymentTerms("net", 0)),
        ("Immediate", PaymentTerms("net", 0)),
    ],
)
def test_understood_terms(text: str, terms: PaymentTerms) -> None:
    assert parse_payment_terms(text) == terms


@pytest.mark.parametrize("text", ["", "net", "2/10 net 30", "net -5", "EOM-5", "soon", "net 99999"])
def test_terms_not_understood(text: str) -> None:
    assert parse_payment_terms(text) is None
    assert due_date_from_terms(text, date(2025, 1, 15)) is None


def test_net_counts_days_from_the_document_date() -> None:
    assert due_date_from_terms("Net30", date(2025, 1, 15)) == date(2025, 2, 14)


def test_end_of_month_counts_from_the_last_day_of_the_document_month() -> None:
    assert due_date_from_terms("EOM+30", date(2025, 1, 15)) == date(2025, 3, 2)
    assert due_date_from_terms("EOM", date(2024, 2, 3)) == date(2024, 2, 29)
    assert due_date_from_terms("end of month + 15", date(2025, 12, 31)) == date(2026, 1, 15)


def test_a_due_date_beyond_the_calendar_is_not_understood() -> None:
    assert due_date_from_terms("net 30", date(9999, 12, 20)) is None


@given(st.dates(max_value=date(9000, 1, 1)), st.integers(min_value=0, max_value=365))
def test_due_dates_never_precede_the_document(document: date, days: int) -> None:
    net = due_date_from_terms(f"net {days}", document)
    eom = due_date_from_terms(f"EOM+{days}", document)
    assert net == document + timedelta(days=days)
    assert eom is not None and eom >= document
    last = calendar.monthrange(document.year, document.month)[1]
    assert eom - timedelta(days=days) == document.replace(day=last)
