"""Sections of pages fed by the timeline and summary services, loaded with their page.

A `Panel` is a title, a template and a loader; a page loads its panels concurrently with its
own reads. A panel whose service does not answer shows that in words (the rest of the page
is unaffected). What the loaders compute without I/O lives in `timeline_views`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from arrears.gateway import profiles, timeline_views, views
from arrears.gateway.domain.access import Principal
from arrears.gateway.upstream import customer_path, part, problem_from
from arrears.gateway.web import Gateway
from arrears.shared.errors import Problem


@dataclass(frozen=True)
class Panel:
    """A section of a page: its template and what it needs, loaded with the page."""

    name: str
    title: str
    template: str
    load: Callable[[PageData], Awaitable[dict[str, Any]]]


@dataclass
class PageData:
    gateway: Gateway
    principal: Principal
    company: str
    customer_id: str | None = None
    query: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """The page's query parameters (each with all its values)."""
    base: str = "/"
    """The page's path, for links that keep its other parameters."""
    pool: str | None = None
    """The pool the page shows (None: every customer, or no pool at all)."""
    no_pool: bool = False

    @property
    def flat_query(self) -> dict[str, str]:
        """The query with the first value of each parameter."""
        return {k: v[0] for k, v in self.query.items() if v}


async def load_one(panel: Panel, page: PageData) -> dict[str, Any]:
    """The panel's data; `{"unavailable": words}` when its service did not answer."""
    try:
        return await panel.load(page)
    except Problem as problem:
        if problem.status >= 500:
            return {"unavailable": problem.detail}
        raise


async def load_panels(panels: tuple[Panel, ...], page: PageData) -> list[tuple[Panel, Any]]:
    loaded = await asyncio.gather(*(load_one(p, page) for p in panels))
    return list(zip(panels, loaded, strict=True))


def actor_header(principal: Principal) -> dict[str, str]:
    return {"X-Arrears-Actor": principal.actor}


# ----------------------------------------------------------------------------- the customer


async def load_profile(page: PageData) -> dict[str, Any]:
    assert page.customer_id is not None
    found = await profiles.load(page.gateway.engine, page.company, page.customer_id)
    return {"profile": found}


async def load_summary(page: PageData) -> dict[str, Any]:
    """The customer's summary for its current state (the summary service writes one when
    none is stored for it)."""
    assert page.customer_id is not None
    response = await page.gateway.upstreams.call(
        "summary",
        "GET",
        customer_path(page.company, page.customer_id, "/summary"),
        headers=actor_header(page.principal),
    )
    if response.status_code >= 400:
        return {"summary": None, "problem": timeline_views.problem_words(response)}
    summary = response.json()
    return {
        "summary": summary,
        "generated": timeline_views.moment(summary.get("created_at")),
        "problem": None,
    }


TIMELINE_PAGE = 25


async def load_timeline(page: PageData) -> dict[str, Any]:
    """One page of the customer's timeline, newest first (one year unless the page asks
    for other dates), filtered by the types chosen on the page."""
    assert page.customer_id is not None
    asked = timeline_views.TimelineQuery.parse(page.query)
    response = await page.gateway.upstreams.call(
        "timeline",
        "GET",
        customer_path(page.company, page.customer_id, "/timeline"),
        params=asked.params(TIMELINE_PAGE),
    )
    if response.status_code in (400, 422):
        raise Problem(
            400,
            "invalid_timeline_query",
            "the page's timeline parameters (tl_from, tl_to, tl_cursor) are not valid: "
            f"{timeline_views.problem_words(response)}",
            title="Invalid request",
        )
    if response.status_code >= 400:
        return {
            "timeline": None,
            "asked": asked,
            "problem": timeline_views.problem_words(response),
            "types": timeline_views.ENTRY_TYPES,
        }
    found = response.json()
    return {
        "timeline": found,
        "asked": asked,
        "problem": None,
        "entries": [timeline_views.entry_view(e) for e in found["items"]],
        "types": timeline_views.ENTRY_TYPES,
        "next": asked.next_link(page.base, page.query, found.get("next_cursor")),
        "first": asked.first_link(page.base, page.query) if asked.cursor else None,
    }


