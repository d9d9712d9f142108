"""Bank statements and the unapplied-cash queue through the real gateway: an integration
imports a statement, an agent sees the proposals of its own pool on the workspace page and
the API, accepts one with an edited amount and cannot touch another pool's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from arrears.gateway.domain.access import Role
from tests.integration.gateway.conftest import COMPANY, Browser, Stack
from tests.unit.ledger.camt_samples import credit_entry, statement_xml
from tests.unit.ledger.test_ubl import INVOICE

pytestmark = pytest.mark.integration


@dataclass
class Till:
    stack: Stack
    cara: Browser
    agent_token: str
    feed_token: str


@pytest.fixture(scope="module")
def till(stack: Stack) -> Iterator[Till]:
    stack.pool("pool-c", "owner-c")
    stack.register("C-1", "owner-c", name="Cash Corner Ltd")
    stack.register("D-1", "owner-d", name="Distant Debtor plc")
    stack.invoice("C-1", "C-INV-1", "300.00")
    stack.invoice("C-1", "C-INV-2", "200.00")
    stack.invoice("D-1", "D-INV-1", "100.00")
    stack.wait_for_aging("C-1", "D-1")
    stack.account("cara", {Role.AGENT}, ("pool-c",))
    _id, agent_token = stack.token("cara-script", {Role.AGENT}, ("pool-c",))
    _id, feed_token = stack.token("bank-feed", {Role.INTEGRATION}, may_view_all=True)
    with stack.sign_in("cara") as cara:
        yield Till(stack, cara, agent_token, feed_token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_statement_through_the_gateway_then_the_agent_works_the_queue(till: Till) -> None:
    xml = statement_xml(
        [
            credit_entry("GW-1", "250.00", currency="USD", ref="C-INV-1"),  # short: queued
            credit_entry("GW-2", "200.00", currency="USD", ref="C-INV-2"),  # exact: settled
            credit_entry("GW-3", "90.00", currency="USD", ref="D-INV-1"),  # another pool's
        ],
        currency="USD",
        statement_id="GW-STMT",
    )
    url = f"/v1/companies/{COMPANY}/statements"
    with till.stack.client() as gateway:
        refused = gateway.post(url, content=xml, headers={
            **bearer(till.agent_token), "content-type": "application/xml"})  # fmt: skip
        assert refused.status_code == 403
        done = gateway.post(url, content=xml, headers={
            **bearer(till.feed_token), "content-type": "application/xml"})  # fmt: skip
        assert done.status_code == 201, done.text
        (report,) = done.json()["statements"]
        assert report["cash_application"] == {
            "settled_automatically": 1, "queued": 2, "unmatched": 0, "skipped": 0, "refused": 0,
        }  # fmt: skip
        hostile = gateway.post(
            url,
            content=b'<!DOCTYPE d [<!ENTITY x "x">]><d>&x;</d>',
            headers={**bearer(till.feed_token), "content-type": "application/xml"},
        )
        assert hostile.status_code == 422 and hostile.json()["code"] == "dtd_not_allowed"

        queue = gateway.get(f"/v1/companies/{COMPANY}/unapplied-cash",
                            headers=bearer(till.agent_token)).json()["proposals"]  # fmt: skip
        assert [p["customer_id"] for p in queue] == ["C-1"]
        everyone = gateway.get(f"/v1/companies/{COMPANY}/unapplied-cash",
                               headers=bearer(till.feed_token)).json()["proposals"]  # fmt: skip
        assert sorted(p["customer_id"] for p in everyone) == ["C-1", "D-1"]

    page = till.cara.http.get("/cash", params={"company": COMPANY}).text
    assert "C-1" in page and "D-1" not in page
    assert "short by 50.00 USD" in page
    assert "1</strong> of 3 payments settled automatically" in page
    (proposal,) = [p for p in queue if p["customer_id"] == "C-1"]
    (allocation,) = proposal["allocations"]
    action = (f"/companies/{COMPANY}/customers/C-1/cash-proposals/"
              f"{proposal['proposal_id']}/accept")  # fmt: skip
    assert f'action="{action}"' in page
    txn = allocation["transaction_id"]
    bad = till.cara.form(action, {f"amount:{txn}": "lots", f"proposed:{txn}": "250.00"})
    assert bad.status_code == 303
    assert "is not an amount" in till.cara.http.get("/cash").text
    accepted = till.cara.form(
        action,
        {
            f"amount:{allocation['transaction_id']}": "240.00",
            f"proposed:{allocation['transaction_id']}": "250.00",
            "note": "10.00 kept as a deposit",
            "deduction_reason": "DEPOSIT",
        },
    )
    assert accepted.status_code == 303
    after = till.cara.http.get("/cash").text
    assert re.search(r"Proposal PRP-\w+ accepted and settled", after), after
    assert "Nothing is waiting." in after

    with till.stack.client("ledger") as ledger:
        events = ledger.get(f"/v1/companies/{COMPANY}/customers/C-1/events").json()["events"]
    accepted_events = [e for e in events if e["type"] == "PaymentAllocationAccepted"]
    assert [(e["actor"], e["data"]["edited"]) for e in accepted_events] == [
        ("cash-application", False),
        ("cara", True),
    ]
    (disputed,) = [e for e in events if e["type"] == "CollectionStatusChanged"]
    assert (disputed["data"]["document_number"], disputed["data"]["reason_code"]) == (
        "C-INV-1",
        "DEPOSIT",
    )
    settled = [e for e in events if e["type"] == "PaymentSettled"]
    assert sorted(e["data"]["amount"]["amount"] for e in settled) == ["200.00", "240.00"]
    assert {e["actor"] for e in settled} == {"cara", "cash-application"}

    # Another pool's proposal is out of reach, as an unknown customer would be.
    (other,) = [p for p in everyone if p["customer_id"] == "D-1"]
    refused_page = till.cara.form(
        f"/companies/{COMPANY}/customers/D-1/cash-proposals/{other['proposal_id']}/reject",
        {"reason": "not mine"},
    )
    assert refused_page.status_code == 303
    assert "Refused:" in till.cara.http.get("/cash").text

    with till.stack.client() as gateway:
        rates = gateway.get(f"/v1/companies/{COMPANY}/cash-application/rates",
                            headers=bearer(till.agent_token)).json()  # fmt: skip
    assert (rates["proposed"], rates["settled_automatically"]) == (3, 1)


def test_an_e_invoice_through_the_gateway(till: Till) -> None:
    document = INVOICE.replace(b"AMOUNT", b"75.00").replace(b"C-9", b"E-1")
    url = f"/v1/companies/{COMPANY}/e-invoices"
    headers = {"content-type": "application/xml"}
    with till.stack.client() as gateway:
        refused = gateway.post(url, content=document, headers={**bearer(till.agent_token),
                                                               **headers})  # fmt: skip
        assert refused.status_code == 403
        posted = gateway.post(url, content=document, headers={**bearer(till.feed_token),
                                                              **headers})  # fmt: skip
        assert posted.status_code == 201, posted.text
        assert (posted.json()["customer_id"], posted.json()["amount"]) == ("E-1", "75.00")


def test_a_supervisor_names_the_customer_of_an_unidentified_receipt(till: Till) -> None:
    xml = statement_xml(
        [credit_entry("GW-U", "33.00", currency="USD", text="for last month")],
        currency="USD",
        statement_id="GW-STMT-U",
    )
    with till.stack.client() as gateway:
        done = gateway.post(f"/v1/companies/{COMPANY}/statements", content=xml, headers={
            **bearer(till.feed_token), "content-type": "application/xml"})  # fmt: skip
        assert done.json()["statements"][0]["counts"]["unidentified"] == 1
    till.stack.account("sam", {Role.SUPERVISOR}, may_view_all=True)
    with till.stack.sign_in("sam") as sam:
        page = sam.http.get("/cash", params={"company": COMPANY}).text
        assert "Receipts without a customer (1)" in page and "for last month" in page
        assert "Receipts without a customer" not in till.cara.http.get("/cash").text
        naming = {"company": COMPANY, "bank_key": "GW-U", "customer_id": "C-1"}
        answer = sam.form("/cash/receipts/assign", naming)
        assert answer.status_code == 303
        after = sam.http.get("/cash").text
        assert re.search(r"Receipt GW-U is payment PAY-\w+ of C-1", after), after
        assert "Receipts without a customer" not in after
        again = sam.form("/cash/receipts/assign", naming)
        assert again.status_code == 303
        assert "Refused:" in sam.http.get("/cash").text
