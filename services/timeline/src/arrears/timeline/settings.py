"""Settings of the timeline service (environment variables prefixed ARREARS_)."""

from __future__ import annotations

from arrears.shared.settings import ServiceSettings


class TimelineSettings(ServiceSettings):
    service = "timeline"
    http_port: int = 8003
