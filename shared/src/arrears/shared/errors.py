"""RFC 9457 problem+json: one exception type, one set of handlers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error answered as problem+json, with a machine-readable `code`."""

    def __init__(
        self, status: int, code: str, detail: str, *, title: str | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or code.replace("_", " ").capitalize()
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://arrears.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    return JSONResponse(problem.body(instance), status_code=problem.status, media_type=PROBLEM_JSON)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        response = problem_response(exc, request.url.path)
        if exc.status == 503:  # e.g. another service did not answer: worth trying again
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", ""))}
            for err in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        problem = Problem(422, "validation_failed", f"{where}: {first['msg']}", errors=errors)
        return problem_response(problem, request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem_response(Problem(exc.status_code, code, str(exc.detail)), request.url.path)

    async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
        problem = unavailable(exc)
        if problem is None:
            raise exc
        response = problem_response(problem, request.url.path)
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for kind in (
        sa_exc.TimeoutError,
        sa_exc.DBAPIError,
        ConnectionError,
    ):
        app.add_exception_handler(kind, on_unavailable)


RETRY_AFTER_S = 2
"""What an answer of 503 asks the client to wait before trying again, in seconds."""
OUTAGE_SQLSTATES = ("08", "57P")
"""PostgreSQL's error classes of an outage: a connection exception (08...), and the server
shutting down or still starting up (57P01-57P03), as during a restart."""


def _outage(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | ConnectionError):
        return True
    state = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(exc, sa_exc.DBAPIError) and str(state).startswith(OUTAGE_SQLSTATES)


def unavailable(exc: BaseException) -> Problem | None:
    """The 503 for an outage the client may retry: no database connection free within the
    pool's timeout (overload: nothing was done), or the database unreachable or restarting
    (a command sent again with its idempotency key is applied at most once). None for any
    other error."""
    if isinstance(exc, sa_exc.TimeoutError):
        return Problem(
            503, "busy", "every database connection is in use; nothing was done, try again"
        )
    if _outage(exc):
        return Problem(
            503,
            "database_unavailable",
            "the database cannot be reached right now; try again (with the same idempotency "
            "key, a command is applied at most once)",
        )
    return None
