"""The HTTP boundary every service installs: what is refused before any route runs, and what
is recorded about every request.

- `Boundary` refuses a body larger than the service's limit with 413 before reading it (from
  `Content-Length`; a body sent without one is read up to the limit and no further), and a
  control character (NUL, ESC, ..., an unpaired surrogate; tab and line breaks are text) in
  the path, a query parameter, a JSON string or a form field with 422 `control_character`.
  Nothing is changed: the route never runs.
- `RequestLog` binds the request's correlation id (`X-Correlation-Id`, or a new one) to every
  log line written while it is served, writes one access line per request (method, route,
  status, duration, correlation id, actor), times it for Prometheus, and turns an unhandled
  exception into a logged error with the correlation id and a 500 problem+json.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arrears.shared import metrics
from arrears.shared.errors import Problem, problem_response
from arrears.shared.ids import uuid7
from arrears.shared.inputs import control_character
from arrears.shared.logging import get_logger

log = get_logger("arrears.http")
access = get_logger("arrears.access")

RefusalPage = Callable[[Request, Problem], Awaitable[Response]]
"""How a service shows a refusal to a browser (the gateway: its error page)."""

ACTOR_HEADER = "x-arrears-actor"
CORRELATION_HEADER = "x-correlation-id"
_CORRELATION = re.compile(r"^[A-Za-z0-9._:/-]{1,200}$")


def correlation_of(scope: Scope) -> str:
    """The caller's correlation id when it is a sane token, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == CORRELATION_HEADER.encode():
            text = str(value.decode("latin-1"))
            if _CORRELATION.match(text):
                return text
    return str(uuid7())


def set_actor(request: Request, actor: str) -> None:
    """Name who is calling for the access line (the gateway's signed-in user or token)."""
    request.state.actor = actor


# ----------------------------------------------------------------------------- refusals


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{where}.{key}" if where else str(key), str(key)
            yield from _strings(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")


def _pairs(text: str, what: str) -> Iterator[tuple[str, str]]:
    for key, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
        yield f"{what} {key[:50]}", key
        yield f"{what} {key[:50]}", value


def _body_strings(content_type: str, body: bytes) -> Iterator[tuple[str, str]]:
    if not body:
        return
    if "json" in content_type:
        # Control characters can only reach a JSON string as \u escapes (raw ones make the
        # document invalid, which the route refuses); most bodies have none to decode.
        if b"\\u" not in body:
            return
        try:
            document = json.loads(body)
        except ValueError:
            return
        yield from _strings(document, "")
    elif content_type.startswith("application/x-www-form-urlencoded"):
        yield from _pairs(body.decode("latin-1"), "form field")
    elif b"\x00" in body:
        yield "body", "\x00"


def control_problem(scope: Scope, body: bytes) -> Problem | None:
    """422 `control_character` for the first control character the request carries."""
    headers = dict(scope.get("headers", ()))
    content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
    found = [("path", scope.get("path", ""))]
    sources = (
        found,
        _pairs(scope.get("query_string", b"").decode("latin-1"), "query parameter"),
        _body_strings(content_type, body),
    )
    for source in sources:
        for where, text in source:
            character = control_character(text)
            if character:
                return Problem(
                    422,
                    "control_character",
                    f"{where or 'body'} holds the control character {character}; text may "
                    "hold tabs and line breaks but no other control characters",
                    title="Invalid input",
                )
    return None


def too_large(limit: int) -> Problem:
    return Problem(
        413,
        "payload_too_large",
        f"the request body is larger than this service accepts ({limit:,} bytes)",
        title="Payload too large",
        limit_bytes=limit,
    )


class Boundary:
    """Refuses oversized bodies (413) and control characters (422) before the app runs."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, refusal_page: RefusalPage | None = None
    ) -> None:
        self.app = app
        self.limit = max_body_bytes
        self.refusal_page = refusal_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", ())).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            await self._refuse(scope, too_large(self.limit), send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await self._refuse(scope, too_large(self.limit), send)
                return
        problem = control_problem(scope, bytes(body))
        if problem is not None:
            await self._refuse(scope, problem, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, problem: Problem, send: Send) -> None:
        request = Request(scope)
        accepts = request.headers.get("accept", "")
        if self.refusal_page is not None and "text/html" in accepts:
            response = await self.refusal_page(request, problem)
        else:
            response = problem_response(problem, scope.get("path"))
        if problem.status == 413:
            response.headers["Connection"] = "close"
        await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


# ----------------------------------------------------------------------------- access log


class RequestLog:
    """Correlation id, one access line and the latency metric per request; an unhandled
    exception is logged with the correlation id and answered 500 problem+json."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = correlation_of(scope)
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
        started = time.perf_counter()
        status = 500
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status = message["status"]
                responded = True
                headers = list(message.get("headers", ()))
                headers.append((CORRELATION_HEADER.encode(), correlation_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error", method=scope["method"], path=scope["path"])
            status = 500
            if not responded:
                problem = Problem(
                    500,
                    "internal_error",
                    f"the request failed unexpectedly; quote {correlation_id} when reporting it",
                    title="Internal error",
                    correlation_id=correlation_id,
                )
                await problem_response(problem, scope.get("path"))(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics.HTTP_LATENCY.labels(scope["method"], route, str(status)).observe(elapsed)
            state = scope.get("state") or {}
            actor = state.get("actor") or _header(scope, ACTOR_HEADER)
            access.info(
                "request",
                method=scope["method"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 1),
                actor=actor,
            )
            structlog.contextvars.unbind_contextvars("correlation_id")


def _header(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name.encode():
            return str(value.decode("latin-1"))[:200]
    return None
