"""Bad input is refused with a 4xx, never a failure, and changes nothing.

Each case below was once a 500, a 502 or an accepted absurdity; each is now answered with a
clear refusal (problem+json on the API, a message on a page) and the ledger's stream of the
customer holds exactly the events it held before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from arrears.gateway.domain.access import Role
from arrears.shared.inputs import EARLIEST, LATEST
from tests.integration.gateway.conftest import COMPANY, Browser, Stack

pytestmark = pytest.mark.integration
CUSTOMER = "BAD-1"
API = f"/v1/companies/{COMPANY}/customers/{CUSTOMER}"


class World:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        stack.pool("pool-bad", "owner-bad")
        stack.register(CUSTOMER, "owner-bad")
        self.invoice = stack.invoice(CUSTOMER, "BAD-INV-1")
        stack.wait_for_aging(CUSTOMER)
        _id, token = stack.token("bad-input", set(Role), may_view_all=True)
        self.headers = {"Authorization": f"Bearer {token}"}
        stack.account("bea", {Role.AGENT}, ("pool-bad",))
        self.bea: Browser = stack.sign_in("bea")

    def events(self) -> int:
        with self.stack.client("ledger") as ledger:
            answer = ledger.get(f"{API}/events")
            assert answer.status_code == 200, answer.text
            return len(answer.json()["events"])

    def change_status(self, body: dict[str, Any]) -> httpx.Response:
        return self.api("PUT", f"/transactions/{self.invoice}/collection-status", json=body)

    def reprint(self, body: dict[str, Any]) -> httpx.Response:
        return self.api("POST", f"/transactions/{self.invoice}/reprint", json=body)

    def api(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        with self.stack.client() as gateway:
            return gateway.request(
                method, API + path, headers={**self.headers, **(headers or {})}, **kwargs
            )


@pytest.fixture(scope="module")
def world(stack: Stack) -> Iterator[World]:
    made = World(stack)
    yield made
    made.bea.http.close()


def refused(answer: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    if code:
        assert body["code"] == code, body
    return body


def test_a_malformed_timeline_cursor_is_a_bad_request_page(world: World) -> None:
    before = world.events()
    page = world.bea.http.get(f"/companies/{COMPANY}/customers/{CUSTOMER}?tl_cursor=abc")
    assert page.status_code == 400, page.text[:500]
    assert "text/html" in page.headers["content-type"]
    assert "tl_cursor" in page.text
    assert world.events() == before


@pytest.mark.parametrize("where", ["api", "page"])
def test_a_nul_in_a_note_is_refused_and_the_next_request_is_served(
    world: World, where: str
) -> None:
    before = world.events()
    note = "called\x00back"
    if where == "api":
        answer = world.change_status({"status": "disputed", "note": note})
        assert "U+0000" in refused(answer, 422, "control_character")["detail"]
    else:
        answer = world.bea.http.post(
            f"/companies/{COMPANY}/customers/{CUSTOMER}/actions/status",
            data={
                "csrf_token": world.bea.csrf,
                "transaction_id": world.invoice,
                "status": "disputed",
                "note": note,
            },
            headers={"Accept": "text/html"},
        )
        assert answer.status_code == 422, answer.text[:500]
        assert "text/html" in answer.headers["content-type"]
        assert "control character U+0000" in answer.text
    assert world.events() == before
    assert world.api("GET", "/aging").status_code == 200
    with world.stack.client("ledger") as ledger:
        direct = ledger.put(
            f"{API}/transactions/{world.invoice}/collection-status",
            json={"status": "disputed", "note": note},
        )
    refused(direct, 422, "control_character")
    assert world.events() == before


def test_tabs_and_line_breaks_stay_allowed_in_a_note(world: World) -> None:
    before = world.events()
    answer = world.change_status({"status": "disputed", "note": "first line\n\tsecond line\r\n"})
    assert answer.status_code == 201, answer.text
    assert world.events() == before + 1


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01"])
def test_a_date_outside_the_range_is_refused_on_every_service(world: World, day: str) -> None:
    refused(world.api("GET", "/aging", params={"as_of": day}), 422, "validation_failed")
    with world.stack.client("aging") as aging:
        refused(aging.get(f"{API}/aging", params={"as_of": day}), 422, "validation_failed")
    with world.stack.client("timeline") as timeline:
        refused(timeline.get(f"{API}/timeline", params={"from": day}), 422, "validation_failed")
    for edge in (EARLIEST, LATEST):
        assert world.api("GET", "/aging", params={"as_of": edge.isoformat()}).status_code == 200


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_promise_dated_in_another_millennium_is_refused(world: World, day: str) -> None:
    before = world.events()
    answer = world.change_status(
        {"status": "promised_to_pay", "promise_date": day, "promise_amount": "100.00"}
    )
    body = refused(answer, 422, "validation_failed")
    assert "promise_date" in body["detail"]
    assert world.events() == before


@pytest.mark.parametrize("value", ["1e999", "-1e999", "Infinity", "1" + "0" * 30])
def test_an_out_of_range_numeric_filter_is_refused(world: World, value: str) -> None:
    page = world.bea.http.get("/", params={"hb_f_balance": value})
    assert page.status_code == 400, page.text[:500]
    assert "not a number within range; filter ignored" in page.text
    with world.stack.client() as gateway:
        answer = gateway.get(
            f"/v1/companies/{COMPANY}/aging",
            params={"filter": f"balance:gte:{value}"},
            headers=world.headers,
        )
    refused(answer, 422)


@pytest.mark.parametrize(
    "recipient", ["not an address", "a@b.example, c@d.example", "Pat <pat@b.example>", "@x"]
)
def test_a_reprint_by_email_needs_one_email_address(world: World, recipient: str) -> None:
    before = world.events()
    answer = world.reprint({"channel": "email", "recipient": recipient})
    assert "recipient" in refused(answer, 422)["detail"]
    assert world.events() == before


def test_a_reprint_on_paper_names_an_addressee_and_one_by_email_an_address(world: World) -> None:
    before = world.events()
    paper = world.reprint({"channel": "print", "recipient": "Accounts payable, 3rd floor"})
    assert paper.status_code == 201, paper.text
    email = world.reprint({"channel": "email", "recipient": "ap@bad-1.example"})
    assert email.status_code == 201, email.text
    assert world.events() == before + 2


def test_a_body_over_the_limit_is_refused_unread(world: World) -> None:
    before = world.events()
    limit = world.stack.gateway_settings.max_body_bytes  # type: ignore[union-attr]
    huge = b'{"status": "disputed", "note": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    answer = world.api(
        "PUT",
        f"/transactions/{world.invoice}/collection-status",
        content=huge,
        headers={"Content-Type": "application/json"},
    )
    assert refused(answer, 413, "payload_too_large")["limit_bytes"] == limit

    def chunks() -> Iterator[bytes]:
        yield b'{"status": "disputed", "note": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    streamed = world.api(
        "PUT",
        f"/transactions/{world.invoice}/collection-status",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    refused(streamed, 413, "payload_too_large")
    assert world.events() == before
    assert world.api("GET", "/aging").status_code == 200
