"""Settings of the timeline service (environment variables prefixed ARREARS_)."""

from __future__ import annotations

from pydantic import Field

from arrears.shared.settings import ServiceSettings


class TimelineSettings(ServiceSettings):
    service = "timeline"
    http_port: int = 8003
    timeline_window_days: int = Field(
        default=365,
        ge=1,
        le=36500,
        description="Days a customer's timeline reaches back when no `from` date is given.",
    )
