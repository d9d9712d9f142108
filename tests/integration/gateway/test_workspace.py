"""The parts of the workspace fed by the timeline and summary services, on the real gateway
next to real ledger, aging, timeline and summary services: the summary and its regeneration,
the customer timeline (filtered, memos as text), the collections history, the reminder
email (confirmation first, then an editable draft handed over as a `mailto:` link), my
activities (cut to the pool, closed from the overview, created from it), and the same data
through the public API."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from arrears.gateway.domain.access import Role
from tests.integration.gateway.conftest import ADMIN_PASSWORD, COMPANY, Browser, Stack
from tests.support import poll_until

pytestmark = pytest.mark.integration
MEMO = "<b>call back</b> <script>alert('memo')</script>"
CUSTOMER_PAGE = f"/companies/{COMPANY}/customers/W-1"


@dataclass
class Desk:
    stack: Stack
    wes: Browser
    token: str
    invoice: str
    mine: str
    outside: str
    others: str


def create_activity(stack: Stack, customer_id: str, responsible: str, purpose: str) -> str:
    data = stack.post(
        customer_id,
        "/activities",
        {
            "purpose": purpose,
            "responsible": responsible,
            "start": "2026-06-01T09:00:00Z",
            "end": "2026-06-02T09:00:00Z",
            "memo": MEMO,
        },
    )
    return str(data["activity_id"])


@pytest.fixture(scope="module")
def desk(stack: Stack) -> Iterator[Desk]:
    stack.pool("pool-w", "owner-w")
    stack.pool("pool-x", "owner-x")
    stack.register("W-1", "owner-w", name="Wide Awake Ltd", language="en")
    stack.register("X-1", "owner-x", name="Xeno Hidden plc")
    invoice = stack.invoice("W-1", "W-INV-1", "750.00")
    stack.invoice("W-1", "W-INV-2", "120.00")
    stack.invoice("X-1", "X-INV-1")
    mine = create_activity(stack, "W-1", "wes", "Call about W-INV-1")
    outside = create_activity(stack, "X-1", "wes", "Visit Xeno")
    others = create_activity(stack, "W-1", "someone-else", "Not mine")
    stack.wait_for_aging("W-1", "X-1")
    stack.wait_for_timeline("W-1", "InvoicePosted")
    stack.wait_for_timeline("X-1", "Activity")
    stack.account("wes", {Role.AGENT}, ("pool-w",))
    _id, token = stack.token("wes-script", {Role.AGENT}, ("pool-w",))
    with stack.sign_in("wes") as wes:
        yield Desk(stack, wes, token, invoice, mine, outside, others)


def wait_for(get: Callable[[], str], done: Callable[[str], bool], timeout: float = 60) -> str:
    return poll_until(get, done, timeout=timeout, what="the page to show it")


def section(page: str, panel: str) -> str:
    return page.split(f'id="panel-{panel}"', 1)[1].split("</section>", 1)[0]


def test_the_customer_page_shows_the_summary_and_the_timeline(desk: Desk) -> None:
    page = wait_for(
        lambda: desk.wes.http.get(CUSTOMER_PAGE).text,
        lambda p: "W-INV-1" in section(p, "timeline") and "Call about" in section(p, "timeline"),
    )
    summary = section(page, "summary")
    assert "Wide Awake Ltd" in summary and "Generated" in summary, summary
    assert 'action="/companies/usmf/customers/W-1/summary/regenerate"' in summary
    timeline = section(page, "timeline")
    assert "&lt;b&gt;call back&lt;/b&gt;" in timeline and "<b>call back" not in timeline
    assert 'class="memo" tabindex="0"' in timeline
    assert "not connect" not in page
    only_activities = desk.wes.http.get(CUSTOMER_PAGE, params={"tl_type": "activity"}).text
    rows = re.findall(r'<tr data-type="(\w+)"', section(only_activities, "timeline"))
    assert rows and set(rows) == {"activity"}, rows


def test_regenerate_writes_a_new_summary(desk: Desk) -> None:
    desk.wes.http.get(CUSTOMER_PAGE)  # the first summary is written with the page
    path = f"/v1/companies/{COMPANY}/customers/W-1/summaries"
    with desk.stack.client("summary") as summary:
        before = summary.get(path).json()["total"]
        done = desk.wes.form(CUSTOMER_PAGE + "/summary/regenerate", {})
        assert done.status_code == 303 and done.headers["location"].endswith("#panel-summary")
        after = summary.get(path).json()
    assert after["total"] == before + 1
    assert after["items"][0]["trigger"] != "auto" and after["items"][0]["actor"] == "wes"
    assert "Summary: written again." in desk.wes.http.get(CUSTOMER_PAGE).text


def test_the_collections_history_lists_what_touched_the_invoice(desk: Desk) -> None:
    with desk.stack.client("ledger") as ledger:
        changed = ledger.put(
            f"/v1/companies/{COMPANY}/customers/W-1/transactions/{desk.invoice}/collection-status",
            json={"status": "disputed", "note": "<i>wrong price</i>"},
        )
        assert changed.status_code == 201, changed.text
    url = f"{CUSTOMER_PAGE}/transactions/{desk.invoice}/history"
    page = wait_for(lambda: desk.wes.http.get(url).text, lambda p: "Status change" in p)
    assert "Collections history of W-INV-1" in page
    assert page.index("Invoice") < page.index("Status change")
    assert "&lt;i&gt;wrong price&lt;/i&gt;" in page
    by_document = f"{CUSTOMER_PAGE}/transactions/W-INV-1/history"
    assert f'href="{by_document}"' in desk.wes.http.get(CUSTOMER_PAGE).text
    named = desk.wes.http.get(by_document)
    assert named.status_code == 200 and "Collections history of W-INV-1" in named.text
    assert named.text.count("Status change") == page.count("Status change")
    chosen = desk.wes.http.get(CUSTOMER_PAGE + "/history", params={"transaction_id": desk.invoice})
    assert chosen.status_code == 303 and chosen.headers["location"] == url


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, pattern
    return match.group(1)


MAILTO = r'id="draft-mailto" class="button" href="([^"]+)"'


def mailto_of(page: str) -> dict[str, Any]:
    href = html.unescape(found(MAILTO, page))
    parts = urlsplit(href)
    assert parts.scheme == "mailto"
    query = parse_qs(parts.query)
    return {"to": unquote(parts.path), "subject": query["subject"][0], "body": query["body"][0]}


def test_the_reminder_email_needs_a_confirmation_then_opens_as_a_mailto_link(desk: Desk) -> None:
    page = desk.wes.http.get(CUSTOMER_PAGE).text
    assert f'href="{CUSTOMER_PAGE}/reminder"' in section(page, "reminder")
    confirmation = desk.wes.http.get(CUSTOMER_PAGE + "/reminder")
    assert confirmation.status_code == 200
    assert "AI" in confirmation.text and "must be reviewed" in confirmation.text
    assert "draft-mailto" not in confirmation.text

    unconfirmed = desk.wes.form(CUSTOMER_PAGE + "/reminder", {})
    assert unconfirmed.status_code == 422 and "confirm first" in unconfirmed.text

    created = desk.wes.form(CUSTOMER_PAGE + "/reminder", {"confirm": "yes"})
    assert created.status_code == 303, created.text
    draft_url = created.headers["location"]
    assert draft_url.startswith(CUSTOMER_PAGE + "/reminder/rem-")
    draft = desk.wes.http.get(draft_url).text
    link = mailto_of(draft)
    assert link["to"] == "pat@w-1.example"
    assert "W-INV-2" in link["body"] and "\r\n" in link["body"]
    subject = html.unescape(found(r'id="draft-subject" name="subject" value="([^"]*)"', draft))
    assert link["subject"] == subject

    edited = desk.wes.form(
        draft_url, {"subject": "Our invoice & you", "body": "Dear Pat,\nplease pay."}
    )
    assert edited.status_code == 200
    link = mailto_of(edited.text)
    assert link["subject"] == "Our invoice & you" and link["body"] == "Dear Pat,\r\nplease pay."
    raw = found(MAILTO, edited.text)
    assert "Our%20invoice%20%26%20you" in raw and "%0D%0A" in raw


def new_customer(desk: Desk, customer_id: str) -> str:
    """A customer of the pool with an overdue invoice; its page's address."""
    desk.stack.register(customer_id, "owner-w", name=f"Customer {customer_id}")
    desk.stack.invoice(customer_id, f"{customer_id}-INV", "300.00")
    desk.stack.wait_for_aging(customer_id)
    return f"/companies/{COMPANY}/customers/{customer_id}"


