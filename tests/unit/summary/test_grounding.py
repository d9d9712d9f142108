"""The grounding check: tolerant formatting, and every kind of invented figure caught."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arrears.summary.domain import Fact, check
from arrears.summary.domain.grounding import readings

pytestmark = pytest.mark.unit

D = Decimal
FACTS = (
    Fact("debt.balance", "money", D("1234.50"), "balance", "EUR"),
    Fact("debt.overdue", "money", D("234.50"), "overdue", "EUR"),
    Fact("credit.remaining", "money", D("-1500.00"), "credit remaining", "USD"),
    Fact("history.on_time_share", "percentage", D("66.67"), "on time"),
    Fact("history.average_days_late", "days", D("12.4"), "days late"),
    Fact("open.overdue", "count", 3, "overdue"),
    Fact("recent.months", "count", 6, "months"),
    Fact("letters.last_level", "count", 2, "level"),
    Fact("history.last_payment_date", "date", date(2026, 3, 15), "last payment"),
    Fact("invoice.t1.document", "text", "INV-2026-0042", "document"),
    Fact("debt.period.1.name", "text", "31-60", "period"),
    Fact("customer.name", "text", "3M Deutschland GmbH", "name", untrusted=True),
    Fact("activity.a1.memo", "text", "pay USD 9,999.00 next week", "memo", untrusted=True),
    Fact("disputes.open", "count", 0, "disputes"),
)


def passes(text: str) -> bool:
    return check(text, FACTS).passed


@pytest.mark.parametrize(
    "text",
    [
        "The balance is EUR 1,234.50.",
        "The balance is 1234.5.",
        "The balance is EUR 1234.50 and 234.50 of it is overdue.",
        "Der Saldo beträgt EUR 1.234,50, davon 234,50 EUR überfällig.",
        "Der Saldo beträgt 1.234,50 €.",
        "€1,234.50 are owed.",
        "The customer exceeds the limit by USD 1,500.00.",
        "67% of invoices were paid on time.",
        "66.7 % of invoices were paid on time.",
        "66.67% on time.",
        "Invoices were paid 12 days late on average.",
        "Invoices were paid 12.4 days late on average.",
        "3 invoices are overdue; the last letter was level 2.",
        "Three invoices are overdue over the last six months.",
        "The last payment arrived on 2026-03-15.",
        "The last payment arrived on 15 March 2026.",
        "The last payment arrived on March 15, 2026.",
        "The last payment arrived on 15th March 2026.",
        "Die letzte Zahlung kam am 15.03.2026.",
        "Die letzte Zahlung kam am 15. März 2026.",
        "The last payment arrived on 03/15/2026.",
        "The last payment arrived on 15 March.",
        "The last payment arrived in March 2026.",
        "INV-2026-0042 is 3 days overdue, in the 31-60 band.",
        "INV-2026-0042 is in the 31\u201360 band.",
        "3M Deutschland GmbH owes EUR 1,234.50.",
        "Nothing is in dispute.",
    ],
)
def test_figures_that_match_facts_pass(text: str) -> None:
    result = check(text, FACTS)
    assert result.passed, result.reasons


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("The balance is EUR 1,999.00.", "amount EUR 1,999.00 matches no fact"),
        ("The balance is 1,999.00.", "amount 1,999.00 matches no fact"),
        ("The balance is USD 1,234.50.", "amount USD 1,234.50 matches no fact"),
        ("Payment is due on 1 July 2026.", "date 1 July 2026 matches no fact"),
        ("Payment is due on 2026-07-01.", "date 2026-07-01 matches no fact"),
        ("Payment is due on 31 February 2026.", "date 31 February 2026 is not a valid date"),
        ("80% of invoices were paid on time.", "percentage 80% matches no fact"),
        ("17 invoices are overdue.", "number 17 matches no fact"),
        ("Seven invoices are overdue.", "count 'Seven' matches no fact"),
        ("The balance is EUR 0.00.", "figure EUR 0.00 is zero"),
        ("0 disputes are open.", "figure 0 is zero"),
        ("It was paid on 15 April.", "date 15 April matches no fact"),
        ("It was paid in May 2026.", "date May 2026 matches no fact"),
        ("Invoice INV-9999 is open.", "number 9999 matches no fact"),
        ("The memo says pay USD 9,999.00 next week.", "amount USD 9,999.00 matches no fact"),
        ("Invoices were paid 13 days late on average.", "number 13 matches no fact"),
    ],
)
def test_invented_figures_fail_with_a_reason(text: str, reason: str) -> None:
    result = check(text, FACTS)
    assert not result.passed
    assert any(r.startswith(reason) for r in result.reasons), result.reasons


def test_the_matched_facts_are_reported_in_citation_order() -> None:
    result = check("EUR 1,234.50 owed, 3 invoices overdue since 15 March 2026.", FACTS)
    assert result.passed
    assert result.matched == ("history.last_payment_date", "debt.balance", "open.overdue")
    assert result.figures == 3


def test_every_failing_figure_is_reported_once() -> None:
    result = check("EUR 1,999.00 and again EUR 1,999.00, due 1 July 2026.", FACTS)
    assert result.reasons == (
        "date 1 July 2026 matches no fact",
        "amount EUR 1,999.00 matches no fact",
    )


@pytest.mark.parametrize(
    ("token", "values"),
    [
        ("1,234.50", {D("1234.50")}),
        ("1.234,50", {D("1234.50")}),
        ("1234.5", {D("1234.5")}),
        ("1,234", {D("1234"), D("1.234")}),
        ("12", {D(12)}),
        ("1,23,4", set()),
    ],
)
def test_numbers_are_read_in_english_and_german_notation(token: str, values: set[Decimal]) -> None:
    assert readings(token) == values
