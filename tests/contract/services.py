"""The services the deployment files must name, and the settings class of each."""

from __future__ import annotations

import importlib

from arrears.shared.settings import ServiceSettings

SERVICES = ("ledger", "aging", "timeline", "summary", "notifier", "gateway")


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"arrears.{service}.app")
    cls: type[ServiceSettings] = module.SPEC.settings
    return cls


def default_port(service: str) -> int:
    port: int = settings_class(service).model_fields["http_port"].default
    return port