def new_draft(browser: Browser, page: str = CUSTOMER_PAGE) -> str:
    """A reminder draft of the customer, once the summary service has its invoices."""
    created = poll_until(
        lambda: browser.form(page + "/reminder", {"confirm": "yes"}),
        lambda answer: answer.status_code == 303,
        timeout=180,
        what="a reminder draft",
    )
    return str(created.headers["location"])


def test_the_agent_sends_the_edited_reminder_and_sees_it_delivered_on_the_timeline(
    desk: Desk,
) -> None:
    page = new_customer(desk, "W-3")
    draft_url = new_draft(desk.wes, page)
    draft = desk.wes.http.get(draft_url).text
    assert 'id="draft-send"' in draft and 'id="draft-mailto"' in draft
    assert 'id="draft-override"' not in draft
    key = found(r'name="send_key" value="([^"]+)"', draft)
    assert found(r'id="draft-to" name="to" type="email" value="([^"]*)"', draft) == (
        "pat@w-3.example"
    )
    form = {
        "to": "pat@w-3.example",
        "subject": "Reminder: W-3-INV & more",
        "body": "Dear Pat,\nplease pay W-3-INV this week.\nWes",
        "send_key": key,
    }
    sent = desk.wes.form(draft_url + "/send", form)
    assert sent.status_code == 303, sent.text
    email_page = sent.headers["location"]
    assert email_page.startswith(page + "/emails/")
    shown = wait_for(
        lambda: desk.wes.http.get(email_page).text, lambda p: 'data-status="delivered"' in p
    )
    assert "please pay W-3-INV this week." in shown and "pat@w-3.example" in shown
    assert 'Contact rules</dt><dd id="email-gate">allowed' in shown

    mailbox = desk.stack.mailbox
    assert mailbox is not None
    [message] = [m for m in mailbox.newest_first() if m.rcpt_tos == ("pat@w-3.example",)]
    parsed = message.parsed()
    assert parsed["Subject"] == "Reminder: W-3-INV & more"
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == (
        "Dear Pat,\nplease pay W-3-INV this week.\nWes\n"
    )

    again = desk.wes.form(draft_url + "/send", form)  # the same form twice: one email
    assert again.status_code == 303 and again.headers["location"] == email_page
    wait_for(
        lambda: section(desk.wes.http.get(page).text, "timeline"),
        lambda t: "Email delivered: Reminder: W-3-INV &amp; more" in t and "action, closed" in t,
        timeout=180,
    )
    assert len([m for m in mailbox.newest_first() if m.rcpt_tos == ("pat@w-3.example",)]) == 1


