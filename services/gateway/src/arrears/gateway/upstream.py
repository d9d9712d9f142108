"""The other services as the gateway reaches them: one HTTP client each, problems passed
through in their own words, and the pool scope of a principal checked against aging."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Mapping
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


class Upstreams:
    """An `httpx.AsyncClient` per service, built in the lifespan; `transports` lets tests
    put services running in-process behind them."""

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
    ) -> httpx.Response:
        """The service's answer; a service that cannot be reached or fails is a 503/502
        problem (its 4xx answers are returned as they are)."""
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


def unknown_customer(company: str, customer_id: str) -> Problem:
    """What a customer out of scope looks like: exactly what an unknown one does."""
    return Problem(404, "unknown_customer", f"no customer {customer_id} in {company}")


def unknown_pool(company: str, pool_id: str) -> Problem:
    return Problem(404, "unknown_pool", f"no pool {pool_id} in {company}")


class Scope:
    """Which customers a principal sees: those of its pools (saved filters in aging), or all
    of them when it may view all pools."""

    def __init__(self, upstreams: Upstreams) -> None:
        self.upstreams = upstreams

    async def _in_pool(self, company: str, pool_id: str, customer_id: str) -> bool:
        response = await self.upstreams.call(
            "aging",
            "GET",
            f"/v1/companies/{part(company)}/aging",
            params={"pool_id": pool_id, "filter": f"customer_id:eq:{customer_id}", "limit": 1},
        )
        if response.status_code == 404:  # the pool was removed
            return False
        if response.status_code >= 400:
            raise problem_from("aging", response)
        return int(response.json()["total"]) > 0

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
