"""Settings of the gateway service (environment variables prefixed ARREARS_)."""

from __future__ import annotations

from arrears.shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service = "gateway"
    http_port: int = 8000