def test_a_reminder_the_contact_rules_refuse_says_why_and_a_supervisor_may_send_it(
    desk: Desk,
) -> None:
    page = new_customer(desk, "W-4")
    with desk.stack.client("ledger") as ledger:
        invoice = desk.stack.post(
            "W-4",
            "/invoices",
            {
                "document_number": "W-4-DISPUTED",
                "posting_date": "2026-03-01",
                "due_date": "2026-03-31",
                "amount": "90.00",
            },
        )["transaction_id"]
        changed = ledger.put(
            f"/v1/companies/{COMPANY}/customers/W-4/transactions/{invoice}/collection-status",
            json={"status": "disputed", "reason_code": "PRICE"},
        )
        assert changed.status_code == 201, changed.text
    form = {"to": "pat@w-4.example", "subject": "Reminder", "body": "Dear Pat, please pay."}
    draft_url = new_draft(desk.wes, page)
    refused = poll_until(
        lambda: desk.wes.form(draft_url + "/send", form),
        lambda answer: answer.status_code == 422,
        timeout=180,
        what="the contact rules to know of the dispute",
    )
    assert f"the contact rules refuse this message: disputed: {invoice}" in refused.text
    assert 'id="draft-override"' not in refused.text  # an agent may not override

    desk.stack.account("sue", {Role.SUPERVISOR}, ("pool-w",))
    with desk.stack.sign_in("sue") as sue:
        draft_url = new_draft(sue, page)
        blocked = sue.form(draft_url + "/send", form)
        assert blocked.status_code == 422 and 'id="draft-override"' in blocked.text
        reason = "Customer asked for the statement in writing"
        sent = sue.form(draft_url + "/send", form | {"override_reason": reason})
        assert sent.status_code == 303, sent.text
        shown = sue.http.get(sent.headers["location"]).text
        assert f"sent anyway by sue: {reason}" in shown
        assert f"refused (disputed: {invoice})" in shown
    override = desk.wes.form(draft_url + "/send", form | {"override_reason": reason})
    assert override.status_code == 403


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"subject": "Reminder\r\nBcc: all@example.com"}, "line break"),
        ({"to": "pat@w-1.example, boss@w-1.example"}, "exactly one address"),
        ({"to": "not an address"}, "not an email address"),
    ],
)
def test_a_send_the_notifier_refuses_shows_the_draft_again_with_the_reason(
    desk: Desk, changes: dict[str, str], reason: str
) -> None:
    draft_url = new_draft(desk.wes)  # refused before the contact rules are asked
    mailbox = desk.stack.mailbox
    assert mailbox is not None
    before = len(mailbox.newest_first())
    form = {"to": "pat@w-1.example", "subject": "Reminder", "body": "Dear Pat"} | changes
    refused = desk.wes.form(draft_url + "/send", form)
    assert refused.status_code == 422
    assert "The reminder was not sent:" in refused.text and reason in refused.text
    assert 'id="draft-send"' in refused.text
    assert len(mailbox.newest_first()) == before


