"""Pool scope, permissions, CSRF and the actor, on every route the gateway has.

Routes are enumerated from the running application, so a route added later is covered
without touching these tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from arrears.gateway.domain.access import Role
from tests.integration.gateway.conftest import COMPANY, Browser, Stack

pytestmark = pytest.mark.integration

FILL = {"company": COMPANY, "action": "status"}
"""Path parameters other than the customer; anything else gets a made-up id."""


@dataclass
class World:
    stack: Stack
    a_invoice: str
    a_small: str
    b_invoice: str
    anna: Browser
    anna_token: str


@pytest.fixture(scope="module")
def world(stack: Stack) -> Iterator[World]:
    stack.pool("pool-a", "owner-a")
    stack.pool("pool-b", "owner-b")
    stack.register("A-1", "owner-a", name="Alpha Traders")
    stack.register("B-1", "owner-b", name="Beta Secret Holdings")
    a_invoice = stack.invoice("A-1", "INV-A-1")
    a_small = stack.invoice("A-1", "INV-A-2", "20.00")
    b_invoice = stack.invoice("B-1", "INV-B-1")
    stack.wait_for_aging("A-1", "B-1")
    stack.account("anna", {Role.AGENT}, ("pool-a",))
    stack.account("boss", {Role.AGENT, Role.SUPERVISOR}, ("pool-a",))

    anna = stack.sign_in("anna")
    try:
        _id, token = stack.token("anna-script", {Role.AGENT}, ("pool-a",))
        yield World(stack, a_invoice, a_small, b_invoice, anna, token)
    finally:
        anna.http.close()


def customer_routes(stack: Stack) -> list[tuple[str, str]]:
    assert stack.gateway_app is not None
    return sorted(
        (method, str(route.path))
        for route in iter_route_contexts(stack.gateway_app.routes)
        if route.path and "{customer_id}" in route.path
        for method in route.methods or ()
    )


def fill(path: str, customer_id: str) -> str:
    return re.sub(
        r"\{(\w+)\}",
        lambda m: customer_id if m.group(1) == "customer_id" else FILL.get(m.group(1), "T-1"),
        path,
    )


def call(world: World, method: str, path: str, customer_id: str) -> httpx.Response:
    url = fill(path, customer_id)
    if path.startswith("/v1/"):
        headers = {"Authorization": f"Bearer {world.anna_token}"}
        with world.stack.client() as client:
            body = None if method == "GET" else {}
            return client.request(method, url, headers=headers, json=body)
    if method == "GET":
        return world.anna.http.get(url)
    return world.anna.form(url, {})


def test_the_gateway_has_customer_routes_of_every_kind(world: World) -> None:
    routes = customer_routes(world.stack)
    api_reads = [r for r in routes if r[1].startswith("/v1/") and r[0] == "GET"]
    commands = [r for r in routes if r[1].startswith("/v1/") and r[0] != "GET"]
    pages = [r for r in routes if not r[1].startswith("/v1/")]
    assert len(api_reads) >= 5 and len(commands) >= 20 and len(pages) >= 2, routes
    paths = {path for _method, path in routes}
    for suffix in (
        "/timeline",
        "/transactions/{transaction_id}/history",
        "/activities",
        "/summary",
        "/summaries",
        "/summary:regenerate",
        "/reminder-drafts",
        "/reminder-drafts/{draft_id}",
    ):
        assert f"/v1/companies/{{company}}/customers/{{customer_id}}{suffix}" in paths, suffix
    for page in ("/reminder", "/reminder/{draft_id}", "/summary/regenerate", "/history"):
        assert f"/companies/{{company}}/customers/{{customer_id}}{page}" in paths, page


def test_an_agent_gets_404_for_a_customer_outside_its_pools_on_every_route(world: World) -> None:
    for method, path in customer_routes(world.stack):
        outside = call(world, method, path, "B-1")
        assert outside.status_code == 404, (method, path, outside.status_code, outside.text)
        assert "Beta Secret" not in outside.text and "INV-B-1" not in outside.text
        if path.startswith("/v1/"):
            assert outside.json()["code"] == "unknown_customer", (method, path)
        inside = call(world, method, path, "A-1")
        refused_as_unknown = (
            inside.status_code == 404
            and inside.headers.get("content-type", "").startswith("application/problem+json")
            and inside.json().get("detail") == f"no customer A-1 in {COMPANY}"
        )
        assert not refused_as_unknown, (method, path, inside.text)


def test_an_unknown_customer_looks_exactly_like_one_outside_the_pools(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.anna_token}"}
    with world.stack.client() as client:
        outside = client.get(f"/v1/companies/{COMPANY}/customers/B-1/aging", headers=headers)
        unknown = client.get(f"/v1/companies/{COMPANY}/customers/NOPE-9/aging", headers=headers)
    strip = {"detail", "instance"}
    assert {k: v for k, v in outside.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }


def test_lists_are_cut_to_the_agents_pools(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.anna_token}"}
    with world.stack.client() as client:
        mine = client.get(f"/v1/companies/{COMPANY}/aging", headers=headers).json()
        assert [r["customer_id"] for r in mine["items"]] == ["A-1"] and mine["total"] == 1
        uncounted = client.get(
            f"/v1/companies/{COMPANY}/aging", params={"count": "false"}, headers=headers
        ).json()
        assert uncounted == {"total": None, "items": mine["items"]}
        with_tabs = client.get(
            f"/v1/companies/{COMPANY}/customers/A-1/aging",
            params={"tab": ["open", "unsettled_payments"]},
            headers=headers,
        ).json()
        assert set(with_tabs["transactions"]) == {"open", "unsettled_payments"}
        assert with_tabs["transactions"]["open"]["total"] >= 1
        other = client.get(
            f"/v1/companies/{COMPANY}/aging", params={"pool_id": "pool-b"}, headers=headers
        )
        assert other.status_code == 404 and other.json()["code"] == "unknown_pool"
        pools = client.get(f"/v1/companies/{COMPANY}/pools", headers=headers).json()
        assert [p["id"] for p in pools] == ["pool-a"]
        kpis = client.get(
            f"/v1/companies/{COMPANY}/kpis",
            params={"start": "2026-01-01", "end": "2026-06-01", "customer_id": "B-1"},
            headers=headers,
        )
        assert kpis.status_code == 404
    overview = world.anna.http.get("/")
    assert overview.status_code == 200
    assert "Alpha Traders" in overview.text and "Beta Secret" not in overview.text
    found = world.anna.http.get("/find", params={"company": COMPANY, "q": "Beta"})
    assert "Beta Secret" not in found.text


def write_off_body(invoice: str) -> dict[str, object]:
    return {
        "transactions": [{"transaction_id": invoice}],
        "reason_code": "SMALL",
        "write_off_account": "6150",
    }


def written_off(stack: Stack, customer_id: str) -> list[str]:
    with stack.client("ledger") as ledger:
        events = ledger.get(f"/v1/companies/{COMPANY}/customers/{customer_id}/events").json()
    return [e["actor"] for e in events["events"] if e["type"] == "TransactionsWrittenOff"]


def test_an_agent_cannot_write_off_and_a_supervisor_can(world: World) -> None:
    stack = world.stack
    url = f"/v1/companies/{COMPANY}/customers/A-1/write-offs"
    with stack.client() as client:
        refused = client.post(
            url,
            json=write_off_body(world.a_small),
            headers={"Authorization": f"Bearer {world.anna_token}"},
        )
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "forbidden" and "supervisor" in refused.json()["detail"]
    page = world.anna.form(
        f"/companies/{COMPANY}/customers/A-1/actions/write-off",
        {"transaction_id": world.a_small, "reason_code": "SMALL", "write_off_account": "6150"},
    )
    assert page.status_code == 403
    assert (
        "Write-offs need a supervisor"
        in world.anna.http.get(f"/companies/{COMPANY}/customers/A-1").text
    )
    assert written_off(stack, "A-1") == []

    with stack.sign_in("boss") as boss:
        done = boss.http.post(
            url, json=write_off_body(world.a_small), headers={"X-CSRF-Token": boss.csrf}
        )
        assert done.status_code == 201, done.text
    assert written_off(stack, "A-1") == ["boss"]


def page_posts(stack: Stack) -> list[str]:
    assert stack.gateway_app is not None
    return sorted(
        str(route.path)
        for route in iter_route_contexts(stack.gateway_app.routes)
        if route.path and "POST" in (route.methods or ()) and not route.path.startswith("/v1/")
    )


def test_every_form_post_without_the_csrf_token_is_refused(world: World) -> None:
    posts = page_posts(world.stack)
    assert "/logout" in posts and "/login" in posts and len(posts) >= 3, posts
    for path in posts:
        url = fill(path, "A-1")
        without = world.anna.form(url, {"status": "disputed"}, csrf=False)
        assert without.status_code == 403, (path, without.status_code)
        wrong = world.anna.http.post(url, data={"csrf_token": "forged", "status": "disputed"})
        assert wrong.status_code == 403, (path, wrong.status_code)
    assert world.anna.http.get("/").status_code == 200, "the session survived the refusals"


def test_browser_api_calls_need_the_csrf_header(world: World) -> None:
    url = f"/v1/companies/{COMPANY}/customers/A-1/transactions/{world.a_invoice}/collection-status"
    body = {"status": "disputed"}
    refused = world.anna.http.put(url, json=body)
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    read = world.anna.http.get(f"/v1/companies/{COMPANY}/customers/A-1/aging")
    assert read.status_code == 200
    done = world.anna.http.put(url, json=body, headers={"X-CSRF-Token": world.anna.csrf})
    assert done.status_code == 201, done.text


def test_every_command_carries_the_callers_identity_as_actor(world: World) -> None:
    stack = world.stack
    url = f"/v1/companies/{COMPANY}/customers/A-1/transactions/{world.a_invoice}/reprint"
    with stack.client() as client:
        done = client.post(
            url,
            json={"channel": "email"},
            headers={"Authorization": f"Bearer {world.anna_token}", "X-Arrears-Actor": "mallory"},
        )
    assert done.status_code == 201, done.text
    assert done.json()["events"][0]["actor"] == "token:anna-script"
    form = world.anna.form(
        f"/companies/{COMPANY}/customers/A-1/actions/reprint",
        {"transaction_id": world.a_invoice, "channel": "print"},
    )
    assert form.status_code == 303
    with stack.client("ledger") as ledger:
        events = ledger.get(f"/v1/companies/{COMPANY}/customers/A-1/events").json()["events"]
    actors = [e["actor"] for e in events if e["type"] == "InvoiceReprintRequested"]
    assert actors == ["token:anna-script", "anna"]


def test_without_credentials_the_api_answers_401_and_pages_send_to_sign_in(world: World) -> None:
    with world.stack.client() as client:
        api = client.get(f"/v1/companies/{COMPANY}/customers/A-1/aging")
        assert api.status_code == 401 and api.json()["code"] == "unauthenticated"
        forged = client.get(
            f"/v1/companies/{COMPANY}/aging", headers={"Authorization": "Bearer arr_nope"}
        )
        assert forged.status_code == 401
        page = client.get(f"/companies/{COMPANY}/customers/A-1")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login?next=")
