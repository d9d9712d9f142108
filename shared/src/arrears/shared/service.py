"""The composition root every service shares: settings, database, broker, projections, HTTP.

A service declares a `ServiceSpec`; `create_service_app` wires it into a FastAPI application
with `/healthz`, `/readyz` and `/metrics`, runs its migrations at start and its projections
on the broker.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import (
    AbstractAsyncContextManager,
    AsyncExitStack,
    asynccontextmanager,
    contextmanager,
)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from aiokafka.errors import KafkaError
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, start_wsgi_server
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.shared.boundary import Boundary, RefusalPage, RequestLog
from arrears.shared.clock import Clock, clock_of
from arrears.shared.consumer import BatchConsumer, OnCommitted, Projection
from arrears.shared.db import create_engine, database_reachable
from arrears.shared.errors import PROBLEM_JSON, Problem, install_problem_handlers
from arrears.shared.kafka import broker_incarnation, create_broker, watching_the_broker
from arrears.shared.logging import configure_logging, get_logger
from arrears.shared.migrations import current_revision, is_current, upgrade
from arrears.shared.reconcile import reconciling
from arrears.shared.settings import ServiceSettings

log = get_logger(__name__)
T = TypeVar("T")

DRAIN_SECONDS = 5
"""On SIGTERM, requests in flight get this long to finish; then the consumers commit what
they applied and leave their groups, so a service stops well within a 10 s grace period."""


@dataclass
class ServiceContext:
    """What handlers and routes of a running service may use."""

    settings: ServiceSettings
    engine: AsyncEngine
    broker: KafkaBroker
    clock: Clock
    consumers: list[BatchConsumer] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceSpec:
    """What a service is made of; `create_app` and `main` wire it."""

    name: str
    title: str
    description: str
    settings: type[ServiceSettings]
    migrations: Path
    projections: Callable[[ServiceContext], Sequence[Projection]] = lambda _ctx: ()
    routers: Sequence[APIRouter] = ()
    on_committed: OnCommitted | None = None
    background: Callable[[ServiceContext], AbstractAsyncContextManager[None]] | None = None
    """Service-specific resources and tasks, entered after the broker starts."""
    optional_checks: Callable[[ServiceContext], Mapping[str, Callable[[], Awaitable[Any]]]] = (
        lambda _ctx: {}
    )
    """Probes of what the service can work without for a while (an SMTP server): a failing
    one makes `/readyz` answer 200 with the status `degraded`, not 503."""
    refusal_page: RefusalPage | None = None
    """How a request refused at the boundary (too large, control characters) is shown to a
    browser; problem+json when None."""

    def create_app(
        self, settings: ServiceSettings | None = None, *, clock: Clock | None = None
    ) -> FastAPI:
        return create_service_app(self, settings or self.settings(), clock=clock)

    def create_process_app(self, settings: ServiceSettings, *, clock: Clock | None) -> FastAPI:
        """The app as its own process serves it: it also stops the process when the broker
        lost its data (`watching_the_broker`), to be started again by its supervisor."""
        return create_service_app(
            self,
            settings,
            clock=clock,
            on_broker_lost=lambda: os.kill(os.getpid(), signal.SIGTERM),
        )

    def main(self, argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> None:
        """Process entry point, `python -m arrears.<service> [serve|migrate]`.

        `serve` (the default): serve the app with uvicorn, logging through structlog (the
        clock `ARREARS_CLOCK` names unless another is given: benchmarks serve data dated in
        the past).
        `migrate`: upgrade the service's schema and exit (a deployment's migration job, run
        before the new version rolls out with ARREARS_MIGRATE_ON_START=false)."""
        command = list(sys.argv[1:] if argv is None else argv) or ["serve"]
        if command not in (["serve"], ["migrate"]):
            raise SystemExit(f"usage: python -m arrears.{self.name} [serve|migrate]")
        settings = self.settings()
        configure_logging(settings.service, settings.log_level, settings.log_format)
        if command == ["migrate"]:
            asyncio.run(self.migrate(settings))
            return
        app = self.create_process_app(settings, clock=clock)
        # What start-up built (modules, models, schemas, routes) lives as long as the
        # process: keep the cyclic collector from walking it again after every few batches.
        gc.collect()
        gc.freeze()
        uvicorn.run(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=DRAIN_SECONDS,
        )

    async def migrate(self, settings: ServiceSettings) -> None:
        """Upgrade this service's schema to its newest migration."""
        engine = create_engine(settings.database_url, settings.schema_name, pool_size=1)
        try:
            await upgrade(engine, self.migrations, settings.schema_name)
            revision = await current_revision(engine, settings.schema_name)
            log.info("schema migrated", schema=settings.schema_name, revision=revision)
        finally:
            await engine.dispose()


async def _start_broker(broker: KafkaBroker, settings: ServiceSettings) -> None:
    await _once_the_broker_answers(broker.start, settings, after_failure=broker.stop)


