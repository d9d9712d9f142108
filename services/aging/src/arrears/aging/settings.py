"""Settings of the aging service (environment variables prefixed ARREARS_)."""

from __future__ import annotations

from arrears.shared.settings import ServiceSettings


class AgingSettings(ServiceSettings):
    service = "aging"
    http_port: int = 8002
