"""docs/api.md names every ledger command route and every settings variable is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.ledger.api import ROUTES
from arrears.shared.settings import ServiceSettings
from tests.contract.test_deployment import SERVICES, settings_class

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_command_route_is_documented() -> None:
    text = (DOCS / "api.md").read_text()
    for route in ROUTES:
        assert f"`{route.method} /v1{route.path}`" in text, route.path
        assert f"`{route.command.__name__}`" in text


@pytest.mark.parametrize("service", SERVICES)
def test_every_setting_is_documented(service: str) -> None:
    """Every setting of every service (the shared ones and the service's own) has a row."""
    text = (DOCS / "operations.md").read_text()
    fields = set(ServiceSettings.model_fields) | set(settings_class(service).model_fields)
    missing = [
        f"ARREARS_{name.upper()}"
        for name in sorted(fields)
        if f"`ARREARS_{name.upper()}`" not in text
    ]
    assert not missing, f"document these in docs/operations.md: {missing}"
