"""Facts on worked histories: every figure computed by hand from the story."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arrears.shared.events.customers import Contact
from arrears.summary.domain import FactSheet, check, write_summary
from tests.unit.aging import Story
from tests.unit.summary import (
    INJECTION,
    activity,
    aging_event,
    figures,
    open_items_published,
    sheet_of,
)

pytestmark = pytest.mark.unit

D = Decimal


def contact() -> Contact:
    return Contact(name="Dana Fox", email="ap@example.test", role="accounts payable")


def regular() -> tuple[Story, dict[str, str]]:
    """Two invoices paid (one on time, one in two parts 10 and 20 days late), a third one
    overdue with a broken promise and a letter."""
    s = Story()
    s.register(name="Northwind Traders", collections_contact=contact())
    ids: dict[str, str] = {}
    s.on(date(2025, 1, 6))
    ids["i1"] = s.invoice("1000.00", due_in=30)  # due 2025-02-05
    s.on(date(2025, 1, 20))
    ids["i2"] = s.invoice("500.00", due_in=30)  # due 2025-02-19
    s.on(date(2025, 2, 3))
    ids["p1"] = s.payment("1000.00")
    ids["s1"] = s.settle(ids["p1"], [(ids["i1"], None)]) or ""
    s.on(date(2025, 3, 1))
    ids["p2"] = s.payment("300.00")
    s.settle(ids["p2"], [(ids["i2"], None)])
    s.on(date(2025, 3, 11))
    ids["p3"] = s.payment("200.00")
    s.settle(ids["p3"], [(ids["i2"], None)])
    s.on(date(2025, 3, 15))
    ids["i3"] = s.invoice("800.00", due_in=30)  # due 2025-04-14
    s.on(date(2025, 4, 20))
    assert s.set_status(ids["i3"], "promised_to_pay", promise_in=10)  # promised 2025-04-30
    s.on(date(2025, 5, 5))
    assert s.judge_promise(ids["i3"], kept=False)
    s.on(date(2025, 5, 6))
    assert s.letter([ids["i3"]])
    return s, ids


TODAY = date(2025, 5, 10)


def value(sheet: FactSheet, key: str) -> object:
    fact = sheet.get(key)
    assert fact is not None, f"no fact {key}"
    return fact.value


def test_payment_history_of_a_regular_payer() -> None:
    s, _ = regular()
    sheet = sheet_of(s.events, TODAY, s)
    assert value(sheet, "history.invoices_paid") == 2
    assert value(sheet, "history.paid_on_time") == 1
    assert value(sheet, "history.on_time_share") == D("50.00")
    assert value(sheet, "history.average_days_late") == D("10.0")  # (0 + 20) / 2
    # (0 x 1000 + 10 x 300 + 20 x 200) / 1500 = 4.67
    assert value(sheet, "history.weighted_days_late") == D("4.7")
    assert value(sheet, "history.payments") == 3
    assert value(sheet, "history.received") == D("1500.00")
    assert value(sheet, "history.last_payment_date") == date(2025, 3, 11)
    assert value(sheet, "history.last_payment_amount") == D("200.00")
    assert value(sheet, "history.returned_payments") == 0


def test_open_debt_promises_letters_and_recent_invoices() -> None:
    s, ids = regular()
    sheet = sheet_of(s.events, TODAY, s)
    assert value(sheet, "open.receivables") == 1
    assert value(sheet, "open.overdue") == 1
    assert value(sheet, "open.oldest_days_overdue") == 26  # 2025-04-14 .. 2025-05-10
    assert value(sheet, "open.oldest_document") == f"INV-{ids['i3']}"
    i3 = f"invoice.{ids['i3']}."
    assert value(sheet, i3 + "due") == date(2025, 4, 14)
    assert value(sheet, i3 + "open") == D("800.00")
    assert value(sheet, i3 + "status") == "overdue"
    assert value(sheet, f"invoice.{ids['i2']}.paid_on") == date(2025, 3, 11)
    assert value(sheet, f"invoice.{ids['i2']}.status") == "paid"
    assert value(sheet, "promises.open") == 0
    assert value(sheet, "promises.broken") == 1
    assert value(sheet, "promises.kept") == 0
    assert value(sheet, "promises.last_broken_date") == date(2025, 4, 30)
    assert value(sheet, "letters.last_level") == 1
    assert value(sheet, "letters.last_amount") == D("800.00")
    assert value(sheet, "letters.last_date") == date(2025, 5, 6)
    assert value(sheet, "recent.invoices") == 3
    assert value(sheet, "recent.amount") == D("2300.00")
    assert value(sheet, "recent.open") == 1
    assert value(sheet, "credit.limit") == D("10000.00")
    assert value(sheet, "customer.contact_email") == "ap@example.test"


def test_debt_by_period_comes_from_the_aging_event_and_cites_it() -> None:
    s, _ = regular()
    aging = aging_event(s, revision=7, balance="800.00", periods=["0", "800.00"])
    sheet = sheet_of([*s.events, aging], TODAY, s)
    assert value(sheet, "debt.balance") == D("800.00")
    assert value(sheet, "debt.overdue") == D("800.00")
    assert value(sheet, "debt.period.1.amount") == D("800.00")
    assert value(sheet, "debt.period.1.name") == "1-30"
    assert value(sheet, "credit.remaining") == D("9200.00")
    for key in ("debt.balance", "debt.period.1.amount", "credit.remaining"):
        assert sheet[key].sources == (str(aging.event_id),)
    # the newest aging revision behind the facts: of the figures or of the open amounts
    assert sheet.aging_revision == max(7, len(open_items_published(s.events)))
    assert sheet.position == len(s.events)


def test_every_fact_cites_events_of_the_customer() -> None:
    s, ids = regular()
    aging = aging_event(s, revision=1, balance="800.00", periods=["0", "800.00"])
    events = [*s.events, aging, *open_items_published(s.events)]
    sheet = sheet_of(events, TODAY, s)
    known = {str(e.event_id) for e in events}
    for fact in sheet.facts:
        assert set(fact.sources) <= known, fact.key
    paid = sheet["history.invoices_paid"].sources
    settlement_events = {str(e.event_id) for e in s.events if e.type == "PaymentSettled"}
    assert settlement_events <= set(paid)
    assert sheet[f"invoice.{ids['i3']}.open"].sources[0] == next(
        str(e.event_id) for e in s.events if getattr(e.data, "transaction_id", None) == ids["i3"]
    )


def test_a_customer_with_no_payments() -> None:
    s = Story()
    s.register(name="Slow Start Ltd", collections_contact=contact())
    s.on(date(2025, 1, 6))
    s.invoice("400.00", due_in=30)  # due 2025-02-05
    s.on(date(2025, 2, 6))
    s.invoice("600.00", due_in=30)  # due 2025-03-08
    today = date(2025, 4, 1)
    aging = aging_event(s, revision=2, balance="1000.00", periods=["0", "600.00", "400.00"])
    sheet = sheet_of([*s.events, aging], today, s)
    assert value(sheet, "history.invoices_paid") == 0
    assert value(sheet, "history.payments") == 0
    for missing in (
        "history.on_time_share",
        "history.average_days_late",
        "history.weighted_days_late",
        "history.last_payment_date",
        "history.received",
    ):
        assert missing not in sheet, missing
    assert value(sheet, "open.overdue") == 2
    assert value(sheet, "open.oldest_days_overdue") == 55
    text = write_summary(sheet)
    assert "No invoice was paid" in text or "has not paid any invoice" in text
    assert "No payment has been received so far." in text
    assert "USD 1,000.00" in text and "55 days" in text
    assert check(text, sheet).passed


def test_a_customer_with_only_credits() -> None:
    s = Story()
    s.register(name="Credit Holder GmbH", collections_contact=contact())
    s.on(date(2025, 2, 3))
    s.credit_note("250.00")
    s.on(date(2025, 2, 10))
    s.credit_note("100.00")
    aging = aging_event(s, revision=2, balance="-350.00", periods=["-350.00"])
    sheet = sheet_of([*s.events, aging], date(2025, 3, 1), s)
    assert value(sheet, "open.receivables") == 0
    assert value(sheet, "credits.open") == 2
    assert value(sheet, "credits.amount.USD") == D("350.00")
    assert value(sheet, "debt.balance") == D("-350.00")
    assert value(sheet, "history.invoices_paid") == 0
    assert value(sheet, "recent.invoices") == 0
    assert value(sheet, "credit.remaining") == D("10350.00")
    text = write_summary(sheet)
    assert "in credit by USD 350.00" in text or "credit balance of USD 350.00" in text
    assert "No invoice was posted in the last six months." in text
    assert check(text, sheet).passed


def test_a_customer_paying_very_late() -> None:
    s = Story()
    s.register(name="Late Again Inc.")
    s.on(date(2025, 1, 6))
    i1 = s.invoice("1000.00", due_in=30)  # due 2025-02-05
    s.on(date(2025, 2, 6))
    i2 = s.invoice("500.00", due_in=30)  # due 2025-03-08
    s.on(date(2025, 5, 11))
    s.settle(s.payment("1000.00"), [(i1, None)])  # 95 days late
    s.on(date(2025, 7, 6))
    s.settle(s.payment("500.00"), [(i2, None)])  # 120 days late
    sheet = sheet_of(s.events, date(2025, 7, 10), s)
    assert value(sheet, "history.invoices_paid") == 2
    assert value(sheet, "history.paid_on_time") == 0
    assert value(sheet, "history.on_time_share") == D("0.00")
    assert value(sheet, "history.average_days_late") == D("107.5")
    # (95 x 1000 + 120 x 500) / 1500 = 103.33
    assert value(sheet, "history.weighted_days_late") == D("103.3")
    text = write_summary(sheet)
    assert "none of them on time" in text
    assert "107.5 days" in text and "103.3 days weighted by amount" in text
    assert "0%" not in text
    assert check(text, sheet).passed


def test_a_returned_payment_reopens_the_invoice_and_is_not_a_payment() -> None:
    s = Story()
    s.register(name="Bounce Co")
    s.on(date(2025, 1, 6))
    invoice = s.invoice("500.00", due_in=30)
    s.on(date(2025, 2, 1))
    payment = s.payment("500.00")
    s.settle(payment, [(invoice, None)])
    s.on(date(2025, 2, 10))
    assert s.nsf(payment, fee=D("25.00"))
    sheet = sheet_of(s.events, date(2025, 3, 1), s)
    assert value(sheet, "history.invoices_paid") == 0
    assert value(sheet, "history.payments") == 0
    assert value(sheet, "history.returned_payments") == 1
    assert "history.last_payment_date" not in sheet
    assert value(sheet, f"invoice.{invoice}.open") == D("500.00")
    assert value(sheet, "open.receivables") == 2  # the invoice and the NSF fee
    text = write_summary(sheet)
    assert "One payment was returned unpaid by the bank in the past year." in text
    assert "No payment has been received so far." not in text
    assert check(text, sheet).passed


def test_reversed_settlements_write_offs_and_credit_notes_do_not_count_as_paid() -> None:
    s = Story()
    s.register(name="Mixed Ltd")
    s.on(date(2025, 1, 6))
    reversed_invoice = s.invoice("300.00", due_in=10)
    credited = s.invoice("200.00", due_in=10)
    written = s.invoice("50.00", due_in=10)
    s.on(date(2025, 1, 10))
    settlement = s.settle(s.payment("300.00"), [(reversed_invoice, None)])
    assert settlement is not None
    s.settle(s.credit_note("200.00"), [(credited, None)])
    assert s.write_off([(written, None)])
    s.on(date(2025, 1, 20))
    assert s.reverse(settlement)
    sheet = sheet_of(s.events, date(2025, 2, 1), s)
    assert value(sheet, "history.invoices_paid") == 0
    assert value(sheet, f"invoice.{reversed_invoice}.open") == D("300.00")
    assert value(sheet, f"invoice.{credited}.status") == "closed"
    assert value(sheet, f"invoice.{written}.status") == "closed"
    assert value(sheet, "credits.open") == 1  # the payment, unapplied again
    assert value(sheet, "credits.amount.USD") == D("300.00")


def test_disputes_and_open_promises() -> None:
    s = Story()
    s.register(name="Arguing Co")
    s.on(date(2025, 1, 6))
    disputed = s.invoice("700.00", due_in=14)
    promised = s.invoice("300.00", due_in=14)
    s.on(date(2025, 2, 1))
    assert s.set_status(disputed, "disputed")
    assert s.set_status(promised, "promised_to_pay", promise_in=10, promise_amount=D("150.00"))
    sheet = sheet_of(s.events, date(2025, 2, 3), s)
    assert value(sheet, "disputes.open") == 1
    assert value(sheet, "disputes.amount.USD") == D("700.00")
    assert value(sheet, "promises.open") == 1
    assert value(sheet, f"promise.{promised}.date") == date(2025, 2, 11)
    assert value(sheet, f"promise.{promised}.amount") == D("150.00")
    assert value(sheet, f"invoice.{disputed}.status") == "disputed"
    assert value(sheet, f"invoice.{promised}.status") == "promised"
    text = write_summary(sheet)
    assert "One receivable is in dispute (USD 700.00)." in text
    assert "USD 150.00" in text and "11 February 2025" in text
    assert check(text, sheet).passed


def test_a_memo_cannot_change_any_figure() -> None:
    s, _ = regular()
    plain = sheet_of(s.events, TODAY, s)
    activity(s, "Call about the overdue invoice", INJECTION)
    injected = sheet_of(s.events, TODAY, s)
    assert figures(injected) == figures(plain)
    memo = next(f for f in injected.facts if f.key.endswith(".memo"))
    assert memo.value == INJECTION and memo.untrusted
    # Positions differ by the activity event, so only the phrasing may differ; the figures
    # written are the same.
    plain_text, injected_text = write_summary(plain), write_summary(injected)
    assert check(injected_text, injected).passed
    assert set(check(plain_text, plain).matched) <= set(check(injected_text, injected).matched)
    assert "zero" not in injected_text.lower()


def test_customer_written_text_is_marked_untrusted() -> None:
    s, _ = regular()
    activity(s, "Purpose from an agent", "Memo from the customer")
    sheet = sheet_of(s.events, TODAY, s)
    untrusted = {
        f.key.split(".")[0] + "." + f.key.rsplit(".", 1)[-1] for f in sheet.facts if f.untrusted
    }
    assert {"customer.name", "customer.contact_name", "customer.contact_email"} <= untrusted
    assert {"activity.memo", "activity.purpose"} <= untrusted
    assert not sheet["open.oldest_document"].untrusted
