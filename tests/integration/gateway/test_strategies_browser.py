"""The Strategies and Backtest pages in a real browser (Debian's Chromium driven by
Playwright) on the real stack: an admin makes a version in the editor's rows, runs its
backtest, and the page shows what the aging service answers for the same request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.gateway.conftest import ADMIN_PASSWORD, COMPANY, Stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
POOL = "west"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "browser"

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's Chromium at /usr/bin/chromium: `apt-get install chromium`",
        allow_module_level=True,
    )

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def customers(stack: Stack) -> None:
    stack.pool(POOL, "wendy")
    for customer, amount in (("W-1", "900.00"), ("W-2", "40.00"), ("W-3", "250.00")):
        stack.register(customer, "wendy")
        stack.invoice(customer, f"INV-{customer}", amount)
    # another customer's invoice paid on its due date: W-1's expected payment date
    stack.register("X-1", "xavier")
    invoice = stack.invoice("X-1", "INV-X-1", "100.00")
    stack.pay("X-1", invoice, "100.00", "2026-03-31")
    stack.wait_for_aging("W-1", "W-2", "W-3", "X-1")


@pytest.fixture
def page(stack: Stack) -> Iterator[Page]:
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, base_url=stack.urls["gateway"]
        )
        opened = context.new_page()
        opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        opened.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield opened
        finally:
            context.close()
            browser.close()
    # the refused form is answered 422 on purpose; Chromium logs any 4xx page as an error
    assert [e for e in errors if "status of 422" not in e] == []


def fits_the_screen(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"{page.url} is {width}px wide"


def sign_in_as_admin(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Login").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Collections overview")).to_be_visible()


def fill_step(
    page: Page, number: int, kind: str, days: str, more: dict[str, str] | None = None
) -> None:
    """Fill a row of the editor: its kind, its days, and fields by their label's start."""
    page.get_by_label(f"What step {number} does").select_option(kind)
    page.get_by_label(f"Days of step {number}").fill(days)
    for label, value in (more or {}).items():
        page.get_by_label(f"{label} of step {number}").fill(value)


def test_an_admin_makes_a_version_in_the_editor_and_backtests_it(
    stack: Stack, customers: None, page: Page
) -> None:
    sign_in_as_admin(page)
    page.goto(f"/admin/strategies?company={COMPANY}&scope={POOL}")
    expect(page.get_by_text(f"No strategy yet for {POOL}")).to_be_visible()
    fits_the_screen(page, "strategy-new")

    fill_step(page, 1, "reminder_email", "3")
    page.get_by_role("button", name="Add step").click()
    fill_step(page, 2, "letter", "15", {"Minimum open amount": "100"})
    # a letter without its level: the aging service's reason beside the form, rows kept
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator("#strategy-error")).to_contain_text("step 2: a letter needs its level")
    expect(page.get_by_label("Days of step 2")).to_have_value("15")
    page.get_by_label("Letter level of step 2").fill("1")
    page.get_by_role("button", name="Add step").click()
    fill_step(page, 3, "call", "7")
    page.get_by_label("Step 3 counts days after").select_option("previous_step")
    # a fourth row, thought better of: removed, it is no step
    page.get_by_role("button", name="Add step").click()
    fill_step(page, 4, "escalate", "60")
    page.locator("#strategy-rows tbody tr").nth(3).get_by_role("button", name="Remove").click()
    expect(page.locator("#strategy-rows tbody tr")).to_have_count(3)
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_role("status")).to_contain_text("Version 1 of the strategy of west saved")
    steps = page.locator("#strategy-steps tbody tr")
    expect(steps).to_have_count(3)
    expect(steps.nth(1)).to_contain_text("Letter, level 1")
    expect(steps.nth(2)).to_contain_text("+7 days after the previous step")
    expect(page.locator("#strategy-versions")).to_contain_text("admin")
    fits_the_screen(page, "strategy-saved")

    page.get_by_role("link", name="Backtest this strategy").click()
    page.get_by_label("From").fill("2026-03-01")
    page.get_by_label("To", exact=True).fill("2026-06-14")
    page.get_by_label("Paid within (days)").fill("10")
    page.get_by_role("button", name="Run backtest").click()
    expect(page.locator("#backtest-report")).to_be_visible()
    fits_the_screen(page, "strategy-backtest")

    with stack.client("aging") as aging:
        answer = aging.post(
            f"/v1/companies/{COMPANY}/strategies/{POOL}/backtest",
            json={"from": "2026-03-01", "to": "2026-06-14", "paid_within_days": 10},
        )
    report = answer.json()
    assert report["version"] == 1 and report["items_covered"] == 3
    expect(page.locator("#bt-contacted")).to_have_text(str(report["customers_contacted"]))
    expect(page.locator("#bt-paid-within")).to_have_text(str(report["contacted_and_paid"]))
    expect(page.locator("#bt-items")).to_have_text(str(report["items_covered"]))
    expect(page.locator("#bt-proposed")).to_have_text(str(report["write_offs"]["proposed"]))
    shown_amount = page.locator("#bt-amount").inner_text()
    (currency, amount), *_ = report["amount_covered_by_currency"].items()
    assert shown_amount == f"{Decimal(amount):,.2f} {currency}" == "1,190.00 USD"

    # the weekly table: each week's actions (items) per step kind, as aging counted them
    headers = page.locator("#backtest-weeks thead th").all_inner_texts()[1:]
    kinds = page.locator("#backtest-weeks thead th[data-kind]").evaluate_all(
        "cells => cells.map(c => c.dataset.kind)"
    )
    assert headers == ["Reminder email", "Letter 1", "Call"]
    shown = {
        cells[0]: dict(zip(kinds, cells[1:], strict=True))
        for cells in (
            row.locator("td").all_inner_texts()
            for row in page.locator("#backtest-weeks tbody tr").all()
        )
    }
    expected = {
        week["week"]: {
            kind: f"{week['actions'].get(kind, 0)} ({week['items'].get(kind, 0)})" for kind in kinds
        }
        for week in report["weeks"]
    }
    assert shown == expected
    assert re.search(r"lower bound", page.locator("#backtest-limitations").inner_text())


def test_the_open_transactions_tab_fits_with_its_expected_payment_dates(
    stack: Stack, customers: None, page: Page
) -> None:
    sign_in_as_admin(page)
    page.goto(f"/companies/{COMPANY}/customers/W-1")
    due = page.locator("td.expected").first
    expect(due).to_have_attribute("title", re.compile(r"^expected \d{1,2} [A-Z][a-z]{2} \d{4}"))
    fits_the_screen(page, "customer-expected-payment")
