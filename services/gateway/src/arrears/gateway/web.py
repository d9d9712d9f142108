"""What the gateway's routes share: the running gateway, who is calling, and HTML rendering.

- `Gateway`: the parts one process holds (authenticator, upstream clients, scope, templates).
- `api_caller`: the principal of an API request (bearer JWT or API token, or the browser
  session plus its CSRF token in `X-CSRF-Token` for state-changing requests).
- `page_session`: the browser session of a page; without one the browser is sent to sign in.
- `form_csrf`: every state-changing form carries the session's CSRF token (403 without).
- `PageRoute`: routes of pages answer errors as HTML pages, not problem+json.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.gateway.auth import SESSION_COOKIE, Authenticator, Session, unauthorized
from arrears.gateway.domain.access import PERMISSIONS, Permission, Principal
from arrears.gateway.domain.secrets import same
from arrears.gateway.settings import GatewaySettings
from arrears.gateway.upstream import Scope, Upstreams
from arrears.gateway.views import url_with
from arrears.shared.boundary import set_actor
from arrears.shared.clock import Clock
from arrears.shared.errors import RETRY_AFTER_S, Problem
from arrears.shared.logging import get_logger

log = get_logger(__name__)
PACKAGE = Path(__file__).parent
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass
class Gateway:
    settings: GatewaySettings
    engine: AsyncEngine
    clock: Clock
    auth: Authenticator
    upstreams: Upstreams
    scope: Scope
    templates: jinja2.Environment


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.ctx.extras["gateway"]
    return gateway


# ----------------------------------------------------------------------------- who calls


async def api_caller(request: Request) -> Principal:
    gateway = gateway_of(request)
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("use `Authorization: Bearer <token>`")
        principal = await gateway.auth.bearer(token.strip())
        set_actor(request, principal.actor)
        return principal
    session = await gateway.auth.session(request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        raise unauthorized("sign in, or send a bearer token")
    set_actor(request, session.principal.actor)
    if request.method not in SAFE_METHODS and not same(
        request.headers.get(CSRF_HEADER, ""), session.csrf_token
    ):
        raise csrf_failed()
    return session.principal


def csrf_failed() -> Problem:
    return Problem(
        403, "csrf_failed", "the request lacks this session's CSRF token", title="Refused"
    )


def require(principal: Principal, permission: Permission) -> None:
    if not principal.can(permission):
        raise Problem(
            403,
            "forbidden",
            f"{principal.login} may not {permission.value.replace('_', ' ')} "
            f"(needs the role {' or '.join(sorted(r.value for r in PERMISSIONS[permission]))})",
            title="Not allowed",
        )


class SignInRequired(Exception):
    """The page needs a signed-in browser session."""


async def page_session(request: Request) -> Session:
    session = await gateway_of(request).auth.session(request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        raise SignInRequired
    request.state.session = session
    set_actor(request, session.principal.actor)
    return session


async def form_csrf(request: Request, session: Annotated[Session, Depends(page_session)]) -> None:
    """The posted form carries the session's CSRF token."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not same(sent, session.csrf_token):
        raise csrf_failed()


# ----------------------------------------------------------------------------- HTML


def _money(value: Any) -> str:
    """An exact amount with thousands separators and at least two decimals."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    places = max(2, -amount.normalize().as_tuple().exponent)  # type: ignore[operator]
    return f"{amount:,.{min(places, 6)}f}"


def _sign(value: Any) -> str:
    """` negative` (a class to add) for an amount below zero, else nothing."""
    try:
        return " negative" if Decimal(str(value)) < 0 else ""
    except (InvalidOperation, ValueError):
        return ""


def _day(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _label(value: Any) -> str:
    return "" if value is None else str(value).replace("_", " ")


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=_money, sign=_sign, day=_day, label=_label, urlpart=lambda v: quote(str(v), safe="")
    )
    env.globals.update(url_with=url_with, csrf_field=CSRF_FIELD)
    return env


def render(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200
) -> HTMLResponse:
    session: Session | None = getattr(request.state, "session", None)
    principal = session.principal if session else None
    values = {
        "request": request,
        "session": session,
        "principal": principal,
        "can_configure": principal is not None and principal.can(Permission.CONFIGURE),
        "can_supervise": principal is not None and principal.can(Permission.SUPERVISE),
        "can_manage_strategies": principal is not None
        and principal.can(Permission.MANAGE_STRATEGIES),
        "flash": None,
        **context,
    }
    html = gateway_of(request).templates.get_template(template).render(values)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return render(
        request, "error.html", {"title": title, "status": status, "detail": detail}, status=status
    )


async def refusal_page(request: Request, problem: Problem) -> Response:
    """A request refused before any route ran (too large, control characters), as a page."""
    return error_page(request, problem.status, problem.title, problem.detail)


class PageRoute(APIRoute):
    """A route of the web UI: problems become HTML pages with their status, a missing
    session a redirect to the sign-in page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except SignInRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(url_with("/login", next=target), status_code=303)
            except Problem as problem:
                page = error_page(request, problem.status, problem.title, problem.detail)
                if problem.status == 503:
                    page.headers["Retry-After"] = str(RETRY_AFTER_S)
                return page
            except RequestValidationError as error:
                first = error.errors()[0] if error.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()))
                detail = f"{where}: {first.get('msg', 'invalid request')}"
                return error_page(request, 422, "Invalid request", detail)

        return handler
