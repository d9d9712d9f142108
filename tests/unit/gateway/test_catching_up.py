"""The page after an action: the positions a command's answer names, kept with the flash, and
what is said of a read service that has not applied them yet (asked of small in-process
services that answer like the read services' position route)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from arrears.gateway.catching_up import Behind, Written, catch_up, newest, written_of
from arrears.gateway.settings import GatewaySettings
from arrears.gateway.upstream import Upstreams
from arrears.ledger.records import position_of
from arrears.shared.errors import Problem
from arrears.shared.positions import awaited

ANSWER = {
    "command": "ReturnPaymentNsf",
    "events": [],
    "position": {
        "company": "usmf",
        "customer_id": "C-1",
        "sequence": 12,
        "recorded_at": "2026-12-03T14:02:11+00:00",
        "topics": {"arrears.payments.v1": 11, "arrears.invoices.v1": 12},
    },
}


def test_the_position_of_an_answer_is_kept_with_the_flash_and_merged_per_customer() -> None:
    written = Written.of_answer(ANSWER)
    assert written is not None
    assert written.query == ["arrears.invoices.v1:12", "arrears.payments.v1:11"]
    assert written_of({"kind": "success", "text": "done", "written": [written.as_json()]}) == [
        written
    ]
    assert (
        Written.of_answer({"command": "EvaluatePromises", "events": [], "position": None}) is None
    )
    later = Written("usmf", "C-1", (("arrears.payments.v1", 14),))
    assert newest([written, later]) == [
        Written("usmf", "C-1", (("arrears.invoices.v1", 12), ("arrears.payments.v1", 14)))
    ]


def test_the_ledger_names_the_last_sequence_per_topic() -> None:
    events = [
        {
            "type": t,
            "schema_version": 1,
            "company": "usmf",
            "customer_id": "C-1",
            "sequence": s,
            "recorded_at": "2026-12-03T14:02:11Z",
        }
        for t, s in (("PaymentReturnedNsf", 11), ("FeeCharged", 12))
    ]
    position = position_of(events)
    assert position is not None and position["sequence"] == 12
    assert set(position["topics"].values()) == {11, 12}
    assert position_of([]) is None


def test_a_reader_waits_only_for_the_topics_it_reads() -> None:
    written = ["arrears.payments.v1:11", "arrears.invoices.v1:12", "arrears.activities.v1:13"]
    assert awaited(written, {"arrears.payments.v1", "arrears.invoices.v1"}) == 12
    assert awaited(written, {"arrears.letters.v1"}) is None
    with pytest.raises(Problem):
        awaited(["arrears.payments.v1"], {"arrears.payments.v1"})


def reader(answer: dict[str, Any]) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/companies/{company}/customers/{customer_id}/position")
    async def position(company: str, customer_id: str) -> dict[str, Any]:
        return answer

    return app


async def test_a_service_behind_is_named_with_the_time_its_figures_are_as_of() -> None:
    caught_up = reader(
        {"sequence": 12, "recorded_at": "2026-12-03T14:02:11+00:00", "reached": True}
    )
    late = reader({"sequence": 9, "recorded_at": "2026-12-03T14:01:50+00:00", "reached": False})
    upstreams = Upstreams(
        GatewaySettings(),
        {"aging": httpx.ASGITransport(app=late), "timeline": httpx.ASGITransport(app=caught_up)},
    )
    written = Written.of_answer(ANSWER)
    assert written is not None
    try:
        behind = await catch_up(upstreams, [written])
    finally:
        await upstreams.aclose()
    assert behind == [Behind("aging", "C-1", datetime(2026, 12, 3, 14, 1, 50, tzinfo=UTC))]
    assert behind[0].text == (
        "Figures are catching up with your change: the balances and transactions of C-1 are "
        "shown as of 2026-12-03 14:01:50 UTC. Reload in a moment to see it."
    )
    assert await catch_up(upstreams, []) == []
