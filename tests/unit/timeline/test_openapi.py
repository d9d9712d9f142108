"""The timeline's HTTP API is documented in its OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest

from arrears.timeline.app import SPEC
from arrears.timeline.domain import EntryType
from arrears.timeline.settings import TimelineSettings

pytestmark = pytest.mark.unit

BASE = "/v1/companies/{company}"
ROUTES = {
    ("get", BASE + "/customers/{customer_id}/timeline"): {"400", "404", "422"},
    ("get", BASE + "/customers/{customer_id}/activities"): {"400", "404", "422"},
    ("get", BASE + "/customers/{customer_id}/transactions/{transaction_id}/history"): {
        "404",
        "422",
    },
    ("get", BASE + "/agents/{agent}/activities"): {"400", "422"},
    ("post", BASE + "/agents/{agent}/activities:search"): {"400", "422"},
    ("get", BASE + "/agents/{agent}/activity-customers"): {"422"},
    ("get", BASE + "/activities/{activity_id}"): {"404", "422"},
}


def openapi() -> dict[str, Any]:
    document: dict[str, Any] = SPEC.create_app(TimelineSettings()).openapi()
    return document


def test_every_route_is_documented_with_its_problems() -> None:
    paths = openapi()["paths"]
    for (method, path), statuses in ROUTES.items():
        operation = paths[path][method]
        assert operation["summary"], path
        assert set(operation["responses"]) == {"200", *statuses}, path
        for status in statuses:
            content = operation["responses"][status]["content"]
            assert "application/problem+json" in content, (path, status)
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in ok, path


def test_timeline_parameters_and_entry_types_are_described() -> None:
    document = openapi()
    operation = document["paths"][BASE + "/customers/{customer_id}/timeline"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert {"from", "to", "type", "limit", "cursor"} <= set(parameters)
    assert all(parameters[name].get("description") for name in ("from", "to", "type", "cursor"))
    schemas = document["components"]["schemas"]
    assert set(schemas["EntryType"]["enum"]) == {t.value for t in EntryType}
    entry = schemas["TimelineEntry"]["properties"]
    assert {"date", "at", "type", "amount", "currency", "details", "sequence"} <= set(entry)
    assert all(field.get("description") for field in entry.values())
