"""The HTTP boundary every service installs, on a bare ASGI app: refusals before the route
runs (413, control characters), one access line per request, and unhandled errors logged
with their correlation id."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from arrears.gateway.settings import GatewaySettings
from arrears.shared.boundary import Boundary, RequestLog
from arrears.shared.inputs import Day, EmailAddress, Moment, bounded_number
from arrears.shared.logging import configure_logging
from arrears.shared.service import _metrics_server

pytestmark = pytest.mark.unit
LIMIT = 4096


async def echo(request: Request) -> JSONResponse:
    if request.headers.get("content-type", "").startswith("application/x-www-form"):
        form = await request.form()
        return JSONResponse({k: str(v) for k, v in form.items()})
    body = await request.body()
    return JSONResponse({"length": len(body), "query": dict(request.query_params)})


async def fail(request: Request) -> JSONResponse:
    raise RuntimeError("the route broke")


def app() -> Starlette:
    """As every service stacks them: the access log outside, the refusals inside it."""
    return Starlette(
        routes=[
            Route("/echo/{name}", echo, methods=["GET", "POST"]),
            Route("/fail", fail),
        ],
        middleware=[Middleware(RequestLog), Middleware(Boundary, max_body_bytes=LIMIT)],
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    configure_logging("test", "INFO", "json")
    caplog.set_level(logging.INFO)
    yield caplog


def lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict[str, Any]]:
    return [r.msg for r in caplog.records if r.name == logger and isinstance(r.msg, dict)]


async def test_a_body_over_the_limit_is_refused_with_413_by_its_length_or_as_it_streams(
    client: httpx.AsyncClient,
) -> None:
    declared = await client.post("/echo/x", content=b"a" * (LIMIT + 1))
    assert declared.status_code == 413
    assert declared.json()["code"] == "payload_too_large"
    assert declared.json()["limit_bytes"] == LIMIT

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"a" * 1000

    streamed = await client.post("/echo/x", content=chunks())
    assert streamed.status_code == 413
    fits = await client.post("/echo/x", content=b"a" * LIMIT)
    assert fits.status_code == 200 and fits.json()["length"] == LIMIT


@pytest.mark.parametrize(
    ("request_kwargs", "where"),
    [
        ({"url": "/echo/x", "params": {"q": "a\x00b"}}, "query parameter q"),
        ({"url": "/echo/x", "params": {"q\x1b": "a"}}, "query parameter q"),
        ({"url": "/echo/a%00b"}, "path"),
        ({"url": "/echo/x", "json": {"note": "a\x00b"}}, "note"),
        ({"url": "/echo/x", "json": {"lines": [{"memo": "\x07"}]}}, "lines[0].memo"),
        ({"url": "/echo/x", "content": b'{"note": "\\ud800"}'}, "note"),
        ({"url": "/echo/x", "data": {"note": "a\x00b"}}, "form field note"),
        ({"url": "/echo/x", "content": b"a\x00b"}, "body"),
    ],
)
async def test_control_characters_are_refused_before_the_route_runs(
    client: httpx.AsyncClient, request_kwargs: dict[str, Any], where: str
) -> None:
    method = "GET" if set(request_kwargs) <= {"url", "params"} else "POST"
    kwargs = dict(request_kwargs)
    if "content" in kwargs and kwargs["content"].startswith(b"{"):
        kwargs["headers"] = {"Content-Type": "application/json"}
    answer = await client.request(method, **kwargs)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "control_character"
    assert answer.json()["detail"].startswith(where), answer.json()["detail"]


async def test_tabs_line_breaks_and_escaped_text_pass(client: httpx.AsyncClient) -> None:
    note = "line one\r\n\tline two \u00e9 \\u0000 stays text"
    answer = await client.post("/echo/x", json={"note": note})
    assert answer.status_code == 200, answer.text
    form = await client.post("/echo/x", data={"note": "a\nb\tc"})
    assert form.json() == {"note": "a\nb\tc"}


async def test_every_request_has_one_access_line_with_its_correlation_id_and_actor(
    client: httpx.AsyncClient, logged: pytest.LogCaptureFixture
) -> None:
    answer = await client.get(
        "/echo/x", headers={"X-Correlation-Id": "corr-1", "X-Arrears-Actor": "agent-7"}
    )
    assert answer.headers["x-correlation-id"] == "corr-1"
    refused = await client.get("/echo/x", params={"q": "\x00"})
    assert refused.status_code == 422
    minted = refused.headers["x-correlation-id"]
    access = lines(logged, "arrears.access")
    assert len(access) == 2
    first, second = access
    assert first["event"] == "request" and first["method"] == "GET"
    assert first["route"] == "/echo/{name}" and first["status"] == 200
    assert first["correlation_id"] == "corr-1" and first["actor"] == "agent-7"
    assert isinstance(first["duration_ms"], float)
    assert second["status"] == 422 and second["correlation_id"] == minted


async def test_an_unsafe_correlation_id_is_replaced(client: httpx.AsyncClient) -> None:
    answer = await client.get("/echo/x", headers={"X-Correlation-Id": "a b<script>"})
    assert answer.headers["x-correlation-id"] != "a b<script>"


async def test_an_unhandled_error_is_logged_with_its_correlation_id_and_answered_500(
    client: httpx.AsyncClient, logged: pytest.LogCaptureFixture
) -> None:
    answer = await client.get("/fail", headers={"X-Correlation-Id": "corr-err"})
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["correlation_id"] == "corr-err"
    errors = [r for r in logged.records if r.levelno >= logging.ERROR]
    assert errors, "the error was logged"
    for record in errors:
        assert isinstance(record.msg, dict) and record.msg["correlation_id"] == "corr-err"
        assert record.exc_info is not None
    (access,) = lines(logged, "arrears.access")
    assert access["status"] == 500 and access["correlation_id"] == "corr-err"


@pytest.mark.parametrize("text", ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31"])
def test_dates_outside_the_range_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Day).validate_python(text)
    with pytest.raises(ValidationError):
        TypeAdapter(Moment).validate_python(f"{text}T12:00:00+00:00")


def test_dates_at_the_edges_pass() -> None:
    assert TypeAdapter(Day).validate_python("1900-01-01") == date(1900, 1, 1)
    assert TypeAdapter(Day).validate_python("2199-12-31") == date(2199, 12, 31)


@pytest.mark.parametrize("text", ["1e999", "Infinity", "NaN", "1" + "0" * 18, "0.0000001"])
def test_numbers_out_of_range_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        bounded_number(text)


@pytest.mark.parametrize(
    "text", ["x", "a@", "@b.example", "a b@c.example", "a@b.example, c@d.example", "<a@b.c>"]
)
def test_an_email_address_is_one_plain_address(text: str) -> None:
    class Model(BaseModel):
        to: EmailAddress

    with pytest.raises(ValidationError):
        Model(to=text)
    assert Model(to=" ap@c-1.example ").to == "ap@c-1.example"


def test_the_gateway_in_production_serves_metrics_off_its_public_port() -> None:
    production: dict[str, Any] = {
        "environment": "production",
        "database_url": "postgresql://db/arrears",
        "kafka_bootstrap": "kafka:9092",
    }
    with pytest.raises(ValidationError, match="ARREARS_METRICS_PORT"):
        GatewaySettings(**production)
    assert GatewaySettings(**production, metrics_port=9100).metrics_port == 9100


def test_the_metrics_port_serves_prometheus_text() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    with _metrics_server("127.0.0.1", port):
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert answer.status_code == 200
    assert "arrears_http_request_duration_seconds" in answer.text
