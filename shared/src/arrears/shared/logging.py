"""structlog configured once: JSON lines with correlation ids bound per message and request."""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import structlog

from arrears.shared.metrics import CLIENT_WARNINGS

_REDACT = ("password", "secret", "token", "authorization", "api_key")


def _redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in list(event_dict):
        if any(word in key.lower() for word in _REDACT):
            event_dict[key] = "***"
    return event_dict


class RepeatLimiter(logging.Filter):
    """Lets through one record of a kind (logger and message template) per `every` seconds
    from the loggers under `prefixes`, and counts every one (`arrears_client_warnings_total`).
    A Kafka client whose topic vanished (a broker that lost its data) waits for it, warning
    on every metadata round; the log says so once in a while, with how often it repeated."""

    def __init__(
        self,
        prefixes: tuple[str, ...] = ("aiokafka",),
        *,
        every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.every = every
        self.clock = clock
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(self.prefixes):
            return True
        CLIENT_WARNINGS.labels(record.name).inc()
        key = (record.name, str(record.msg))
        now = self.clock()
        shown, held = self._seen.get(key, (-math.inf, 0))
        if now - shown < self.every:
            self._seen[key] = (shown, held + 1)
            return False
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {self.every:.0f} s)"
        self._seen[key] = (now, 0)
        return True


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Route structlog and stdlib logging to stdout as JSON (or console text for humans)."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    handler.addFilter(RepeatLimiter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "uvicorn.access", "alembic", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
