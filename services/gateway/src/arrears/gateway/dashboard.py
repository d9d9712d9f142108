"""The supervisor's dashboard: the collections KPIs of the company, of a pool or of an
agent's customers, month by month over the twelve months to any date, each figure leading
to the customers behind it.

Every figure is the aging service's (`…/kpis/months` and `…/kpis/customers`, see
docs/kpis.md); this page only chooses the scope, draws the months as bar charts (SVG drawn
on the server) and orders the customers behind a figure by their part in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from arrears.gateway import store, views
from arrears.gateway.auth import Session
from arrears.gateway.domain.access import Permission, Principal, Role
from arrears.gateway.pages import visible_pools
from arrears.gateway.upstream import part
from arrears.gateway.views import url_with
from arrears.gateway.web import Gateway, PageRoute, gateway_of, page_session, render, require
from arrears.shared.errors import Problem
from arrears.shared.inputs import Day

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SignedIn = Annotated[Session, Depends(page_session)]
MONTHS = 12
ROWS = 200
"""Customers listed behind a figure (the largest parts first); the totals count them all."""


def _amount(inputs: Mapping[str, Any], name: str) -> Decimal:
    return Decimal(str(inputs[name]))


def _overdue(inputs: Mapping[str, Any]) -> Decimal:
    return _amount(inputs, "ending_receivables") - _amount(inputs, "ending_current_receivables")


def _collectible(inputs: Mapping[str, Any]) -> Decimal:
    return (
        _amount(inputs, "beginning_receivables")
        + _amount(inputs, "credit_sales")
        - _amount(inputs, "ending_current_receivables")
    )


@dataclass(frozen=True, slots=True)
class Measure:
    """One figure of the dashboard: where aging answers it and what makes it up."""

    key: str
    title: str
    unit: str
    formula: str
    part: Callable[[Mapping[str, Any]], Decimal]
    """A customer's part in the figure (its inputs, or its promises), to order them by."""
    part_name: str
    promises: bool = False

    def value(self, answer: Mapping[str, Any]) -> Decimal | None:
        """The figure in one of aging's answers (a month, or a customer)."""
        if self.promises:
            return Decimal(answer["promises"][self.key])
        found = (answer.get("kpis") or {}).get(self.key)
        return None if found is None else Decimal(str(found))


MEASURES: tuple[Measure, ...] = (
    Measure(
        "dso",
        "DSO",
        "days",
        "ending receivables / credit sales * days",
        lambda i: _amount(i, "ending_receivables"),
        "Ending receivables",
    ),
    Measure(
        "countback_dso",
        "Countback DSO",
        "days",
        "ending receivables counted back through the monthly sales",
        lambda i: _amount(i, "ending_receivables"),
        "Ending receivables",
    ),
    Measure(
        "best_possible_dso",
        "Best possible DSO",
        "days",
        "ending current (not yet due) receivables / credit sales * days",
        lambda i: _amount(i, "ending_current_receivables"),
        "Not yet due",
    ),
    Measure(
        "average_days_delinquent",
        "Average days delinquent",
        "days",
        "DSO - best possible DSO",
        _overdue,
        "Overdue",
    ),
    Measure(
        "cei",
        "CEI",
        "%",
        "(beginning + credit sales - ending) / (beginning + credit sales - ending current) * 100",
        _collectible,
        "Collectible",
    ),
    Measure(
        "overdue_share",
        "Overdue share",
        "%",
        "(ending - ending current receivables) / ending receivables * 100",
        _overdue,
        "Overdue",
    ),
    Measure(
        "kept",
        "Promises kept",
        "promises",
        "promises to pay judged kept in the month",
        lambda p: Decimal(p["kept"]),
        "Kept",
        promises=True,
    ),
    Measure(
        "broken",
        "Promises broken",
        "promises",
        "promises to pay judged broken or partially kept in the month",
        lambda p: Decimal(p["broken"]),
        "Broken",
        promises=True,
    ),
)
BY_KEY = {m.key: m for m in MEASURES}


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose figures: the company, a pool, or an agent's customers (those the agent is the
    employee responsible for)."""

    key: str
    """In the address: `company`, `pool:<id>` or `agent:<login>`."""
    label: str
    params: Mapping[str, Any]
    """What aging is asked with."""


def scopes(
    principal: Principal, pools: Sequence[Mapping[str, Any]], agents: Sequence[str]
) -> list[Scope]:
    """The scopes a principal may look at: its pools; with every pool in view, also the
    company and each agent's customers."""
    found = [
        Scope(f"pool:{p['id']}", f"Pool: {p.get('name') or p['id']}", {"pool_id": p["id"]})
        for p in pools
    ]
    if principal.may_view_all:
        found.insert(0, Scope("company", "The whole company", {}))
        found += [
            Scope(
                f"agent:{login}",
                f"Agent: {login}",
                {"filter": [f"employee_responsible:eq:{login}"]},
            )
            for login in agents
        ]
    return found


