"""Administration pages: aging definitions and pools (aging), letter sequences (ledger) and
accounts (gateway), through forms, for admins only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from arrears.gateway.domain.access import Role
from tests.integration.gateway.conftest import ADMIN_PASSWORD, COMPANY, Browser, Stack

pytestmark = pytest.mark.integration
PAGES = (
    "/admin",
    "/admin/pools",
    "/admin/aging-definitions",
    "/admin/letter-sequences",
    "/admin/pick-lists",
    "/admin/emails",
    "/admin/mail-sink",
    "/admin/contact-rules",
    "/admin/letterhead",
    "/admin/webhooks",
    "/admin/print-queue",
)


@pytest.fixture(scope="module")
def admin(stack: Stack) -> Iterator[Browser]:
    with stack.sign_in("admin", ADMIN_PASSWORD) as browser:
        yield browser


def message(browser: Browser, answer: object) -> str:
    location = answer.headers["location"]  # type: ignore[attr-defined]
    return str(browser.http.get(location).text)


def test_only_admins_see_the_administration(stack: Stack, admin: Browser) -> None:
    stack.account("plain", {Role.AGENT, Role.SUPERVISOR})
    with stack.sign_in("plain") as agent:
        assert "Administration" not in agent.http.get("/").text
        for page in (*PAGES, "/admin/agents"):
            assert agent.http.get(page).status_code == 403, page
        refused = agent.form("/admin/pools", {"company": COMPANY, "pool_id": "x", "name": "X"})
        assert refused.status_code == 403
    for page in (*PAGES, "/admin/agents"):
        assert admin.http.get(page).status_code == 200, page


def test_pools_and_definitions_are_kept_by_the_aging_service(stack: Stack, admin: Browser) -> None:
    saved = admin.form(
        "/admin/pools",
        {
            "company": COMPANY,
            "pool_id": "big",
            "name": "Big balances",
            "filters": "balance gte 10000\ncredit_group in Key accounts, Standard",
        },
    )
    assert "Pool big: saved." in message(admin, saved)
    with stack.client("aging") as aging:
        pools = aging.get(f"/v1/companies/{COMPANY}/pools").json()
    big = next(p for p in pools if p["id"] == "big")
    assert big["filters"] == [
        {"field": "balance", "op": "gte", "value": "10000"},
        {"field": "credit_group", "op": "in", "value": ["Key accounts", "Standard"]},
    ]
    assert "balance gte 10000" in admin.http.get("/admin/pools?edit=big").text
    refused = admin.form(
        "/admin/pools",
        {"company": COMPANY, "pool_id": "bad", "name": "Bad", "filters": "colour eq red"},
    )
    assert "Pool bad: the aging service refused it: unknown field" in message(admin, refused)

    saved = admin.form(
        "/admin/aging-definitions",
        {
            "company": COMPANY,
            "definition_id": "quarters",
            "name": "Quarters",
            "basis": "due_date",
            "periods": "Current, , 0\n1-90, 1, 90\nOver 90, 91, ",
        },
    )
    assert "Aging definition quarters: saved." in message(admin, saved)
    with stack.client("aging") as aging:
        definitions = aging.get(f"/v1/companies/{COMPANY}/aging-definitions").json()
    quarters = next(d for d in definitions if d["id"] == "quarters")
    assert [p["name"] for p in quarters["periods"]] == ["Current", "1-90", "Over 90"]
    wrong = admin.form(
        "/admin/aging-definitions",
        {"company": COMPANY, "definition_id": "w", "name": "W", "periods": "Current, soon, 0"},
    )
    assert "days are whole numbers" in message(admin, wrong)


def levels(*rows: tuple[str, str, str, str]) -> dict[str, list[str]]:
    """The letter-sequence form's five rows of (name, days, minimum, fee)."""
    filled = list(rows) + [("", "", "", "")] * (5 - len(rows))
    return {
        f"level_{column}": [row[i] for row in filled]
        for i, column in enumerate(("name", "days", "minimum", "fee"))
    }


