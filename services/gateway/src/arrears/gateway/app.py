"""Wiring of the gateway service: settings, database, upstream clients, authentication,
pages and the public API; the process entry point."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import httpx

from arrears.gateway import (
    admin,
    api,
    cash,
    dashboard,
    pages,
    strategy_pages,
    webhook_routes,
    workspace,
)
from arrears.gateway.auth import Authenticator, JwtVerifier, ensure_first_admin
from arrears.gateway.handlers import ProfileProjection
from arrears.gateway.settings import GatewaySettings
from arrears.gateway.upstream import Scope, Upstreams
from arrears.gateway.web import Gateway, refusal_page, templates
from arrears.shared.service import ServiceContext, ServiceSpec

Transports = Mapping[str, httpx.AsyncBaseTransport]


@asynccontextmanager
async def gateway_runtime(
    ctx: ServiceContext, transports: Transports | None = None
) -> AsyncIterator[None]:
    """The upstream clients, the authenticator and the first account of this process.

    `transports` (tests) puts services running in-process behind the clients, by service
    name; `jwks` names the transport of the identity provider's key set."""
    settings = ctx.settings
    assert isinstance(settings, GatewaySettings)
    transports = transports or {}
    upstreams = Upstreams(settings, transports)
    jwks_client = httpx.AsyncClient(
        timeout=settings.upstream_timeout_s, transport=transports.get("jwks")
    )
    verifier = JwtVerifier(settings, jwks_client) if settings.oidc_enabled else None
    auth = Authenticator(ctx.engine, settings, ctx.clock, verifier)
    await ensure_first_admin(ctx.engine, settings, ctx.clock)
    ctx.extras["gateway"] = Gateway(
        settings=settings,
        engine=ctx.engine,
        clock=ctx.clock,
        auth=auth,
        upstreams=upstreams,
        scope=Scope(upstreams),
        templates=templates(),
    )
    try:
        yield
    finally:
        await upstreams.aclose()
        await jwks_client.aclose()


def build_spec(transports: Transports | None = None) -> ServiceSpec:
    return ServiceSpec(
        name="gateway",
        title="Arrears gateway",
        description=(
            "The collections agent's workspace and the public REST API: authentication, pool "
            "scope and permissions over the read models and the ledger's commands."
        ),
        settings=GatewaySettings,
        migrations=Path(__file__).parent / "migrations",
        projections=lambda ctx: [ProfileProjection()],
        routers=(
            api.router,
            cash.api_router,
            webhook_routes.router,
            pages.router,
            workspace.router,
            cash.page_router,
            dashboard.router,
            admin.router,
            strategy_pages.router,
        ),
        background=partial(gateway_runtime, transports=transports),
        refusal_page=refusal_page,
    )


SPEC = build_spec()
create_app = SPEC.create_app
main = SPEC.main