def test_a_letter_by_post_is_downloadable_from_the_timeline_history_and_print_queue(
    desk: Desk,
) -> None:
    desk.stack.register("W-6", "owner-w", name="Posted Letter AG", collections_contact=None)
    invoice = desk.stack.invoice("W-6", "W6-INV", "640.00")
    desk.stack.wait_for_aging("W-6")  # in the pool: the page answers
    with desk.stack.client("ledger") as ledger:
        sequence = {
            "id": "STD",
            "name": "Standard",
            "levels": [{"level": 1, "days_overdue": 10, "minimum_overdue_balance": "10"}],
        }
        put = ledger.put(f"/v1/companies/{COMPANY}/letter-sequences/STD", json=sequence)
        assert put.status_code == 200, put.text
        posted = ledger.post(
            f"/v1/companies/{COMPANY}/customers/W-6/collection-letters",
            json={"as_of": "2026-06-15", "letter_sequence_id": "STD"},
        )
        assert posted.status_code == 201, posted.text
    page_url = f"/companies/{COMPANY}/customers/W-6"
    timeline = wait_for(
        lambda: section(desk.wes.http.get(page_url).text, "timeline"),
        lambda t: 'class="letter-pdf"' in t,
        timeout=180,
    )
    link = html.unescape(found(r'href="([^"]+\.pdf)" class="letter-pdf"', timeline))
    pdf = poll_until(
        lambda: desk.wes.http.get(link),
        lambda answer: answer.status_code == 200,
        timeout=180,
        what="the letter rendered",
    )
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    history = desk.wes.http.get(f"{page_url}/transactions/{invoice}/history").text
    assert link in html.unescape(history)
    other = desk.wes.http.get(link.replace("/W-6/", "/X-1/"))
    assert other.status_code == 404  # another customer's path, out of scope
    with desk.stack.sign_in("admin", ADMIN_PASSWORD) as admin:
        queue = poll_until(
            lambda: admin.http.get("/admin/print-queue", params={"company": COMPANY}).text,
            lambda text: "W-6" in text,
            timeout=180,
            what="the letter in the print queue",
        )
        letter_id = found(r'/admin/print-queue/([^/"]+)\.pdf', queue)
        printed = admin.form(f"/admin/print-queue/{letter_id}/printed", {"company": COMPANY})
        assert printed.status_code == 303
        assert "printed." in admin.http.get(printed.headers["location"]).text