def test_letter_sequences_are_edited_as_rows_and_kept_by_the_ledger(
    stack: Stack, admin: Browser
) -> None:
    saved = admin.form(
        "/admin/letter-sequences",
        {
            "company": COMPANY,
            "sequence_id": "STD",
            "name": "Standard",
            **levels(
                ("Reminder", "10", "50", ""), ("", "", "", ""), ("Final notice", "14", "", "25")
            ),
        },
    )
    assert "Letter sequence STD: saved." in message(admin, saved)
    with stack.client("ledger") as ledger:
        stored = ledger.get(f"/v1/companies/{COMPANY}/letter-sequences").json()
    assert [s["id"] for s in stored] == ["STD"]
    assert [
        (x["level"], x["name"], x["days_overdue"], x["grace_days"], x["fee_amount"])
        for x in stored[0]["levels"]
    ] == [(1, "Reminder", 10, None, None), (2, "Final notice", None, 14, "25")]
    page = admin.http.get("/admin/letter-sequences", params={"edit": "STD"}).text
    assert "Reminder: 10 days overdue" in page
    assert 'aria-label="Fee of level 2" value="25"' in page

    for rows, reason in (
        ((("Late", "0", "", ""), ("Later", "0", "", "")), "level 2: days after the previous"),
        ((("Late", "ten", "", ""),), "level 1: days overdue must be a whole number"),
        (
            (("Late", "10", "1e999", ""),),
            "level 1: the minimum is not an amount with at most two decimals",
        ),
        ((("Late", "10", "", "-5"),), "level 1: the fee must be more than 0"),
        ((("Late", "10", "abc", ""),), "level 1: the minimum is not an amount"),
        ((), "a sequence needs at least one level"),
    ):
        refused = admin.form(
            "/admin/letter-sequences",
            {"company": COMPANY, "sequence_id": "BAD", "name": "Bad", **levels(*rows)},
        )
        assert refused.status_code == 303, (reason, refused.status_code, refused.text[:500])
        assert reason in message(admin, refused), reason
    with stack.client("ledger") as ledger:
        assert len(ledger.get(f"/v1/companies/{COMPANY}/letter-sequences").json()) == 1


def test_pick_lists_are_configured_per_company_and_offered_by_the_forms(
    stack: Stack, admin: Browser
) -> None:
    page = admin.http.get("/admin/pick-lists").text
    assert 'Write-off accounts <span class="muted">(defaults)</span>' in page
    assert 'value="6100"' in page
    saved = admin.form(
        "/admin/pick-lists",
        {
            "company": COMPANY,
            "list": "write-off-accounts",
            "code": ["7000", "", "7010"],
            "label": ["Allowance for doubtful accounts", "", "Small differences"],
        },
    )
    assert "Write-off accounts: saved (2 entries)." in message(admin, saved)
    page = admin.http.get("/admin/pick-lists").text
    assert 'value="7010"' in page and 'value="6100"' not in page
    for code, label, reason in (
        ("7000 x", "x", "a code is 1-50"),
        ("", "x", "row 1: a code is 1-50"),
        ("", "", "needs at least one entry"),
    ):
        refused = admin.form(
            "/admin/pick-lists",
            {"company": COMPANY, "list": "write-off-accounts", "code": [code], "label": [label]},
        )
        assert reason in message(admin, refused), reason
    unknown = admin.form(
        "/admin/pick-lists", {"company": COMPANY, "list": "colours", "code": ["A"], "label": ["a"]}
    )
    assert "List not saved" in message(admin, unknown)
    assert 'value="7010"' in admin.http.get("/admin/pick-lists").text

    stack.register("PL-1", "owner-pl")
    invoice = stack.invoice("PL-1", "PL-INV-1", "40.00")
    stack.account("pat", {Role.AGENT, Role.SUPERVISOR}, may_view_all=True)
    customer = f"/companies/{COMPANY}/customers/PL-1"
    with stack.sign_in("pat") as pat:
        form = pat.http.get(customer).text.split('id="action-write-off"', 1)[1]
        assert '<option value="7000">7000 — Allowance for doubtful accounts</option>' in form
        assert 'value="6100"' not in form
        refused = pat.form(
            customer + "/actions/write-off",
            {"transaction_id": invoice, "reason_code": "SMALL", "write_off_account": "6100"},
        )
        assert "6100 is not one of the write-off accounts" in message(pat, refused)
        no_reason = pat.form(
            customer + "/actions/write-off",
            {"transaction_id": invoice, "write_off_account": "7000"},
        )
        assert "choose one of the reason codes" in message(pat, no_reason)
        bank = pat.form(
            customer + "/actions/nsf",
            {"payment_transaction_id": invoice, "bank_reason_code": "R99"},
        )
        assert "R99 is not one of the bank return reasons" in message(pat, bank)
    with stack.client("ledger") as ledger:
        events = ledger.get(f"/v1/companies/{COMPANY}/customers/PL-1/events").json()["events"]
    assert [e["type"] for e in events] == ["CustomerRegistered", "InvoicePosted"]


