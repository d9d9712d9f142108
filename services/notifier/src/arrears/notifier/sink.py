"""An SMTP sink for the local stack and demos: a real SMTP server (aiosmtpd) that accepts
every message and keeps it, and a small HTTP API listing what arrived.

    python -m arrears.notifier.sink     # SMTP on ARREARS_SINK_SMTP_PORT, HTTP on ARREARS_HTTP_PORT

It delivers nothing onwards. The gateway's admin page "Mail sink" reads its HTTP API.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from arrears.shared.errors import Problem, install_problem_handlers
from arrears.shared.logging import configure_logging, get_logger

log = get_logger(__name__)


class SinkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARREARS_", extra="ignore")

    http_host: str = Field(default="127.0.0.1", description="HTTP listen address.")
    http_port: int = Field(default=8025, ge=0, le=65535, description="HTTP port of the list.")
    sink_smtp_host: str = Field(default="127.0.0.1", description="SMTP listen address.")
    sink_smtp_port: int = Field(default=2525, ge=0, le=65535, description="SMTP listen port.")
    sink_keep: int = Field(default=1000, ge=1, description="Messages kept (the oldest go).")
    sink_maildir: Path | None = Field(
        default=None, description="Also write every message into this Maildir."
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: str = Field(default="json", description="json or console.")


@dataclass(frozen=True, slots=True)
class Received:
    number: int
    received_at: datetime
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    def parsed(self) -> EmailMessage:
        message = message_from_bytes(self.raw, policy=default_policy)
        assert isinstance(message, EmailMessage)
        return message

    def summary(self) -> dict[str, Any]:
        message = self.parsed()
        return {
            "id": self.number,
            "received_at": self.received_at.isoformat(),
            "envelope_from": self.mail_from,
            "envelope_to": list(self.rcpt_tos),
            "from": str(message.get("From", "")),
            "to": str(message.get("To", "")),
            "subject": str(message.get("Subject", "")),
            "message_id": str(message.get("Message-ID", "")),
            "size": len(self.raw),
        }

    def details(self) -> dict[str, Any]:
        message = self.parsed()
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        files = [
            {"filename": part.get_filename(), "content_type": part.get_content_type()}
            for part in message.iter_attachments()
        ]
        return {
            **self.summary(),
            "text": _lines(text.get_content()) if text is not None else None,
            "html": _lines(html.get_content()) if html is not None else None,
            "attachments": files,
            "source": self.raw.decode("utf-8", errors="replace").replace("\r\n", "\n"),
        }


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n")


@dataclass
class Mailbox:
    """What arrived, newest last; at most `keep` messages."""

    keep: int = 1000
    maildir: Path | None = None
    messages: deque[Received] = field(default_factory=deque)
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> Received:
        with self.lock:
            received = Received(
                next(self.numbers), datetime.now(UTC), mail_from, tuple(rcpt_tos), raw
            )
            self.messages.append(received)
            while len(self.messages) > self.keep:
                self.messages.popleft()
        if self.maildir is not None:
            self._write(received)
        return received

    def _write(self, received: Received) -> None:
        assert self.maildir is not None
        for sub in ("tmp", "new", "cur"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        name = f"{received.received_at.timestamp():.6f}.{received.number}.arrears-sink"
        (self.maildir / "tmp" / name).write_bytes(received.raw)
        (self.maildir / "tmp" / name).rename(self.maildir / "new" / name)

    def newest_first(self) -> list[Received]:
        with self.lock:
            return list(reversed(self.messages))

    def get(self, number: int) -> Received | None:
        with self.lock:
            return next((m for m in self.messages if m.number == number), None)


class Handler:
    """aiosmtpd handler: accept every message into the mailbox."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        received = self.mailbox.add(str(envelope.mail_from), list(envelope.rcpt_tos), raw)
        log.info("message received", number=received.number, to=list(envelope.rcpt_tos))
        return f"250 OK kept as {received.number}"


def http_app(mailbox: Mailbox, controller: Controller | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if controller is not None:
            controller.start()
            log.info("SMTP sink listening", host=controller.hostname, port=controller.port)
        try:
            yield
        finally:
            if controller is not None:
                controller.stop()

    app = FastAPI(title="Arrears mail sink", version="0.1.0", lifespan=lifespan)
    install_problem_handlers(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "mailsink"}

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready", "service": "mailsink"}

    @app.get("/v1/messages")
    async def messages(limit: int = 200) -> dict[str, Any]:
        return {"items": [m.summary() for m in mailbox.newest_first()[: max(1, min(limit, 1000))]]}

    @app.get("/v1/messages/{number}")
    async def message(number: int) -> dict[str, Any]:
        found = mailbox.get(number)
        if found is None:
            raise Problem(404, "unknown_message", f"no message {number} in the sink")
        return found.details()

    return app


def main() -> None:
    settings = SinkSettings()
    configure_logging("mailsink", settings.log_level, settings.log_format)
    mailbox = Mailbox(keep=settings.sink_keep, maildir=settings.sink_maildir)
    controller = Controller(
        Handler(mailbox),
        hostname=settings.sink_smtp_host,
        port=settings.sink_smtp_port,
        ready_timeout=120,  # a loaded machine starts slowly
    )
    uvicorn.run(
        http_app(mailbox, controller),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