def test_a_reminder_the_summary_service_refuses_is_explained(desk: Desk) -> None:
    desk.stack.register("W-2", "owner-w", name="Nothing Due Ltd")
    desk.stack.wait_for_aging("W-2")
    refused = desk.wes.form(f"/companies/{COMPANY}/customers/W-2/reminder", {"confirm": "yes"})
    assert refused.status_code == 422
    assert "No draft:" in refused.text and "draft-mailto" not in refused.text


def overview_activities(desk: Desk) -> str:
    return section(desk.wes.http.get("/").text, "activities")


def test_my_activities_are_mine_in_my_pool_oldest_first_and_overdue(desk: Desk) -> None:
    panel = overview_activities(desk)
    assert f'data-activity="{desk.mine}"' in panel
    assert desk.outside not in panel and desk.others not in panel
    assert "Xeno" not in panel
    assert "overdue" in panel
    assert "&lt;b&gt;call back&lt;/b&gt;" in panel and "<b>call back" not in panel
    filtered = desk.wes.http.get("/", params={"ac_f_purpose": "Nothing like this"}).text
    assert desk.mine not in section(filtered, "activities")
    # In the timeline's order the page and the counts come from the timeline; sorted any
    # other way, the gateway sorts them all: the same activities and counts either way.
    resorted = section(
        desk.wes.http.get("/", params={"ac_sort": "customer_id", "ac_order": "desc"}).text,
        "activities",
    )

    def shown(html: str) -> tuple[set[str], list[str]]:
        ids = set(re.findall(r'data-activity="([^"]+)"', html))
        return ids, re.findall(r"\d+ open(?:, <strong>\d+ overdue)?", html)

    assert shown(resorted) == shown(panel) and shown(panel)[1]


def test_an_activity_is_created_and_closed_from_the_overview(desk: Desk) -> None:
    created = desk.wes.form(
        "/activities/new",
        {
            "company": COMPANY,
            "back": "/",
            "customer_id": "W-1",
            "purpose": "Send statement",
            "start": "2026-06-10T08:30",
            "memo": "plain memo",
        },
    )
    assert created.status_code == 303
    page = desk.wes.http.get("/").text
    assert "New activity: done (activity created)." in page, page
    refused = desk.wes.form(
        "/activities/new",
        {
            "company": COMPANY,
            "back": "/",
            "customer_id": "X-1",
            "purpose": "Sneak",
            "start": "2026-06-10T08:30",
        },
    )
    assert refused.status_code == 303
    assert "no customer X-1" in desk.wes.http.get("/").text
    panel = wait_for(lambda: overview_activities(desk), lambda p: "Send statement" in p)
    new_id = re.search(
        r'data-activity="([^"]+)">\s*<td><input[^>]*aria-label="Choose Send statement', panel
    )
    assert new_id, panel

    closed = desk.wes.form(
        "/activities/close",
        {"back": "/", "activity_id": [desk.mine, new_id[1]], "outcome": "completed"},
    )
    assert closed.status_code == 303
    assert "Closing 2 activities: done" in desk.wes.http.get("/").text
    with desk.stack.client("ledger") as ledger:
        events = ledger.get(f"/v1/companies/{COMPANY}/customers/W-1/events").json()["events"]
    closes = [e for e in events if e["type"] == "ActivityClosed"]
    assert [e["actor"] for e in closes] == ["wes", "wes"]
    assert {e["data"]["activity_id"] for e in closes} == {desk.mine, new_id[1]}
    wait_for(lambda: overview_activities(desk), lambda p: desk.mine not in p)

    outside = desk.wes.form("/activities/close", {"back": "/", "activity_id": desk.outside})
    assert outside.status_code == 303
    assert "refused" in desk.wes.http.get("/").text