def test_accounts_are_made_and_changed_on_the_agents_page(stack: Stack, admin: Browser) -> None:
    stack.pool("pool-n", "owner-n")
    made = admin.form(
        "/admin/agents",
        {
            "login": "Nina",
            "display_name": "Nina N",
            "roles": ["agent"],
            "pools": f"{COMPANY}/pool-n",
            "password": "nina-password-1",
        },
    )
    assert "Account nina created." in message(admin, made)
    with stack.sign_in("nina", "nina-password-1") as nina:
        me = nina.http.get("/v1/me").json()
        assert me["pools"] == [f"{COMPANY}/pool-n"] and me["default_pool"] == f"{COMPANY}/pool-n"
        disabled = admin.form(
            "/admin/agents",
            {"login": "nina", "roles": ["agent"], "pools": f"{COMPANY}/pool-n", "disabled": "on"},
        )
        assert "Account nina saved." in message(admin, disabled)
        assert nina.http.get("/").status_code == 303, "disabling ends the sessions"
    with Browser(stack.client()) as again:
        assert again.sign_in("nina", "nina-password-1").status_code == 401
    weak = admin.form("/admin/agents", {"login": "weak", "roles": ["agent"], "password": "short"})
    assert "at least 12 characters" in message(admin, weak)
    self_demote = admin.form("/admin/agents", {"login": "admin", "roles": ["agent"]})
    assert "cannot take the admin role from yourself" in message(admin, self_demote)


def test_the_contact_rules_are_saved_through_the_notifier(stack: Stack, admin: Browser) -> None:
    page = admin.http.get("/admin/contact-rules", params={"company": COMPANY}).text
    assert 'name="max_messages_per_week"' in page and 'value="3"' in page
    saved = admin.form(
        "/admin/contact-rules",
        {
            "company": COMPANY,
            "max_messages_per_week": "5",
            "min_days_between_letters": "21",
            "block_disputed": "on",
        },
    )
    assert saved.status_code == 303
    shown = message(admin, saved)
    assert "Contact rules of usmf: saved." in shown
    assert 'value="5"' in shown and 'value="21"' in shown
    with stack.client("notifier") as notifier:
        policy = notifier.get(f"/v1/companies/{COMPANY}/contact-policy").json()
    assert policy == {
        "max_messages_per_week": 5,
        "min_days_between_letters": 21,
        "block_disputed": True,
        "block_promised": False,
    }
    restored = admin.form(
        "/admin/contact-rules",
        {
            "company": COMPANY,
            "max_messages_per_week": "3",
            "min_days_between_letters": "14",
            "block_disputed": "on",
            "block_promised": "on",
        },
    )
    assert restored.status_code == 303
    wrong = admin.form(
        "/admin/contact-rules",
        {"company": COMPANY, "max_messages_per_week": "many", "min_days_between_letters": "1"},
    )
    assert "the numbers are whole numbers" in message(admin, wrong)


