"""Settings of the summary service (environment variables prefixed ARREARS_)."""

from __future__ import annotations

from arrears.shared.settings import ServiceSettings


class SummarySettings(ServiceSettings):
    service = "summary"
    http_port: int = 8004
