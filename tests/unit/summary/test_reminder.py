"""Reminder drafts: what is listed, the tone, the language, and when there is no draft."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arrears.shared.events.customers import Contact
from arrears.summary.domain import ReminderRefused, check, draft_reminder, tone_for
from tests.unit.aging import Story
from tests.unit.summary import sheet_of
from tests.unit.summary.test_facts import TODAY, regular

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("days", "broken", "tone"),
    [
        (1, 0, "friendly"),
        (30, 0, "friendly"),
        (31, 0, "firm"),
        (10, 1, "firm"),
        (60, 1, "firm"),
        (61, 0, "final"),
        (5, 2, "final"),
    ],
)
def test_the_tone_follows_days_overdue_and_broken_promises(
    days: int, broken: int, tone: str
) -> None:
    assert tone_for(days, broken) == tone


def overdue_customer(language: str | None) -> Story:
    s = Story()
    profile = {"collections_contact": Contact(name="Jonas Weber", email="jonas@example.test")}
    if language:
        profile["language"] = language  # type: ignore[assignment]
    s.register(name="Weber Maschinenbau GmbH", **profile)
    s.on(date(2025, 3, 3))
    s.invoice("1234.50", due_in=14)  # due 2025-03-17
    s.invoice("99.00", due_in=30)  # due 2025-04-02
    disputed = s.invoice("500.00", due_in=14)
    s.on(date(2025, 3, 20))
    assert s.set_status(disputed, "disputed")
    return s


def test_an_english_draft_lists_the_overdue_undisputed_invoices() -> None:
    s = overdue_customer(None)
    draft = draft_reminder(sheet_of(s.events, date(2025, 4, 10), s))
    assert draft.language == "en" and draft.tone == "friendly"  # 24 days, no broken promise
    assert draft.recipient_email == "jonas@example.test" and draft.recipient_name == "Jonas Weber"
    assert draft.subject == "Payment reminder: 2 overdue invoices (USD 1,333.50)"
    assert draft.body.startswith("Dear Jonas Weber,\n\n")
    assert "due 17 March 2025  USD 1,234.50" in draft.body
    assert "due 2 April 2025  USD 99.00" in draft.body
    assert "USD 500.00" not in draft.body  # disputed
    assert "Total due: USD 1,333.50." in draft.body
    assert len(draft.transaction_ids) == 2
    assert check(f"{draft.subject}\n{draft.body}", draft.facts).passed


def test_a_german_customer_gets_a_german_draft_in_german_notation() -> None:
    s = overdue_customer("de-DE")
    draft = draft_reminder(sheet_of(s.events, date(2025, 5, 20), s))
    assert draft.language == "de" and draft.tone == "final"  # 64 days
    assert draft.subject == "Letzte Mahnung: 2 überfällige Rechnungen (USD 1.333,50)"
    assert draft.body.startswith("Guten Tag Jonas Weber,\n\n")
    assert "fällig am 17.03.2025  USD 1.234,50" in draft.body
    assert "Offener Gesamtbetrag: USD 1.333,50." in draft.body
    assert check(f"{draft.subject}\n{draft.body}", draft.facts).passed


def test_the_language_can_be_chosen_and_unsupported_ones_fall_back_to_english() -> None:
    s = overdue_customer("fr")
    sheet = sheet_of(s.events, date(2025, 4, 25), s)
    assert draft_reminder(sheet).language == "en"
    german = draft_reminder(sheet, language="de")
    assert german.language == "de" and german.tone == "firm"  # 39 days
    assert german.subject.startswith("Zweite Mahnung:")


def test_a_broken_promise_makes_the_tone_firm_and_is_mentioned() -> None:
    s, _ = regular()
    draft = draft_reminder(sheet_of(s.events, TODAY, s))
    assert draft.tone == "firm"
    assert "the payment promised for 30 April 2025 did not reach us" in draft.body
    assert check(f"{draft.subject}\n{draft.body}", draft.facts).passed


def test_no_draft_without_a_collections_contact_or_without_anything_overdue() -> None:
    s = Story()
    s.register(name="No Contact Ltd")
    s.invoice("100.00", due_in=5)
    with pytest.raises(ReminderRefused) as refused:
        draft_reminder(sheet_of(s.events, date(2025, 3, 1), s))
    assert refused.value.code == "no_collections_contact"
    s = overdue_customer(None)
    with pytest.raises(ReminderRefused) as refused:
        draft_reminder(sheet_of(s.events, date(2025, 3, 10), s))
    assert refused.value.code == "nothing_overdue"


def test_the_totals_of_a_draft_become_facts_citing_the_invoices() -> None:
    s = overdue_customer(None)
    draft = draft_reminder(sheet_of(s.events, date(2025, 4, 10), s))
    total = draft.facts["reminder.total.USD"]
    assert total.value == Decimal("1333.50") and total.currency == "USD"
    posted = {str(e.event_id) for e in s.events if e.type == "InvoicePosted"}
    assert set(total.sources) & posted
    assert draft.facts["reminder.items"].value == 2
