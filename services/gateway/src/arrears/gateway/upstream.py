"""The other services as the gateway reaches them: one HTTP client each, problems passed
through in their own words, and the pool scope of a principal checked against aging."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import structlog

from arrears.gateway.domain.access import Principal
from arrears.gateway.settings import GatewaySettings
from arrears.shared.errors import Problem

T = TypeVar("T")
SERVICES = ("ledger", "aging", "timeline", "summary", "notifier")
PROBLEM_KEYS = frozenset({"type", "title", "status", "code", "detail", "instance"})


def part(value: str) -> str:
    """One path segment, percent-encoded (customer ids may hold any character but '/')."""
    return quote(value, safe="")


def customer_path(company: str, customer_id: str, suffix: str = "") -> str:
    return f"/v1/companies/{part(company)}/customers/{part(customer_id)}{suffix}"


def problem_from(service: str, response: httpx.Response) -> Problem:
    """The problem another service answered, as the gateway's own (same status and code)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "code" not in body:
        return Problem(
            response.status_code,
            "upstream_refused",
            f"the {service} service answered {response.status_code}",
        )
    extra = {k: v for k, v in body.items() if k not in PROBLEM_KEYS}
    return Problem(
        response.status_code,
        str(body["code"]),
        str(body.get("detail", "")),
        title=body.get("title"),
        **extra,
    )


class TtlCache:
    """Values kept for `seconds` (0: nothing is kept), at most `size` of them (when full,
    it starts over)."""

    def __init__(
        self, seconds: float, *, size: int = 10_000, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds, self.size, self.now = seconds, size, now
        self.entries: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable) -> Any | None:
        found = self.entries.get(key)
        if found is None:
            return None
        if found[0] <= self.now():
            del self.entries[key]
            return None
        return found[1]

    def put(self, key: Hashable, value: Any) -> None:
        if self.seconds <= 0:
            return
        if len(self.entries) >= self.size:
            self.entries.clear()
        self.entries[key] = (self.now() + self.seconds, value)


class Upstreams:
    """An `httpx.AsyncClient` per service, built in the lifespan; `transports` lets tests
    put services running in-process behind them. Configuration reads (pools, aging
    definitions) and pool memberships are kept for `ARREARS_UPSTREAM_CACHE_S`; a change
    sent to the aging service through the gateway forgets them."""

    def __init__(
        self,
        settings: GatewaySettings,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        transports = transports or {}
        self.clients = {
            name: httpx.AsyncClient(
                base_url=getattr(settings, f"{name}_url"),
                timeout=settings.upstream_timeout_s,
                transport=transports.get(name),
            )
            for name in SERVICES
        }
        if settings.mail_sink_url:
            self.clients["mailsink"] = httpx.AsyncClient(
                base_url=settings.mail_sink_url,
                timeout=settings.upstream_timeout_s,
                transport=transports.get("mailsink"),
            )
        self.kept = TtlCache(settings.upstream_cache_s)
        self.members = TtlCache(settings.upstream_cache_s)

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients.values()))

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        changes: bool | None = None,
    ) -> httpx.Response:
        """The service's answer; a service that cannot be reached or fails is a 503/502
        problem (its 4xx answers are returned as they are). A call that `changes` something
        (by default any but GET) in aging forgets what was kept from it."""
        sent = dict(headers or {})
        correlation = structlog.contextvars.get_contextvars().get("correlation_id")
        if correlation:
            sent["X-Correlation-Id"] = str(correlation)
        if content is not None:
            sent.setdefault("Content-Type", "application/json")
        try:
            response = await self.clients[service].request(
                method, path, params=params, json=json, content=content, headers=sent
            )
        except httpx.HTTPError as error:
            raise Problem(
                503,
                "upstream_unavailable",
                f"the {service} service did not answer ({type(error).__name__})",
                service=service,
            ) from error
        if (method != "GET" if changes is None else changes) and service == "aging":
            # A change of pools or definitions through the gateway is seen at once.
            self.kept.entries.clear()
            self.members.entries.clear()
        if response.status_code >= 500:
            raise Problem(
                502,
                "upstream_failed",
                f"the {service} service failed with {response.status_code}",
                service=service,
            )
        return response

    async def get_json(self, service: str, path: str, params: Any = None) -> Any:
        """A read: its JSON body, or the service's problem raised as the gateway's."""
        response = await self.call(service, "GET", path, params=params)
        if response.status_code >= 400:
            raise problem_from(service, response)
        return response.json()

    async def get_kept(self, service: str, path: str) -> Any:
        """A configuration read, answered from what was read in the last
        `ARREARS_UPSTREAM_CACHE_S` seconds when there is one."""
        found = self.kept.get((service, path))
        if found is None:
            found = await self.get_json(service, path)
            self.kept.put((service, path), found)
        return found