def test_the_api_serves_timeline_and_summary_in_scope(desk: Desk) -> None:
    headers = {"Authorization": f"Bearer {desk.token}"}
    base = f"/v1/companies/{COMPANY}"
    with desk.stack.client() as client:
        timeline = client.get(
            f"{base}/customers/W-1/timeline", params={"type": "invoice"}, headers=headers
        )
        assert timeline.status_code == 200, timeline.text
        documents = {e["document_number"] for e in timeline.json()["items"]}
        assert documents == {"W-INV-1", "W-INV-2"}
        summary = client.get(f"{base}/customers/W-1/summary", headers=headers)
        assert summary.status_code == 200 and summary.json()["customer_id"] == "W-1"
        history = client.get(
            f"{base}/customers/W-1/transactions/{desk.invoice}/history", headers=headers
        )
        assert history.status_code == 200 and history.json()["transaction_id"] == desk.invoice
        mine = client.get(f"{base}/agents/wes/activities", headers=headers).json()
        assert desk.outside not in {a["activity_id"] for a in mine["items"]}
        assert mine["open"] == len(mine["items"]) and "overdue" in mine
        assert mine["pool_id"] == "pool-w"
        one = client.get(f"{base}/activities/{desk.others}", headers=headers)
        assert one.status_code == 200 and one.json()["customer_id"] == "W-1"
        hidden = client.get(f"{base}/activities/{desk.outside}", headers=headers)
        unknown = client.get(f"{base}/activities/NOPE-1", headers=headers)
        assert hidden.status_code == unknown.status_code == 404
        assert hidden.json()["code"] == unknown.json()["code"] == "unknown_activity"
        regenerated = client.post(f"{base}/customers/W-1/summary:regenerate", headers=headers)
        assert regenerated.status_code == 201 and regenerated.json()["actor"] == "token:wes-script"
        outside = client.get(f"{base}/customers/X-1/summary", headers=headers)
        assert outside.status_code == 404 and "Xeno" not in outside.text


def test_payments_settlements_and_nsf_fees_are_shown_by_their_document_numbers(
    desk: Desk,
) -> None:
    stack = desk.stack
    stack.register("W-9", "owner-w", name="Numbered Ltd")
    invoice = stack.invoice("W-9", "W9-INV-1", "300.00")
    payment = stack.post("W-9", "/payments", {"payment_date": "2026-03-10", "amount": "300.00"})
    assert payment["document_number"] == "PAY-W-9-0001"
    stack.post(
        "W-9",
        "/settlements",
        {
            "paying_transaction_id": payment["transaction_id"],
            "allocations": [{"transaction_id": invoice}],
        },
    )
    nsf = stack.post("W-9", f"/payments/{payment['transaction_id']}/nsf", {"fee_amount": "25.00"})
    assert nsf["nsf_fee"]["document_number"] == "PAY-W-9-0001-NSF"
    stack.wait_for_timeline("W-9", "PaymentReturnedNsf")
    page = desk.wes.http.get(f"/companies/{COMPANY}/customers/W-9").text
    timeline = section(page, "timeline")
    rows = dict(
        re.findall(
            r'<tr data-type="(\w+)">\s*<td>[^<]*</td>\s*<td>[^<]*</td>\s*<td>(.*?)</td>',
            timeline,
            re.S,
        )
    )
    for kind in ("payment", "settlement", "nsf_return"):
        assert "PAY-W-9-0001" in rows[kind], (kind, rows[kind])
        assert payment["transaction_id"] not in rows[kind], (kind, rows[kind])
    assert "PAY-W-9-0001-NSF" in timeline and nsf["nsf_fee"]["transaction_id"] not in timeline
    fee_history = f"/companies/{COMPANY}/customers/W-9/transactions/PAY-W-9-0001-NSF/history"
    fee_page = desk.wes.http.get(fee_history)
    assert fee_page.status_code == 200 and "NSF return" in fee_page.text
    assert "Collections history of PAY-W-9-0001-NSF" in fee_page.text
    history = f"/companies/{COMPANY}/customers/W-9/transactions/PAY-W-9-0001/history"
    assert f'href="{history}' in timeline
    traced = desk.wes.http.get(history)
    assert traced.status_code == 200 and "Collections history of PAY-W-9-0001" in traced.text
    assert "Settlement" in traced.text and "NSF return" in traced.text
    api = desk.wes.http.get(f"/v1/companies/{COMPANY}/customers/W-9/transactions/W9-INV-1/history")
    assert api.status_code == 200, api.text
    assert api.json()["transaction_id"] == invoice
    assert api.json()["document_number"] == "W9-INV-1"