def chosen_scope(available: Sequence[Scope], asked: str | None) -> Scope:
    if not available:
        raise Problem(404, "unknown_pool", "you have no pool to look at")
    if asked is None:
        return available[0]
    for scope in available:
        if scope.key == asked:
            return scope
    raise Problem(404, "unknown_scope", f"no scope {asked} of yours")


async def agent_logins(gateway: Gateway) -> list[str]:
    async with gateway.engine.connect() as conn:
        accounts = await store.list_accounts(conn)
    return [a.login for a in accounts if Role.AGENT in a.roles and not a.disabled]


async def scope_of(
    gateway: Gateway, principal: Principal, company: str, asked: str | None
) -> tuple[list[Scope], Scope]:
    pools, agents = await asyncio.gather(
        visible_pools(gateway, principal, company), agent_logins(gateway)
    )
    available = scopes(principal, pools, agents)
    return available, chosen_scope(available, asked)


def company_of(gateway: Gateway, principal: Principal, asked: str | None) -> str:
    companies = principal.companies(gateway.settings.companies)
    if not companies:
        raise Problem(404, "unknown_pool", "you have no customer pool")
    return asked if asked in companies else companies[0]


@dataclass(frozen=True, slots=True)
class Figure:
    measure: Measure
    value: Decimal | None
    href: str
    chart: views.Chart


def figures(
    months: Sequence[Mapping[str, Any]], link: Callable[[Measure, Mapping[str, Any]], str]
) -> list[Figure]:
    """Each measure: its figure in the newest month, and the months as a chart whose bars
    lead to the customers behind them."""
    names = [date.fromisoformat(m["end"]).strftime("%b %y") for m in months]
    return [
        Figure(
            measure,
            measure.value(months[-1]),
            link(measure, months[-1]),
            views.bar_chart(
                names,
                [measure.value(m) for m in months],
                hrefs=[link(measure, m) for m in months],
                width=560,
                height=200,
            ),
        )
        for measure in MEASURES
    ]


@router.get("/dashboard")
async def dashboard(
    request: Request,
    session: SignedIn,
    company: str | None = None,
    scope: Annotated[str | None, Query(max_length=120)] = None,
    as_of: Day | None = None,
) -> Response:
    gateway, principal = gateway_of(request), session.principal
    require(principal, Permission.SUPERVISE)
    company = company_of(gateway, principal, company)
    available, chosen = await scope_of(gateway, principal, company, scope)
    day = as_of or gateway.clock.today()
    answer = await gateway.upstreams.get_json(
        "aging",
        f"/v1/companies/{part(company)}/kpis/months",
        {"end": day.isoformat(), "months": MONTHS, **chosen.params},
    )
    months = answer["months"]

    def link(measure: Measure, month: Mapping[str, Any]) -> str:
        return url_with(
            "/dashboard/customers",
            company=company,
            scope=chosen.key,
            start=month["start"],
            end=month["end"],
            figure=measure.key,
        )

    flash = await gateway.auth.take_flash(session)
    return render(
        request,
        "dashboard.html",
        {
            "companies": principal.companies(gateway.settings.companies),
            "company": company,
            "scopes": available,
            "scope": chosen,
            "as_of": day,
            "month": months[-1],
            "figures": figures(months, link),
            "flash": flash,
        },
    )


def ordered(
    items: Sequence[Mapping[str, Any]], measure: Measure
) -> list[tuple[Mapping[str, Any], Decimal]]:
    """The customers with a part in the figure, the largest part first."""
    parts = []
    for item in items:
        source = item["promises"] if measure.promises else item["inputs"]
        if source is None:
            continue
        share = measure.part(source)
        if share:
            parts.append((item, share))
    return sorted(parts, key=lambda pair: (-pair[1], str(pair[0]["customer_id"])))


@router.get("/dashboard/customers")
async def figure_customers(
    request: Request,
    session: SignedIn,
    start: Day,
    end: Day,
    figure: Annotated[str, Query(max_length=40)],
    company: str | None = None,
    scope: Annotated[str | None, Query(max_length=120)] = None,
) -> Response:
    """The customers behind one figure of one month: their own inputs, figure and promises,
    and the totals the figure was computed from."""
    gateway, principal = gateway_of(request), session.principal
    require(principal, Permission.SUPERVISE)
    measure = BY_KEY.get(figure)
    if measure is None:
        raise Problem(404, "not_found", f"no figure {figure}")
    company = company_of(gateway, principal, company)
    _available, chosen = await scope_of(gateway, principal, company, scope)
    params = {"start": start.isoformat(), "end": end.isoformat(), **chosen.params}
    base = f"/v1/companies/{part(company)}/kpis"
    total, behind = await asyncio.gather(
        gateway.upstreams.get_json("aging", base, params),
        gateway.upstreams.get_json("aging", base + "/customers", params),
    )
    rows = ordered(behind["items"], measure)
    return render(
        request,
        "dashboard_customers.html",
        {
            "company": company,
            "scope": chosen,
            "measure": measure,
            "start": start,
            "end": end,
            "total": total,
            "value": measure.value(total),
            "rows": rows[:ROWS],
            "count": len(rows),
            "back": url_with("/dashboard", company=company, scope=chosen.key, as_of=end),
        },
    )
