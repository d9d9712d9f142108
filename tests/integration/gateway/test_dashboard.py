"""The supervisor's dashboard on a worked example: its figures are the formulas of
docs/kpis.md applied by hand to the example's transactions, for the company, a pool and an
agent's customers, and each figure lists the customers whose amounts make it up."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pytest

from arrears.gateway.domain.access import Role
from tests.integration.gateway.conftest import Browser, Stack

pytestmark = pytest.mark.integration
CENT = Decimal("0.01")

# March 2026 (31 days) of two customers of the agent dan:
#   D-1: D1-A 1,000.00 posted 02-01 due 03-03; D1-B 600.00 posted 03-10 due 04-09;
#        a payment of 400.00 settles D1-A on 03-15.
#   D-2: D2-A 500.00 posted 01-15 due 02-14, unpaid.
BR = Decimal("1500.00")  # D1-A 1,000 + D2-A 500, as of 02-28
CS = Decimal("600.00")  # D1-B, posted in March
ETR = Decimal("1700.00")  # D1-A 600 + D1-B 600 + D2-A 500, as of 03-31
ECR = Decimal("600.00")  # D1-B, not yet due on 03-31
DAYS = 31


def rounded(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


EXPECTED = {
    "dso": rounded(ETR / CS * DAYS),  # 87.83
    "best_possible_dso": rounded(ECR / CS * DAYS),  # 31.00
    "average_days_delinquent": rounded((ETR - ECR) / CS * DAYS),  # 56.83
    "cei": rounded((BR + CS - ETR) / (BR + CS - ECR) * 100),  # 26.67
    "overdue_share": rounded((ETR - ECR) / ETR * 100),  # 64.71
    # March 600 (31 days, 1,100 left), February 1,000 (28 days, 100 left), January 500
    # covers 100: 100 / 500 * 31 = 6.2
    "countback_dso": rounded(Decimal(31 + 28) + Decimal(100) / Decimal(500) * 31),  # 65.20
    "kept": "0",
    "broken": "0",
}


@dataclass
class Desk:
    stack: Stack
    sue: Browser


@pytest.fixture(scope="module")
def desk(stack: Stack) -> Iterator[Desk]:
    stack.pool("pool-dan", "dan")
    stack.register("D-1", "dan", name="Delta One")
    stack.register("D-2", "dan", name="Delta Two")
    posted = [
        ("D-1", "D1-A", "2026-02-01", "2026-03-03", "1000.00"),
        ("D-1", "D1-B", "2026-03-10", "2026-04-09", "600.00"),
        ("D-2", "D2-A", "2026-01-15", "2026-02-14", "500.00"),
    ]
    ids = {}
    for customer, number, posting, due, amount in posted:
        body = {"document_number": number, "posting_date": posting, "due_date": due}
        ids[number] = stack.post(customer, "/invoices", {**body, "amount": amount})[
            "transaction_id"
        ]
    payment = stack.post("D-1", "/payments", {"payment_date": "2026-03-15", "amount": "400.00"})
    stack.post(
        "D-1",
        "/settlements",
        {
            "paying_transaction_id": payment["transaction_id"],
            "allocations": [{"transaction_id": ids["D1-A"]}],
            "settlement_date": "2026-03-15",
        },
    )
    stack.wait_for_aging("D-1", "D-2")
    stack.account("dan", {Role.AGENT}, ("pool-dan",))
    stack.account("sue", {Role.SUPERVISOR, Role.AGENT}, may_view_all=True)
    with stack.sign_in("sue") as sue:
        yield Desk(stack, sue)


def figures_of(page: str) -> dict[str, str]:
    rows = re.findall(r'<tr data-figure="([a-z_]+)">.*?<a [^>]*>([^<]+)</a>', page, re.S)
    return dict(rows)


def dashboard(desk: Desk, scope: str) -> str:
    page = desk.sue.http.get("/dashboard", params={"scope": scope, "as_of": "2026-03-31"})
    assert page.status_code == 200, page.text
    return page.text


@pytest.mark.parametrize("scope", ["company", "pool:pool-dan", "agent:dan"])
def test_the_figures_are_the_formulas_of_the_worked_example(desk: Desk, scope: str) -> None:
    page = dashboard(desk, scope)
    assert "2026-03-01 to 2026-03-31" in page
    assert figures_of(page) == EXPECTED
    # twelve months a chart, each bar a link to the customers behind it
    chart = page.split('id="chart-dso"', 1)[1].split("</svg>", 1)[0]
    assert chart.count("<a href=") == 12
    assert "start=2025-04-01&amp;end=2025-04-30" in chart


def test_a_figure_lists_the_customers_whose_amounts_make_it_up(desk: Desk) -> None:
    page = dashboard(desk, "agent:dan")
    link = re.search(r'<tr data-figure="dso">.*?<a href="([^"]+)"', page, re.S)
    assert link, page
    behind = desk.sue.http.get(html.unescape(link[1]))
    assert behind.status_code == 200, behind.text
    table = behind.text.split('id="figure-customers"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'data-customer="([^"]+)">.*?<td class="money">([^<]+)</td>', table, re.S)
    assert rows == [("D-1", "1,200.00"), ("D-2", "500.00")]
    assert sum(Decimal(a.replace(",", "")) for _, a in rows) == ETR
    assert "DSO of 2026-03-01 to 2026-03-31: 87.83 days" in behind.text

    cei = desk.sue.http.get(
        "/dashboard/customers",
        params={
            "scope": "company",
            "start": "2026-03-01",
            "end": "2026-03-31",
            "figure": "cei",
        },
    ).text
    assert "CEI of 2026-03-01 to 2026-03-31: 26.67 %" in cei


def test_only_supervisors_see_the_dashboard_and_bad_choices_are_refused(desk: Desk) -> None:
    with desk.stack.sign_in("dan") as dan:
        assert dan.http.get("/dashboard").status_code == 403
        assert 'href="/dashboard"' not in dan.http.get("/").text
    assert 'href="/dashboard"' in desk.sue.http.get("/").text
    for params in (
        {"scope": "pool:nope"},
        {"as_of": "0001-01-01"},
        {"as_of": "someday"},
    ):
        refused = desk.sue.http.get("/dashboard", params=params)
        assert 400 <= refused.status_code < 500, (params, refused.status_code)
    unknown = desk.sue.http.get(
        "/dashboard/customers",
        params={"start": "2026-03-01", "end": "2026-03-31", "figure": "colour"},
    )
    assert unknown.status_code == 404
    backwards = desk.sue.http.get(
        "/dashboard/customers",
        params={"start": "2026-03-31", "end": "2026-03-01", "figure": "dso"},
    )
    assert backwards.status_code == 422