def test_the_letterhead_is_saved_through_the_notifier(stack: Stack, admin: Browser) -> None:
    page = admin.http.get("/admin/letterhead", params={"company": COMPANY}).text
    assert 'name="name"' in page and 'name="address"' in page
    saved = admin.form(
        "/admin/letterhead",
        {
            "company": COMPANY,
            "name": "Contoso <Europe> GmbH",
            "address": "Hauptstr. 1\r\n\r\n10115 Berlin\n",
            "signature": "Forderungsmanagement",
        },
    )
    assert saved.status_code == 303
    shown = message(admin, saved)
    assert "Letterhead of usmf: saved." in shown
    assert "Contoso &lt;Europe&gt; GmbH" in shown and "10115 Berlin" in shown
    with stack.client("notifier") as notifier:
        head = notifier.get(f"/v1/companies/{COMPANY}/letter-template").json()
    assert head == {
        "name": "Contoso <Europe> GmbH",
        "address": ["Hauptstr. 1", "10115 Berlin"],
        "signature": "Forderungsmanagement",
    }
    too_long = admin.form(
        "/admin/letterhead",
        {"company": COMPANY, "name": "X", "address": "\n".join(f"l{n}" for n in range(9))},
    )
    assert "at most 8 address lines" in message(admin, too_long)
    nameless = admin.form("/admin/letterhead", {"company": COMPANY, "name": "", "address": ""})
    assert "Letterhead not saved" in message(admin, nameless)
    with stack.client("notifier") as notifier:  # neither changed anything
        assert notifier.get(f"/v1/companies/{COMPANY}/letter-template").json() == head


def test_webhooks_are_managed_by_integration_tokens_and_in_the_admin_pages(
    stack: Stack, admin: Browser
) -> None:
    _id, token = stack.token("erp-hooks", {Role.INTEGRATION})
    _id, agent_token = stack.token("agent-hooks", {Role.AGENT})
    target = "http://127.0.0.1:9/arrears-hook"
    with stack.client() as api:
        refused = api.post(
            "/v1/webhooks", json={"url": target}, headers={"Authorization": f"Bearer {agent_token}"}
        )
        assert refused.status_code == 403
        created = api.post(
            "/v1/webhooks",
            json={"url": target, "event_types": ["InvoicePosted"], "description": "<b>ERP</b>"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        assert hook["secret"].startswith("whsec_") and hook["created_by"].endswith("erp-hooks")
        listed = api.get("/v1/webhooks", headers={"Authorization": f"Bearer {token}"}).json()
        assert hook["subscription_id"] in {h["subscription_id"] for h in listed["items"]}
        assert all("secret" not in h for h in listed["items"])
        wrong = api.post(
            "/v1/webhooks",
            json={"url": "ftp://example.com/x"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_webhook_target"
    page = admin.http.get("/admin/webhooks").text
    assert target in page and "&lt;b&gt;ERP&lt;/b&gt;" in page and "<b>ERP" not in page
    sub = hook["subscription_id"]
    paused = admin.form(f"/admin/webhooks/{sub}/pause", {})
    assert "pause done" in message(admin, paused)
    rotated = message(admin, admin.form(f"/admin/webhooks/{sub}/rotate", {}))
    assert "New secret of" in rotated and "whsec_" in rotated
    log = admin.http.get(f"/admin/webhooks/{sub}")
    assert log.status_code == 200 and 'id="deliveries"' in log.text
    replayed = admin.form(f"/admin/webhooks/{sub}/replay", {"since": "2026-01-01T00:00"})
    assert "events queued" in message(admin, replayed)
    created_in_page = admin.form(
        "/admin/webhooks", {"url": "http://127.0.0.1:9/second", "event_types": "NoSuchType"}
    )
    assert "Not subscribed: unknown event types: NoSuchType." in message(admin, created_in_page)
    deleted = admin.form(f"/admin/webhooks/{sub}/delete", {})
    assert "delete done" in message(admin, deleted)
    assert target not in admin.http.get("/admin/webhooks").text