async def load_reminder(page: PageData) -> dict[str, Any]:
    return {}


CUSTOMER_PANELS: tuple[Panel, ...] = (
    Panel("summary", "Summary", "panels/summary.html", load_summary),
    Panel("reminder", "Reminder email", "panels/reminder.html", load_reminder),
    Panel("contacts", "Contact details", "panels/contacts.html", load_profile),
)
CUSTOMER_WIDE_PANELS: tuple[Panel, ...] = (
    Panel("timeline", "Customer timeline", "panels/timeline.html", load_timeline),
)
"""Panels shown across the page's width, below the tabs and actions."""


# ----------------------------------------------------------------------------- my activities

AGENT_PAGE = 2_000
"""An agent's open activities are read in one page of at most 2,000 (the timeline's most)."""
NO_ACTIVITIES: dict[str, Any] = {
    "items": [],
    "as_of": None,
    "open": 0,
    "overdue": 0,
    "truncated": False,
}


def agent_path(company: str, agent: str, suffix: str) -> str:
    return f"/v1/companies/{part(company)}/agents/{part(agent)}/{suffix}"


async def activities_in_pool(
    gateway: Gateway, company: str, agent: str, pool_id: str | None, limit: int = AGENT_PAGE
) -> dict[str, Any]:
    """The agent's open activities among the pool's customers (None: every customer), oldest
    due first, the first `limit` of them, with how many are open and overdue there
    (`truncated`: more than `AGENT_PAGE`, the most ever read).

    The timeline names the customers the agent has open activities with, aging says which of
    *those* are in the pool, and the timeline lists the activities among them: the cost
    follows the agent's open activities, never the pool's size."""
    customers: list[str] | None = None
    if pool_id is not None:
        mine = await gateway.upstreams.get_json(
            "timeline", agent_path(company, agent, "activity-customers")
        )
        customers = sorted(await gateway.scope.members(company, pool_id, mine["customers"]))
        if not customers:
            return dict(NO_ACTIVITIES)
    response = await gateway.upstreams.call(
        "timeline",
        "POST",
        agent_path(company, agent, "activities:search"),
        json={"customers": customers, "limit": limit},
    )
    if response.status_code >= 400:
        raise problem_from("timeline", response)
    found = response.json()
    return {
        "items": found["items"],
        "as_of": found["as_of"],
        "open": found["open"],
        "overdue": found["overdue"],
        "truncated": found["open"] > AGENT_PAGE,
    }


async def load_activities(page: PageData) -> dict[str, Any]:
    """My activities: the signed-in agent's open activities in the page's pool, oldest due
    first unless sorted otherwise, filtered and paginated by the page's `ac_` parameters.
    In the timeline's own order (oldest due first, no filter) only the activities up to the
    page shown are read, and the timeline counts them; otherwise all of them (up to
    `AGENT_PAGE`) are read and sorted and filtered here."""
    query = page.flat_query
    state = views.GridState.parse(timeline_views.ACTIVITIES, query)
    size = state.spec.page_size
    in_order = state.sort == "due" and state.order == "asc" and not state.filters
    if page.no_pool:
        found = dict(NO_ACTIVITIES)
    else:
        limit = min(state.offset + size, AGENT_PAGE) if in_order else AGENT_PAGE
        found = await activities_in_pool(
            page.gateway, page.company, page.principal.login, page.pool, limit
        )
    rows = [timeline_views.activity_row(a, page.company) for a in found["items"]]
    kept: Sequence[Mapping[str, Any]]
    if in_order:
        kept, total, overdue = rows[state.offset :], int(found["open"]), int(found["overdue"])
    else:
        kept = views.sort_rows(timeline_views.filter_rows(rows, state), state)
        total, overdue = len(kept), sum(1 for r in kept if r.get("overdue"))
        kept = kept[state.offset :]
    grid = views.grid(
        state,
        kept[:size],
        total,
        query,
        note="open, oldest due first" if state.sort == "due" else "open",
    )
    return {
        "grid": grid,
        "overdue": overdue,
        "truncated": found["truncated"],
        "as_of": found["as_of"],
    }


OVERVIEW_PANELS: tuple[Panel, ...] = (
    Panel("activities", "My activities", "panels/activities.html", load_activities),
)
