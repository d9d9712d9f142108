"""What the gateway keeps from aging: pool membership and configuration reads, asked of a
small aging-shaped app served in-process, which counts what it is asked."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from arrears.gateway.settings import GatewaySettings
from arrears.gateway.upstream import Scope, Upstreams

POOL_MEMBERS = {"A-1", "A-2"}


def aging_app(asked: Counter[str]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/companies/{company}/pools/{pool_id}/membership")
    async def membership(company: str, pool_id: str, body: dict[str, Any]) -> Any:
        asked["membership"] += 1
        asked["customers"] += len(body["customers"])
        if pool_id != "pool-a":
            return JSONResponse({"code": "unknown_pool", "detail": "gone"}, status_code=404)
        return {"pool_id": pool_id, "members": sorted(POOL_MEMBERS & set(body["customers"]))}

    @app.get("/v1/companies/{company}/pools")
    async def pools(company: str) -> list[dict[str, Any]]:
        asked["pools"] += 1
        return [{"id": "pool-a"}]

    @app.put("/v1/companies/{company}/pools/{pool_id}")
    async def put_pool(company: str, pool_id: str) -> dict[str, Any]:
        return {"id": pool_id}

    return app


def upstreams(asked: Counter[str]) -> Upstreams:
    settings = GatewaySettings(upstream_cache_s=30)
    return Upstreams(settings, {"aging": httpx.ASGITransport(app=aging_app(asked))})


async def test_membership_is_one_question_and_only_members_are_kept() -> None:
    asked: Counter[str] = Counter()
    up = upstreams(asked)
    scope = Scope(up)
    try:
        found = await scope.members("usmf", "pool-a", ["A-1", "B-1", "A-2", "A-1"])
        assert found == {"A-1", "A-2"} and asked["membership"] == 1
        # Members are kept; a non-member is asked again (one that joins is seen at once).
        assert await scope.members("usmf", "pool-a", ["A-1", "A-2"]) == {"A-1", "A-2"}
        assert asked["membership"] == 1
        assert await scope.members("usmf", "pool-a", ["A-1", "B-1"]) == {"A-1"}
        assert asked["membership"] == 2 and asked["customers"] == 4
        assert await scope.members("usmf", "gone", ["A-1"]) == set()
    finally:
        await up.aclose()


async def test_a_membership_question_keeps_what_was_kept_and_a_change_forgets_it() -> None:
    asked: Counter[str] = Counter()
    up = upstreams(asked)
    scope = Scope(up)
    try:
        await up.get_kept("aging", "/v1/companies/usmf/pools")
        await scope.members("usmf", "pool-a", ["A-1"])
        await up.get_kept("aging", "/v1/companies/usmf/pools")
        assert asked["pools"] == 1
        await up.call("aging", "PUT", "/v1/companies/usmf/pools/pool-b", json={})
        await up.get_kept("aging", "/v1/companies/usmf/pools")
        assert asked["pools"] == 2
        await scope.members("usmf", "pool-a", ["A-1"])
        assert asked["membership"] == 2  # forgotten with the change
    finally:
        await up.aclose()
