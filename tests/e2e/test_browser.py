"""The agent's workspace in a real browser (Debian's Chromium driven by Playwright) against
the real local stack with its demo data.

Without /usr/bin/chromium these tests are skipped with a message saying how to get it
(`./arrears test` installs it when it runs as root). Screenshots go to
test-artifacts/browser/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.local_stack import RunningStack, running_stack
from tests.support import poll_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
XSS_NAME = "<script>alert(1)</script> GmbH"
DEMO_PASSWORD = "arrears-demo"
DEMO_CUSTOMERS = 40

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's Chromium at /usr/bin/chromium: `apt-get install chromium` "
        "(./arrears test installs it when run as root)",
        allow_module_level=True,
    )

from playwright.sync_api import ConsoleMessage, Dialog, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("browser") / "state") as running:
        wait_for_demo_aging(running)
        yield running


def wait_for_demo_aging(stack: RunningStack, timeout: float = 180) -> None:
    """Until the aging service lists every demo customer (the overview's grids read it)."""
    url = stack.url("aging") + "/v1/companies/usmf/aging"
    poll_until(
        lambda: httpx.get(url, params={"limit": 1}, timeout=10).json()["total"],
        lambda total: total == DEMO_CUSTOMERS,
        timeout=timeout,
        interval=0.5,
        what=f"aging to list the {DEMO_CUSTOMERS} demo customers",
    )


class Watch:
    """Console errors, page errors and dialogs of one page: there must be none."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} at {message.location}")

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


@pytest.fixture
def page(stack: RunningStack) -> Iterator[tuple[Page, Watch]]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, base_url=stack.url("gateway")
        )
        page = context.new_page()
        watch = Watch(page)
        try:
            yield page, watch
        finally:
            context.close()
            browser.close()
    assert watch.errors == [], watch.errors
    assert watch.dialogs == [], watch.dialogs


def sign_in(page: Page, login: str, password: str) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Collections overview")).to_be_visible()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def grid_names(page: Page, table: str) -> list[str]:
    return page.locator(f"#{table} tbody td.customer a").all_inner_texts()


def test_the_agent_works_an_account_from_the_overview(
    stack: RunningStack, page: tuple[Page, Watch]
) -> None:
    browser, _watch = page
    sign_in(browser, "anna", DEMO_PASSWORD)
    highest = browser.locator("#highest-balances tbody tr")
    aged = browser.locator("#aged-balances tbody tr")
    expect(highest.first).to_be_visible()
    assert highest.count() > 1 and aged.count() > 1
    expect(browser.get_by_label("Pool")).to_have_value("anna")
    shot(browser, "overview")

    browser.locator("#highest-balances thead").get_by_role("link", name="Customer").click()
    expect(browser.locator("#highest-balances th[aria-sort='ascending']")).to_have_count(1)
    names = grid_names(browser, "highest-balances")
    assert names == sorted(names, key=str.casefold) and len(names) > 1
    shot(browser, "overview-sorted-by-name")

    # The demo customer named like a script shows as text, in the grid and on its page.
    expect(browser.get_by_role("link", name=XSS_NAME).first).to_be_visible()
    browser.get_by_role("link", name=XSS_NAME).first.click()
    expect(browser.get_by_role("heading", level=1)).to_contain_text(XSS_NAME)

    browser.goto("/")
    browser.locator("#highest-balances tbody td.customer a").first.click()
    expect(browser.locator("svg.chart")).to_be_visible()
    bars = browser.locator("svg.chart g.bar")
    assert bars.count() == 6
    tabs = browser.get_by_role("navigation", name="Transactions").get_by_role("link")
    assert tabs.all_inner_texts() == [
        "Open transactions",
        "Disputed",
        "Promised to pay",
        "Unsettled payments",
    ]
    shot(browser, "customer")
    customer_url = browser.url.split("?")[0]

    disputed = choose_open_invoice(browser)
    browser.get_by_label("New status").select_option("disputed")
    browser.get_by_role("button", name="Change status").click()
    expect(browser.get_by_role("status")).to_contain_text("done (collection status changed)")
    in_tab(browser, customer_url, "disputed", disputed)
    shot(browser, "disputed-tab")
    on_timeline(browser, customer_url, "status_change", disputed)
    shot(browser, "timeline-status-change")

    browser.goto(customer_url)
    promised = choose_open_invoice(browser, disputed)
    browser.get_by_label("New status").select_option("promised_to_pay")
    promise_day = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()
    browser.get_by_label("Promised date").fill(promise_day)
    browser.get_by_label("Promised amount").fill("10.00")
    browser.get_by_role("button", name="Change status").click()
    expect(browser.get_by_role("status")).to_contain_text("done (collection status changed)")
    in_tab(browser, customer_url, "promised", promised)
    expect(browser.locator("#tab-promised")).to_contain_text(promise_day)
    shot(browser, "promised-tab")


def choose_open_invoice(page: Page, *other_than: str) -> str:
    """Pick an open, not disputed invoice in the status form (none of `other_than`); its
    document number."""
    options = page.locator("#status-transaction option")
    for index in range(options.count()):
        option = options.nth(index)
        label = option.inner_text()
        value = option.get_attribute("value") or ""
        document = label.split(" — ")[0]
        if value and "(not disputed)" in label and document not in other_than:
            page.get_by_label("Transaction", exact=True).select_option(value)
            return document
    raise AssertionError("no open invoice to work on")


def in_tab(page: Page, customer_url: str, tab: str, document: str, timeout: float = 60) -> None:
    """The tab lists the document once aging has consumed the event."""
    table = page.locator(f"#tab-{tab}")

    def shown() -> str:
        page.goto(f"{customer_url}?tab={tab}")
        return table.inner_text()

    poll_until(
        shown,
        lambda text: document in text,
        timeout=timeout,
        interval=0.5,
        what=f"{document} in the {tab} tab",
    )


def on_timeline(
    page: Page, customer_url: str, entry_type: str, document: str, timeout: float = 60
) -> None:
    """The customer's timeline shows an entry of this type for the document, once the
    timeline service has consumed the event."""
    rows = page.locator(f"#timeline tbody tr[data-type='{entry_type}']")

    def shown() -> str:
        page.goto(f"{customer_url}?tl_type={entry_type}#panel-timeline")
        return " ".join(rows.all_inner_texts())

    poll_until(
        shown,
        lambda text: document in text,
        timeout=timeout,
        interval=0.5,
        what=f"a {entry_type} of {document} on the timeline",
    )


def test_my_activities_show_memos_as_text_and_close_from_the_overview(
    stack: RunningStack, page: tuple[Page, Watch]
) -> None:
    browser, _watch = page
    sign_in(browser, "anna", DEMO_PASSWORD)
    rows = browser.locator("#my-activities tbody tr[data-activity]")
    expect(rows.first).to_be_visible()
    before = rows.count()
    assert before >= 2
    # The demo memo holds markup: it shows as text on focus (keyboard) and hover.
    memo = browser.locator("#my-activities .memo").filter(has_text="<b>call back</b>").first
    memo.focus()
    expect(memo.locator(".memo-text")).to_be_visible()
    expect(memo.locator(".memo-text")).to_have_text(re.compile(r"^<b>call back</b> <script>"))
    shot(browser, "my-activities-memo")
    browser.mouse.move(0, 0)
    browser.locator("#my-activities .memo").first.hover()
    expect(browser.locator("#my-activities .memo").first.locator(".memo-text")).to_be_visible()

    target = rows.filter(has_not=browser.locator(".memo", has_text="<b>call back</b>")).first
    activity = target.get_attribute("data-activity")
    target.get_by_role("checkbox").check()
    browser.get_by_role("button", name="Close chosen activities").click()
    expect(browser.get_by_role("status")).to_contain_text("done (activity closed)")
    row = browser.locator(f"#my-activities tr[data-activity='{activity}']")

    def rows_left() -> int:
        browser.goto("/")
        return row.count()

    poll_until(
        rows_left,
        lambda count: count == 0,
        interval=0.5,
        what="the closed activity to leave my activities",
    )
    shot(browser, "my-activities-closed")


def overview_customers(browser: Page, count: int = 8) -> list[str]:
    customers = browser.locator("#highest-balances tbody td.customer a")
    return [
        str(customers.nth(i).get_attribute("href")) for i in range(min(count, customers.count()))
    ]


def reminder_draft_of(browser: Page, link: str) -> bool:
    """Through the confirmation to the customer's reminder draft (False: no draft for it)."""
    browser.goto(link)
    expect(browser.locator("#panel-summary")).to_contain_text("Generated")
    browser.get_by_role("link", name="Create reminder email").click()
    expect(browser.get_by_role("heading", name="Create a reminder email")).to_be_visible()
    expect(browser.locator("#draft-mailto")).to_have_count(0)
    shot(browser, "reminder-confirmation")
    browser.get_by_label("I understand").check()
    browser.get_by_role("button", name="Create the draft").click()
    if browser.get_by_role("heading", name="Reminder draft").count():
        return True
    expect(browser.get_by_role("alert")).to_contain_text("No draft:")
    return False


def test_the_reminder_email_is_confirmed_then_drafted_with_a_mailto_link(
    stack: RunningStack, page: tuple[Page, Watch]
) -> None:
    browser, _watch = page
    sign_in(browser, "anna", DEMO_PASSWORD)
    if not any(reminder_draft_of(browser, link) for link in overview_customers(browser)):
        raise AssertionError("no customer of the pool could get a reminder draft")
    mail = browser.locator("#draft-mailto")
    href = mail.get_attribute("href") or ""
    assert href.startswith("mailto:") and "?subject=" in href and "&body=" in href
    browser.get_by_label("Subject").fill("Our reminder & statement")
    href = mail.get_attribute("href") or ""
    assert "subject=Our%20reminder%20%26%20statement" in href
    shot(browser, "reminder-draft")


def test_the_agent_sends_a_reminder_sees_it_delivered_and_finds_it_in_the_sink(
    stack: RunningStack, page: tuple[Page, Watch]
) -> None:
    browser, _watch = page
    sign_in(browser, "anna", DEMO_PASSWORD)
    subject = f"Reminder from Anna {datetime.now(UTC):%H%M%S%f}"
    text = "Dear customer,\nplease settle the overdue invoices this week.\nAnna"
    notifier, summary = stack.url("notifier"), stack.url("summary")
    # The demo's customers have disputes and promises that the default contact rules respect
    # (tested on their own); here the company's rules let a reminder through.
    relaxed = {"max_messages_per_week": 100, "block_disputed": False, "block_promised": False}
    policy = httpx.put(
        f"{notifier}/v1/companies/usmf/contact-policy",
        json=relaxed,
        headers={"X-Arrears-Actor": "e2e-admin"},
        timeout=60,
    )
    assert policy.status_code == 200, policy.text

    def drafts(link: str) -> bool:
        """The summary service writes a reminder for the customer (it has an overdue
        invoice and a collections contact with an email address)."""
        answer = httpx.post(
            f"{summary}/v1{link}/reminder-drafts", headers={"X-Arrears-Actor": "anna"}, timeout=60
        )
        return answer.status_code == 201

    customer = next((c for c in overview_customers(browser, 40) if drafts(c)), None)
    assert customer is not None, "no customer of the pool gets a reminder draft"
    assert reminder_draft_of(browser, customer)
    browser.get_by_label("Subject", exact=True).fill(subject)
    browser.get_by_label("Text", exact=True).fill(text)
    browser.get_by_role("button", name="Send", exact=True).click()
    expect(browser.get_by_role("heading", name=f"Email: {subject}")).to_be_visible()
    expect(browser.get_by_role("status")).to_contain_text("handed to the notifier")

    def state() -> str:
        browser.reload()
        return browser.locator("#email-status").get_attribute("data-status") or ""

    poll_until(state, lambda s: s == "delivered", timeout=300, interval=1, what="delivery")
    expect(browser.locator("#email-text")).to_contain_text("please settle the overdue invoices")
    shot(browser, "reminder-sent")

    def timeline() -> str:
        browser.goto(f"{customer}")
        return browser.locator("#timeline").inner_text()

    shown = poll_until(
        timeline,
        lambda t: f"Email delivered: {subject}" in t,
        timeout=300,
        interval=1,
        what="the email on the timeline",
    )
    assert "action, closed" in shown
    shot(browser, "reminder-on-timeline")

    sink = stack.addresses["mail_sink"]["http"]
    received = httpx.get(f"{sink}/v1/messages", timeout=30).json()["items"]
    [message] = [m for m in received if m["subject"] == subject]
    body = httpx.get(f"{sink}/v1/messages/{message['id']}", timeout=30).json()
    assert "please settle the overdue invoices this week." in body["text"]

    admin = browser.context.browser
    assert admin is not None
    context = admin.new_context(base_url=stack.url("gateway"))
    try:
        desk = context.new_page()
        sign_in(desk, *stack.first_admin())
        desk.goto("/admin/mail-sink")
        desk.get_by_role("link", name=subject).click()
        expect(desk.locator("#sink-text")).to_contain_text("please settle the overdue invoices")
        shot(desk, "mail-sink-message")
        desk.goto("/admin/emails")
        expect(desk.locator("#emails")).to_contain_text(subject)
    finally:
        context.close()


def test_a_supervisor_sees_every_pool_and_the_write_off_form(
    stack: RunningStack, page: tuple[Page, Watch]
) -> None:
    browser, _watch = page
    sign_in(browser, "chloe", DEMO_PASSWORD)
    options: Any = browser.get_by_label("Pool").locator("option").all_inner_texts()
    assert "All customers" in options and len(options) >= 6
    browser.locator("#highest-balances tbody td.customer a").first.click()
    expect(browser.get_by_role("button", name="Write off")).to_be_visible()
    shot(browser, "supervisor-customer")


def test_the_first_admin_signs_in_with_the_printed_password(
    stack: RunningStack, page: tuple[Page, Watch]
) -> None:
    browser, _watch = page
    login, password = stack.first_admin()
    sign_in(browser, login, password)
    expect(browser.get_by_role("link", name="Administration")).to_be_visible()


GRID_LAYOUT = """() => {
  const width = window.innerWidth;
  const problems = [];
  if (document.documentElement.scrollWidth > width) {
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
  }
  for (const table of document.querySelectorAll("table.grid")) {
    const box = table.closest(".scroll");
    if (!box) { problems.push(`${table.id}: not in a scroll box`); continue; }
    const frame = box.getBoundingClientRect();
    if (frame.left < 0 || frame.right > width + 1) {
      problems.push(`${table.id}: its box spans ${frame.left}-${frame.right} of ${width}`);
    }
    const first = table.querySelector("thead th");
    if (first && getComputedStyle(first).position !== "sticky") {
      problems.push(`${table.id}: the first column is not fixed`);
    }
    // Where each column lies in the box's scrollable area, in the box's own coordinates.
    const origin = frame.left + box.clientLeft - box.scrollLeft;
    for (const th of table.querySelectorAll("thead th")) {
      const cell = th.getBoundingClientRect();
      const left = cell.left - origin, right = cell.right - origin;
      if (left < -1 || right > box.scrollWidth + 1) {
        const name = th.textContent.trim();
        problems.push(`${table.id}: ${name} spans ${left}-${right}, outside ${box.scrollWidth}`
          + ` (box ${box.clientWidth}, table ${table.getBoundingClientRect().width})`);
      }
    }
    for (const cell of table.querySelectorAll("td.money, td.number")) {
      if (getComputedStyle(cell).textAlign !== "right") {
        problems.push(`${table.id}: a number is not right-aligned`);
        break;
      }
    }
  }
  return problems;
}"""


def test_grids_fit_the_screen_at_1280_by_800(stack: RunningStack, page: tuple[Page, Watch]) -> None:
    browser, _watch = page
    sign_in(browser, "anna", DEMO_PASSWORD)
    expect(browser.locator("#highest-balances tbody tr").first).to_be_visible()
    assert browser.evaluate(GRID_LAYOUT) == []
    icon = browser.locator("link[rel=icon]").get_attribute("href")
    assert icon and browser.request.get(icon).headers["content-type"].startswith("image/svg")
    customer = browser.locator("#highest-balances tbody td.customer a").first
    customer.click()
    expect(browser.locator("#panel-timeline table.grid")).to_be_visible()
    shot(browser, "customer-1280x800")
    assert browser.evaluate(GRID_LAYOUT) == []
    heights = browser.locator("#timeline tbody tr").evaluate_all(
        "rows => rows.map(r => r.getBoundingClientRect().height)"
    )
    assert heights and max(heights) < 2 * min(heights), "a timeline entry wraps onto lines"
    negative = browser.locator("td.negative")
    if negative.count():
        assert negative.first.evaluate("c => getComputedStyle(c).color") == "rgb(179, 38, 30)"


def workspace_customer(browser: Page, pool: str) -> str:
    """The pool's customer with the demo's workspace items: an unsettled payment of an
    open invoice's amount and at least three open invoices neither disputed nor promised;
    its page's address (once
    aging has applied the demo's last days, which the ledger wrote before the stack was
    ready)."""

    def scan() -> str | None:
        browser.goto(f"/?pool={pool}")
        for link in overview_customers(browser, 25):
            browser.goto(link)
            paid = {amount_of(label) for _, label in options(browser, "#settle-payment")}
            free = [
                amount_of(label)
                for _, label in options(browser, "#status-transaction")
                if "(not disputed)" in label
            ]
            if len(free) >= 3 and paid & set(free):
                return browser.url.split("?")[0]
        return None

    found = poll_until(
        scan,
        lambda url: url is not None,
        timeout=300,
        interval=2,
        what=f"a customer of {pool} with an unsettled payment and open invoices",
    )
    assert found is not None
    return found


def options(browser: Page, select: str) -> list[tuple[str, str]]:
    """(value, label) of a select's choices."""
    found = browser.locator(f"{select} option:not([value=''])")
    return [
        (str(found.nth(i).get_attribute("value")), found.nth(i).inner_text())
        for i in range(found.count())
    ]


def amount_of(label: str) -> str:
    """The amount in an option's label: "INV-1 — 1,234.50 USD, due …" → "1,234.50"."""
    return label.split(" — ", 1)[1].split(" ", 1)[0]


def shows_without_reload(browser: Page, what: str) -> None:
    """The page the action led to says it was done and is not catching up."""
    expect(browser.get_by_role("status")).to_contain_text(what)
    expect(browser.locator(".catching-up")).to_have_count(0)


def test_each_action_shows_on_the_very_next_page(
    stack: RunningStack, page: tuple[Page, Watch]
) -> None:
    browser, _watch = page
    sign_in(browser, "chloe", DEMO_PASSWORD)
    customer_url = workspace_customer(browser, "ben")
    customer_id = customer_url.rsplit("/", 1)[1]
    payment_id, payment_label = options(browser, "#settle-payment")[0]
    payment = payment_label.split(" — ")[0]
    matching = [
        (value, label)
        for value, label in options(browser, "#settle-transaction")
        if amount_of(label) == amount_of(payment_label) and "(not disputed)" in label
    ]
    assert matching, (payment_label, options(browser, "#settle-transaction"))
    to_settle = matching[0][1].split(" — ")[0]
    smallest = min(
        (
            label
            for _, label in options(browser, "#status-transaction")
            if "(not disputed)" in label
        ),
        key=lambda label: float(amount_of(label).replace(",", "")),
    ).split(" — ")[0]

    browser.goto(f"{customer_url}?tab=disputed")
    disputed = choose_open_invoice(browser, to_settle, smallest)
    browser.get_by_label("New status").select_option("disputed")
    browser.locator("#status-reason").select_option("PRICE")
    browser.get_by_role("button", name="Change status").click()
    shows_without_reload(browser, "done (collection status changed)")
    expect(browser.locator("#tab-disputed")).to_contain_text(disputed)
    shot(browser, "after-dispute")

    browser.goto(f"{customer_url}?tab=promised")
    promised = choose_open_invoice(browser, disputed, to_settle, smallest)
    browser.get_by_label("New status").select_option("promised_to_pay")
    promise_day = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()
    browser.get_by_label("Promised date").fill(promise_day)
    browser.get_by_label("Promised amount").fill("10.00")
    browser.get_by_role("button", name="Change status").click()
    shows_without_reload(browser, "done (collection status changed)")
    expect(browser.locator("#tab-promised")).to_contain_text(promised)
    expect(browser.locator("#tab-promised")).to_contain_text(promise_day)

    browser.goto(f"{customer_url}?tab=unsettled_payments")
    browser.locator("#settle-payment").select_option(payment_id)
    browser.locator("#settle-transaction").select_option(matching[0][0])
    browser.get_by_role("button", name="Settle", exact=True).click()
    shows_without_reload(browser, "Settlement: done")
    expect(browser.locator("#tab-unsettled_payments")).not_to_contain_text(payment)
    shot(browser, "after-settle")

    browser.goto(f"{customer_url}?tab=open")
    browser.get_by_label("or a settled payment's transaction id").fill(payment_id)
    browser.get_by_label("NSF fee").fill("15.00")
    browser.locator("#nsf-bank").select_option("R01")
    browser.get_by_role("button", name="Return payment as NSF").click()
    shows_without_reload(browser, "NSF return: done")
    expect(browser.locator("#tab-open")).to_contain_text(f"{payment}-NSF")
    shot(browser, "after-nsf")

    open_invoices = int(browser.locator("dt:text-is('Open invoices') + dd").inner_text())
    boxes = browser.locator("#action-write-off input[type=checkbox]")
    labels = [
        browser.locator(f"label[for='{boxes.nth(i).get_attribute('id')}']").inner_text()
        for i in range(boxes.count())
    ]
    written_off = smallest
    boxes.nth(
        next(i for i, label in enumerate(labels) if label.startswith(f"{smallest} — "))
    ).check()
    browser.locator("#wo-reason").select_option("SMALL")
    browser.locator("#wo-account").select_option("6110")
    browser.get_by_role("button", name="Write off").click()
    shows_without_reload(browser, "Write-off: done")
    expect(browser.locator("#tab-open")).not_to_contain_text(written_off)
    expect(browser.locator("dt:text-is('Open invoices') + dd")).to_have_text(str(open_invoices - 1))
    shot(browser, "after-write-off")

    browser.goto(f"{customer_url}?tl_type=reprint")
    document = next(
        v for v, label in options(browser, "#reprint-transaction") if label.startswith(disputed)
    )
    browser.locator("#reprint-transaction").select_option(document)
    browser.get_by_label("Channel").select_option("print")
    browser.get_by_role("button", name="Request reprint").click()
    shows_without_reload(browser, "Reprint request: done")
    expect(browser.locator("#panel-timeline")).to_contain_text("Reprint request")

    browser.goto(customer_url)
    purpose = f"Call back {datetime.now(UTC):%H%M%S}"
    form = browser.locator("#new-activity")
    form.get_by_label("Purpose").fill(purpose)
    form.get_by_label("Start (UTC)").fill("2026-12-10T09:00")
    form.get_by_role("button", name="Create activity").click()
    shows_without_reload(browser, "New activity: done (activity created)")
    expect(browser.locator("#panel-timeline")).to_contain_text(purpose)
    shot(browser, "after-new-activity-customer")

    browser.goto("/?pool=ben")
    browser.locator("details.new-activity summary").click()
    overview_form = browser.locator("#new-activity")
    overview_form.get_by_label("Customer account").fill(customer_id)
    overview_form.get_by_label("Purpose").fill(f"{purpose} again")
    overview_form.get_by_label("Start (UTC)").fill("2026-12-11T09:00")
    overview_form.get_by_role("button", name="Create activity").click()
    shows_without_reload(browser, "New activity: done (activity created)")
    row = browser.locator("#my-activities tbody tr[data-activity]", has_text=f"{purpose} again")
    expect(row).to_have_count(1)
    activity = row.get_attribute("data-activity")
    row.get_by_role("checkbox").check()
    browser.get_by_role("button", name="Close chosen activities").click()
    shows_without_reload(browser, "done (activity closed)")
    expect(browser.locator(f"#my-activities tr[data-activity='{activity}']")).to_have_count(0)
    shot(browser, "after-close-activity")


def test_the_admin_edits_pick_lists_and_letter_sequences_in_forms(
    stack: RunningStack, page: tuple[Page, Watch]
) -> None:
    browser, _watch = page
    login, password = stack.first_admin()
    sign_in(browser, login, password)
    browser.goto("/admin/pick-lists")
    expect(browser.locator("#list-reason-codes")).to_contain_text("Save reason codes")
    shot(browser, "admin-pick-lists")
    browser.goto("/admin/letter-sequences")
    form = browser.locator("#sequence-form")
    form.get_by_label("Id").fill("BROWSER")
    form.get_by_label("Name", exact=True).fill("Browser sequence")
    form.get_by_label("Name of level 1").fill("Friendly reminder")
    form.get_by_label("Days overdue of level 1").fill("7")
    form.get_by_label("Name of level 2").fill("Final notice")
    form.get_by_label("Days after the previous letter of level 2").fill("14")
    form.get_by_label("Fee of level 2").fill("25.00")
    form.get_by_role("button", name="Save sequence").click()
    expect(browser.get_by_role("status")).to_contain_text("Letter sequence BROWSER: saved.")
    expect(browser.locator("#sequences")).to_contain_text("Final notice: 14 days after")
    shot(browser, "admin-letter-sequences")


def test_the_supervisor_reads_the_dashboard_and_the_customers_behind_a_figure(
    stack: RunningStack, page: tuple[Page, Watch]
) -> None:
    browser, _watch = page
    sign_in(browser, "chloe", DEMO_PASSWORD)
    browser.get_by_role("link", name="Dashboard").click()
    expect(browser.get_by_role("heading", name="Collections dashboard")).to_be_visible()
    expect(browser.locator("svg.chart")).to_have_count(8)
    assert browser.locator("#chart-dso a").count() == 12
    assert browser.evaluate("document.documentElement.scrollWidth") <= 1280
    shot(browser, "dashboard")
    browser.locator("#dashboard-scope").get_by_label("Customers").select_option("agent:anna")
    browser.get_by_role("button", name="Show").click()
    expect(browser.locator("#dash-scope")).to_have_value("agent:anna")
    browser.get_by_role("link", name="Customers behind DSO").click()
    expect(browser.get_by_role("heading", level=1)).to_contain_text("DSO of")
    rows = browser.locator("#figure-customers tbody tr[data-customer]")
    expect(rows.first).to_be_visible()
    shot(browser, "dashboard-customers")
    rows.first.locator("td.customer a").click()
    expect(browser.locator("svg.chart")).to_be_visible()
