"""Settings of the ledger service (environment variables prefixed ARREARS_)."""

from __future__ import annotations

from arrears.shared.settings import ServiceSettings


class LedgerSettings(ServiceSettings):
    service = "ledger"
    http_port: int = 8001
