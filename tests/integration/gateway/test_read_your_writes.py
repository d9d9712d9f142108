"""Read your own writes: a ledger command answers with the position it produced, every read
service answers where it stands on a customer's stream (waiting, boundedly, for a position),
and the page that follows an action shows its effect without a reload."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from arrears.gateway.domain.access import Role
from tests.integration.gateway.conftest import COMPANY, Browser, Stack

pytestmark = pytest.mark.integration
CUSTOMER = "R-1"
PAGE = f"/companies/{COMPANY}/customers/{CUSTOMER}"
POSITION = f"/v1/companies/{COMPANY}/customers/{CUSTOMER}/position"


@dataclass
class Desk:
    stack: Stack
    rae: Browser
    token: str
    invoices: dict[str, str]
    payments: dict[str, str]


@pytest.fixture(scope="module")
def desk(stack: Stack) -> Iterator[Desk]:
    stack.pool("pool-r", "owner-r")
    stack.register(CUSTOMER, "owner-r", name="Readback Ltd")
    invoices = {n: stack.invoice(CUSTOMER, n, "500.00") for n in ("R-A", "R-B", "R-C", "R-D")}
    payments = {
        n: str(
            stack.post(CUSTOMER, "/payments", {"payment_date": "2026-03-10", "amount": amount})[
                "transaction_id"
            ]
        )
        for n, amount in (("settle", "100.00"), ("nsf", "60.00"))
    }
    stack.wait_for_aging(CUSTOMER)
    stack.account("rae", {Role.AGENT, Role.SUPERVISOR}, ("pool-r",))
    _id, token = stack.token("rae-script", {Role.AGENT}, ("pool-r",))
    with stack.sign_in("rae") as rae:
        page = rae.http.get(PAGE).text
        rae.csrf = re.findall(r'name="csrf_token" value="([^"]+)"', page)[-1]
        yield Desk(stack, rae, token, invoices, payments)


def act(desk: Desk, path: str, data: dict[str, object]) -> str:
    """Submit a form and read the very page it leads to, once."""
    done = desk.rae.form(path, data)
    assert done.status_code == 303, done.text
    page = desk.rae.http.get(done.headers["location"])
    assert page.status_code == 200, page.text
    assert "catching up" not in page.text, page.text
    return page.text


def tab(page: str, name: str) -> str:
    return page.split(f'id="tab-{name}"', 1)[1].split("</table>", 1)[0]


def header(page: str, fact: str) -> str:
    found = re.search(rf"<dt>{fact}</dt><dd>([^<]*)</dd>", page)
    assert found, fact
    return found[1]


def test_a_command_answers_with_the_position_it_produced(desk: Desk) -> None:
    with desk.stack.client("ledger") as ledger:
        path = f"/v1/companies/{COMPANY}/customers/{CUSTOMER}/invoices"
        body = {
            "document_number": "R-POS",
            "posting_date": "2026-03-01",
            "due_date": "2026-03-31",
            "amount": "1.00",
        }
        first = ledger.post(path, json=body, headers={"Idempotency-Key": "r-pos-1"})
        again = ledger.post(path, json=body, headers={"Idempotency-Key": "r-pos-1"})
        head = ledger.get(POSITION).json()
    assert first.status_code == 201
    position = first.json()["position"]
    assert position == {
        "company": COMPANY,
        "customer_id": CUSTOMER,
        "sequence": first.json()["events"][-1]["sequence"],
        "recorded_at": first.json()["events"][-1]["recorded_at"],
        "topics": {"arrears.invoices.v1": first.json()["events"][-1]["sequence"]},
    }
    assert head["sequence"] == position["sequence"]
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["position"] == position


def test_each_read_service_waits_for_a_position_and_says_where_it_stands(desk: Desk) -> None:
    with desk.stack.client("ledger") as ledger:
        head = ledger.get(POSITION).json()["sequence"]
    for service in ("aging", "timeline", "summary"):
        with desk.stack.client(service) as reader:
            reached = reader.get(POSITION, params={"at_least": head}).json()
            ahead = reader.get(POSITION, params={"at_least": head + 1000}).json()
            refused = reader.get(POSITION, params={"at_least": "0"})
        assert reached["reached"] is True and reached["sequence"] >= head, (service, reached)
        assert reached["recorded_at"] is not None
        assert ahead["reached"] is False and ahead["sequence"] < head + 1000, (service, ahead)
        assert refused.status_code == 422
    with desk.stack.client("aging") as aging:
        not_read = aging.get(POSITION, params={"written": f"arrears.activities.v1:{head + 1000}"})
        malformed = aging.get(POSITION, params={"written": "arrears.invoices.v1"})
    assert not_read.json()["reached"] is True  # aging reads no activities
    assert malformed.status_code == 422


def test_api_clients_ask_the_gateway_for_a_read_models_position(desk: Desk) -> None:
    headers = {"Authorization": f"Bearer {desk.token}"}
    with desk.stack.client() as api:
        ledger = api.get(POSITION, headers=headers).json()
        aging = api.get(
            POSITION, params={"service": "aging", "at_least": ledger["sequence"]}, headers=headers
        )
        unknown = api.get(POSITION, params={"service": "nope"}, headers=headers)
    assert aging.status_code == 200 and aging.json()["reached"] is True
    assert unknown.status_code == 422


def test_after_each_action_the_next_page_shows_its_effect(desk: Desk) -> None:
    i, p = desk.invoices, desk.payments
    disputed = act(
        desk,
        PAGE + "/actions/status",
        {"transaction_id": i["R-A"], "status": "disputed", "tab": "disputed"},
    )
    assert "R-A" in tab(disputed, "disputed")

    promised = act(
        desk,
        PAGE + "/actions/status",
        {
            "transaction_id": i["R-B"],
            "status": "promised_to_pay",
            "promise_date": "2026-06-30",
            "promise_amount": "200.00",
            "tab": "promised",
        },
    )
    assert "R-B" in tab(promised, "promised") and "2026-06-30" in tab(promised, "promised")

    settled = act(
        desk,
        PAGE + "/actions/settle",
        {"paying_transaction_id": p["settle"], "transaction_id": i["R-C"], "tab": "open"},
    )
    row = tab(settled, "open").split("R-C", 1)[1].split("</tr>", 1)[0]
    assert "400.00" in row

    returned = act(
        desk,
        PAGE + "/actions/nsf",
        {"payment_transaction_id": p["nsf"], "fee_amount": "25.00", "tab": "open"},
    )
    assert "-NSF" in tab(returned, "open")

    before = int(header(returned, "Open invoices"))
    written_off = act(
        desk,
        PAGE + "/actions/write-off",
        {
            "transaction_id": i["R-D"],
            "reason_code": "SMALL",
            "write_off_account": "6100",
            "tab": "open",
        },
    )
    assert "R-D" not in tab(written_off, "open")
    assert int(header(written_off, "Open invoices")) == before - 1

    reprinted = act(
        desk,
        PAGE + "/actions/reprint",
        {"transaction_id": i["R-A"], "copy_kind": "copy", "channel": "print", "tab": "open"},
    )
    timeline = reprinted.split('id="panel-timeline"', 1)[1]
    assert "Reprint request" in timeline and "R-A" in timeline


def test_an_activity_created_and_closed_is_on_the_next_overview(desk: Desk) -> None:
    created = act(
        desk,
        "/activities/new",
        {
            "company": COMPANY,
            "back": "/",
            "customer_id": CUSTOMER,
            "purpose": "Call Readback",
            "start": "2026-06-10T08:30",
        },
    )
    found = re.search(
        r'data-activity="([^"]+)">\s*<td><input[^>]*aria-label="Choose Call Readback', created
    )
    assert found, created
    closed = act(
        desk, "/activities/close", {"back": "/", "activity_id": found[1], "outcome": "completed"}
    )
    assert "Call Readback" not in closed


def test_an_activity_created_from_the_customer_page_is_on_its_timeline(desk: Desk) -> None:
    page = desk.rae.http.get(PAGE).text
    form = page.split('id="new-activity"', 1)[1].split("</form>", 1)[0]
    assert f'name="customer_id" value="{CUSTOMER}"' in form
    back = re.search(r'name="back" value="([^"]+)"', form)
    assert back, form
    shown = act(
        desk,
        "/activities/new",
        {
            "company": COMPANY,
            "back": back[1].replace("&amp;", "&"),
            "customer_id": CUSTOMER,
            "purpose": "Visit Readback",
            "start": "2026-06-11T09:00",
        },
    )
    assert "New activity: done (activity created)." in shown
    timeline = shown.split('id="panel-timeline"', 1)[1]
    assert "Visit Readback" in timeline