async def _once_the_broker_answers(
    call: Callable[[], Awaitable[T]],
    settings: ServiceSettings,
    *,
    after_failure: Callable[[], Awaitable[object]] | None = None,
) -> T:
    """`call()`, asked again while the broker cannot be reached, for up to a minute."""
    deadline = time.monotonic() + 60
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call()
        except (KafkaError, OSError, TimeoutError) as exc:
            if time.monotonic() > deadline:
                raise
            log.warning(
                "broker not reachable yet",
                bootstrap=settings.kafka_bootstrap,
                attempt=attempt,
                error=str(exc),
            )
            if after_failure is not None:
                await after_failure()
            await asyncio.sleep(min(0.5 * attempt, 5.0))


def create_service_app(
    spec: ServiceSpec,
    settings: ServiceSettings,
    *,
    clock: Clock | None = None,
    on_broker_lost: Callable[[], None] | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(spec.name, settings.log_level, settings.log_format)
        engine = create_engine(
            settings.database_url, settings.schema_name, pool_size=settings.db_pool_size
        )
        if settings.migrate_on_start:
            await upgrade(engine, spec.migrations, settings.schema_name)
        broker = create_broker(settings)
        ctx = ServiceContext(settings, engine, broker, clock or clock_of(settings.clock))
        for projection in spec.projections(ctx):
            consumer = BatchConsumer(
                projection, engine, broker, settings, on_committed=spec.on_committed
            )
            consumer.register()
            ctx.consumers.append(consumer)
        incarnation = None
        if ctx.consumers:  # which contents of the broker the consumers' positions are on
            incarnation = await _once_the_broker_answers(
                lambda: broker_incarnation(settings), settings
            )
            for consumer in ctx.consumers:
                consumer.incarnation = incarnation
        await _start_broker(broker, settings)
        app.state.ctx = ctx

        try:
            async with AsyncExitStack() as stack:
                if settings.metrics_port is not None:
                    stack.enter_context(_metrics_server(settings.http_host, settings.metrics_port))
                if spec.background is not None:
                    await stack.enter_async_context(spec.background(ctx))
                await stack.enter_async_context(
                    reconciling(settings, engine, [c.projection for c in ctx.consumers])
                )
                if incarnation is not None and on_broker_lost is not None:
                    await stack.enter_async_context(
                        watching_the_broker(settings, incarnation, on_broker_lost)
                    )
                log.info(
                    "service started",
                    port=settings.http_port,
                    schema=settings.schema_name,
                    consumers=[c.consumer_name for c in ctx.consumers],
                )
                yield
        finally:
            await broker.stop()
            await engine.dispose()
            log.info("service stopped")

    app = FastAPI(
        title=spec.title, description=spec.description, version="0.1.0", lifespan=lifespan
    )
    install_problem_handlers(app)
    app.add_middleware(
        Boundary, max_body_bytes=settings.max_body_bytes, refusal_page=spec.refusal_page
    )
    app.add_middleware(RequestLog)
    app.include_router(_operations_router(spec, settings))
    for router in spec.routers:
        app.include_router(router)
    return app


def _operations_router(spec: ServiceSpec, settings: ServiceSettings) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    @router.get("/readyz", summary="Database and broker reachable, migrations applied")
    async def readyz(request: Request) -> JSONResponse:
        ctx: ServiceContext | None = getattr(request.app.state, "ctx", None)
        checks: dict[str, str] = {}
        if ctx is None:
            checks["startup"] = "starting"
        else:
            checks["database"] = await _check(lambda: database_reachable(ctx.engine))
            checks["migrations"] = await _check(
                lambda: is_current(ctx.engine, spec.migrations, settings.schema_name)
            )
            checks["broker"] = await _check(lambda: ctx.broker.ping(timeout=2.0))
        ready = all(value == "ok" for value in checks.values())
        body: dict[str, Any] = {"service": spec.name, "checks": checks}
        if ready and ctx is not None:
            optional = spec.optional_checks(ctx)
            degraded = {name: await _check(probe) for name, probe in optional.items()}
            if degraded:
                body["optional_checks"] = degraded
            status = "ready" if all(v == "ok" for v in degraded.values()) else "degraded"
            return JSONResponse({"status": status, **body})
        body.update(
            type="https://arrears.dev/problems/not_ready",
            title="Not ready",
            status=503,
            code="not_ready",
            detail=", ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok"),
        )
        return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus() -> Response:
        if settings.metrics_port is not None:
            raise Problem(
                404, "not_found", "metrics are served on the metrics port, not on this one"
            )
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


@contextmanager
def _metrics_server(host: str, port: int) -> Iterator[None]:
    """Prometheus metrics on a port of their own (a thread of the process)."""
    server, thread = start_wsgi_server(port, addr=host)
    log.info("metrics served", port=port)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def _check(probe: Callable[[], Any]) -> str:
    try:
        ok = await asyncio.wait_for(probe(), timeout=3.0)
    except Exception as exc:
        return f"error: {type(exc).__name__}: {exc}"[:300]
    return "ok" if ok else "failing"