def unknown_customer(company: str, customer_id: str) -> Problem:
    """What a customer out of scope looks like: exactly what an unknown one does."""
    return Problem(404, "unknown_customer", f"no customer {customer_id} in {company}")


def unknown_pool(company: str, pool_id: str) -> Problem:
    return Problem(404, "unknown_pool", f"no pool {pool_id} in {company}")


class Scope:
    """Which customers a principal sees: those of its pools (saved filters in aging), or all
    of them when it may view all pools. That a customer is in a pool is kept for
    `ARREARS_UPSTREAM_CACHE_S` (only that it is counts here: a customer that joins a pool
    is seen at once, one that leaves it may stay visible that long)."""

    def __init__(self, upstreams: Upstreams) -> None:
        self.upstreams = upstreams
        self.members_kept = upstreams.members

    async def members(self, company: str, pool_id: str, customer_ids: Iterable[str]) -> set[str]:
        """Which of these customers are in the pool: those known to be in it for the last
        `ARREARS_UPSTREAM_CACHE_S`, and for the others one question to aging, however large
        the pool (none when the pool was removed)."""
        wanted = set(customer_ids)
        known = {c for c in wanted if self.members_kept.get((company, pool_id, c))}
        asked = sorted(wanted - known)
        found: set[str] = set()
        if asked:
            response = await self.upstreams.call(
                "aging",
                "POST",
                f"/v1/companies/{part(company)}/pools/{part(pool_id)}/membership",
                json={"customers": asked},
                changes=False,  # a question, asked by POST for its size
            )
            if response.status_code >= 400:
                problem = problem_from("aging", response)
                if problem.code == "unknown_pool":  # the pool was removed
                    return set()
                raise problem
            found = set(response.json()["members"])
            for customer in found:
                self.members_kept.put((company, pool_id, customer), True)
        return found | known

    async def _in_pool(self, company: str, pool_id: str, customer_id: str) -> bool:
        return customer_id in await self.members(company, pool_id, [customer_id])

    async def sees(self, principal: Principal, company: str, customer_id: str) -> bool:
        if principal.may_view_all:
            return True
        pools = principal.pools_of(company)
        found = await asyncio.gather(*(self._in_pool(company, p, customer_id) for p in pools))
        return any(found)

    async def require_customer(self, principal: Principal, company: str, customer_id: str) -> None:
        if not await self.sees(principal, company, customer_id):
            raise unknown_customer(company, customer_id)

    async def read(
        self, principal: Principal, company: str, customer_id: str, fetch: Awaitable[T]
    ) -> T:
        """`fetch` (reads about one customer) runs while the scope is checked; its result or
        error is only ever seen when the customer is in scope."""
        fetched = asyncio.ensure_future(fetch)
        try:
            await self.require_customer(principal, company, customer_id)
        except BaseException:
            fetched.cancel()
            with contextlib.suppress(BaseException):
                await fetched
            raise
        return await fetched

    def list_pool(self, principal: Principal, company: str, pool_id: str | None) -> str | None:
        """The pool a list of customers is cut to: the one asked for if the principal sees it,
        else its default (or first) pool of the company; None = every customer (only for
        principals who may view all). A principal with no pool there sees an empty list."""
        if pool_id:
            if not principal.sees_pool(company, pool_id):
                raise unknown_pool(company, pool_id)
            return pool_id
        if principal.may_view_all:
            return None
        default = principal.default_pool
        if default is not None and default.company == company:
            return default.pool_id
        mine = principal.pools_of(company)
        if not mine:
            raise NoPool(company)
        return mine[0]


class NoPool(Exception):
    """The principal has no pool in this company: its lists are empty."""

    def __init__(self, company: str) -> None:
        super().__init__(company)
        self.company = company
