"""The agent's pages on the real gateway: overview grids, the customer page, its action
forms going through the ledger, and untrusted text rendered as text."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from arrears.gateway.domain.access import Role
from tests.integration.gateway.conftest import ADMIN_PASSWORD, COMPANY, Browser, Stack
from tests.support import poll_until

pytestmark = pytest.mark.integration
XSS = "<script>alert(1)</script> GmbH"


@dataclass
class Desk:
    stack: Stack
    pia: Browser
    invoices: dict[str, str]


@pytest.fixture(scope="module")
def desk(stack: Stack) -> Iterator[Desk]:
    stack.pool("pool-p", "owner-p")
    stack.register("P-1", "owner-p", name="Zeta Corp")
    stack.register("P-2", "owner-p", name="Alpha Inc")
    stack.register("P-3", "owner-p", name=XSS)
    invoices = {
        "P1-A": stack.invoice("P-1", "P1-A", "900.00"),
        "P1-B": stack.invoice("P-1", "P1-B", "100.00"),
        "P2-A": stack.invoice("P-2", "P2-A", "5000.00"),
        "P3-A": stack.invoice("P-3", "P3-A", "50.00"),
    }
    stack.wait_for_aging("P-1", "P-2", "P-3")
    stack.account("pia", {Role.AGENT}, ("pool-p",))
    with stack.sign_in("pia") as pia:
        yield Desk(stack, pia, invoices)


def names_in(table_id: str, page: str) -> list[str]:
    table = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return [html.unescape(n) for n in re.findall(r'/customers/[^"]+">([^<]+)</a>', table)]


def wait_for_page(desk: Desk, url: str, done: Callable[[str], bool], timeout: float = 60) -> str:
    return poll_until(
        lambda: desk.pia.http.get(url).text, done, timeout=timeout, what=f"{url} to show it"
    )


def test_the_overview_shows_both_grids_and_sorts_by_a_clicked_column(desk: Desk) -> None:
    page = desk.pia.http.get("/")
    assert page.status_code == 200
    assert names_in("highest-balances", page.text) == ["Alpha Inc", "Zeta Corp", XSS]
    assert set(names_in("aged-balances", page.text)) == {"Alpha Inc", "Zeta Corp", XSS}
    assert 'aria-sort="descending"' in page.text and "My activities" in page.text
    assert 'id="my-activities"' in page.text and "No open activities." in page.text
    link = re.search(r'id="highest-balances".*?<a href="([^"]+)" data-sort="name"', page.text, re.S)
    assert link is not None
    by_name = desk.pia.http.get(html.unescape(link.group(1))).text
    assert names_in("highest-balances", by_name) == [XSS, "Alpha Inc", "Zeta Corp"]
    again = re.search(r'id="highest-balances".*?<a href="([^"]+)" data-sort="name"', by_name, re.S)
    assert again is not None
    reversed_page = desk.pia.http.get(html.unescape(again.group(1))).text
    assert names_in("highest-balances", reversed_page) == ["Zeta Corp", "Alpha Inc", XSS]
    filtered = desk.pia.http.get("/", params={"hb_f_balance": "950"}).text
    assert names_in("highest-balances", filtered) == ["Alpha Inc", "Zeta Corp"]
    wrong = desk.pia.http.get("/", params={"hb_f_balance": "lots"}).text
    assert "is not a number" in wrong


def test_untrusted_names_render_as_text_on_every_page(desk: Desk) -> None:
    escaped = html.escape(XSS, quote=False)
    pages = [
        desk.pia.http.get("/").text,
        desk.pia.http.get(f"/companies/{COMPANY}/customers/P-3").text,
        desk.pia.http.get("/find", params={"company": COMPANY, "q": "P-"}).text,
        desk.pia.http.get("/find", params={"company": COMPANY, "q": "<script>alert(2)"}).text,
    ]
    for text in pages:
        assert "<script>alert(" not in text
    assert all(escaped in text for text in pages[:3])


def test_untrusted_email_text_renders_as_text_on_the_email_pages(desk: Desk) -> None:
    with desk.stack.client("notifier") as notifier:
        sent = notifier.post(
            f"/v1/companies/{COMPANY}/customers/P-3/emails",
            json={
                "to": {"address": "pat@p-3.example", "name": XSS},
                "subject": f"Reminder {XSS}",
                "text": f"Dear {XSS}",
                "related_transaction_ids": [desk.invoices["P3-A"]],
            },
            headers={"X-Arrears-Actor": "pia", "Idempotency-Key": "xss-email"},
        )
        assert sent.status_code in (200, 202), sent.text
        email_id = sent.json()["email_id"]
        poll_until(
            lambda: notifier.get(f"/v1/companies/{COMPANY}/emails/{email_id}").json(),
            lambda e: e["status"] == "delivered",
            timeout=180,
            what="the email to be delivered",
        )
    mailbox = desk.stack.mailbox
    assert mailbox is not None
    [number] = [m.number for m in mailbox.newest_first() if m.rcpt_tos == ("pat@p-3.example",)]
    with desk.stack.sign_in("admin", ADMIN_PASSWORD) as admin:
        pages = [
            desk.pia.http.get(f"/companies/{COMPANY}/customers/P-3/emails/{email_id}").text,
            admin.http.get("/admin/emails", params={"company": COMPANY}).text,
            admin.http.get(f"/admin/emails/{email_id}", params={"company": COMPANY}).text,
            admin.http.get("/admin/mail-sink").text,
            admin.http.get(f"/admin/mail-sink/{number}").text,
        ]
    escaped = html.escape(XSS, quote=False)
    for text in pages:
        assert "<script>alert(" not in text
        assert escaped in text


def test_the_customer_page_shows_facts_chart_tabs_and_contacts(desk: Desk) -> None:
    page = desk.pia.http.get(f"/companies/{COMPANY}/customers/P-1")
    assert page.status_code == 200
    text = page.text
    assert "Zeta Corp" in text and "1,000.00 USD" in text
    chart = text.split('<svg class="chart"', 1)[1].split("</svg>", 1)[0]
    assert chart.count("<rect") == 6 and "Current" in chart and "Over 120" in chart
    assert re.findall(r'data-tab="(\w+)"', text) == [
        "open",
        "disputed",
        "promised",
        "unsettled_payments",
    ]
    assert "P1-A" in text and "P1-B" in text
    assert 'href="mailto:pat@p-1.example"' in text and 'href="tel:+12125550100"' in text
    assert "Sam Sales" in text and "owner-p" in text
    assert 'id="panel-summary"' in text and 'id="timeline"' in text
    missing = desk.pia.http.get(f"/companies/{COMPANY}/customers/NOPE-1")
    assert missing.status_code == 404 and "<html" in missing.text


def test_a_dispute_and_a_promise_go_through_the_ledger_to_their_tabs(desk: Desk) -> None:
    url = f"/companies/{COMPANY}/customers/P-1"
    page = desk.pia.http.get(url).text
    desk.pia.csrf = re.findall(r'name="csrf_token" value="([^"]+)"', page)[-1]
    disputed = desk.pia.form(
        url + "/actions/status",
        {"transaction_id": desk.invoices["P1-A"], "status": "disputed", "reason_code": "PRICE"},
    )
    assert disputed.status_code == 303
    shown = desk.pia.http.get(disputed.headers["location"]).text
    assert "Change of collection status: done (collection status changed)." in shown
    wait_for_page(desk, url + "?tab=disputed", lambda p: "P1-A" in p.split('id="tab-')[1])

    promised = desk.pia.form(
        url + "/actions/status",
        {
            "transaction_id": desk.invoices["P1-B"],
            "status": "promised_to_pay",
            "promise_date": "2026-06-30",
            "promise_amount": "100.00",
        },
    )
    assert promised.status_code == 303
    tab = wait_for_page(desk, url + "?tab=promised", lambda p: "2026-06-30" in p)
    assert "P1-B" in tab.split('id="tab-promised"')[1]

    refused = desk.pia.form(
        url + "/actions/status",
        {"transaction_id": desk.invoices["P1-B"], "status": "promised_to_pay"},
    )
    message = desk.pia.http.get(refused.headers["location"]).text
    assert "Change of collection status was refused:" in message
    incomplete = desk.pia.form(url + "/actions/settle", {"transaction_id": desk.invoices["P1-B"]})
    assert (
        "Settlement: choose or enter the payment."
        in desk.pia.http.get(incomplete.headers["location"]).text
    )


def test_the_customer_picker_stays_in_the_pool(desk: Desk) -> None:
    one = desk.pia.http.get("/find", params={"company": COMPANY, "q": "alpha"})
    assert one.status_code == 303 and one.headers["location"].endswith("/customers/P-2")
    exact = desk.pia.http.get("/find", params={"company": COMPANY, "q": "P-1"})
    assert exact.headers["location"].endswith("/customers/P-1")
    several = desk.pia.http.get("/find", params={"company": COMPANY, "q": "p-"})
    assert several.status_code == 200 and several.text.count("/customers/P-") == 3


def test_static_files_are_served_from_the_package(desk: Desk) -> None:
    css = desk.pia.http.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert desk.pia.http.get("/static/app.js").status_code == 200
    assert desk.pia.http.get("/static/settings.py").status_code == 404
    page = desk.pia.http.get("/").text
    assert "http://" not in page.split("<body>")[0] and "https://" not in page


def test_the_customer_page_says_which_currency_and_never_adds_currencies(desk: Desk) -> None:
    stack = desk.stack
    with stack.client("ledger") as ledger:
        registered = ledger.post(
            f"/v1/companies/{COMPANY}/customers",
            json={
                "customer_id": "P-EUR",
                "profile": {"name": "Euro Kunde GmbH", "employee_responsible": "owner-p"},
                "currency": "EUR",
                "accounting_currency": "USD",
            },
        )
        assert registered.status_code == 201, registered.text
    stack.post(
        "P-EUR",
        "/invoices",
        {
            "document_number": "EUR-1",
            "posting_date": "2026-03-01",
            "due_date": "2026-03-31",
            "amount": "100.00",
            "exchange_rate": "1.10",
        },
    )
    stack.post(
        "P-EUR",
        "/payments",
        {"payment_date": "2026-03-05", "amount": "50.00", "exchange_rate": "1.20"},
    )
    stack.wait_for_aging("P-EUR")
    url = f"/companies/{COMPANY}/customers/P-EUR"
    page = wait_for_page(desk, url, lambda p: "EUR-1" in p and "PAY-P-EUR-0001" in p)
    note = page.split('id="money-note">', 1)[1].split("</p>", 1)[0]
    assert note.startswith("Figures in USD, the accounting currency")
    assert "documents are in EUR" in note
    last = page.split("<dt>Last payment</dt>", 1)[1].split("</dd>", 1)[0]
    assert '50.00 EUR <span class="muted">(60.00 USD)</span>' in last, last
    row = page.split('id="tab-open"', 1)[1].split("EUR-1", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r">([^<>]+)</td>", row)[4:8] == ["100.00", "100.00", "EUR", "110.00"]
    caption = page.split('id="tab-open"', 1)[1].split("</caption>", 1)[0]
    assert "open 110.00 USD" in caption
    payments = desk.pia.http.get(url, params={"tab": "unsettled_payments"}).text
    caption = payments.split('id="tab-unsettled_payments"', 1)[1].split("</caption>", 1)[0]
    assert "open 60.00 USD" in caption

    overview = desk.pia.http.get("/").text
    assert "Amounts in USD, the accounting currency." in overview
    assert "<th" in overview.split('id="highest-balances"', 1)[1].split("Currency", 1)[0]
