"""Settings of the notifier service (environment variables prefixed ARREARS_)."""

from __future__ import annotations

from arrears.shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    service = "notifier"
    http_port: int = 8005
