"""The notifier in-process next to a real ledger, on the real database and broker, sending to
a real SMTP server (aiosmtpd) on loopback: plain, STARTTLS or implicit TLS with a certificate
made for the test (trustme), AUTH, and replies scripted per message."""

from __future__ import annotations

import socket
import ssl
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from fastapi import FastAPI

from arrears.ledger.app import SPEC as LEDGER
from arrears.ledger.settings import LedgerSettings
from arrears.notifier.app import build_spec
from arrears.notifier.settings import NotifierSettings
from arrears.shared.clock import FixedClock
from arrears.shared.kafka import ensure_topics, topic_names
from arrears.shared.settings import ServiceSettings
from tests.integration.ledger.conftest import NOW
from tests.support import wait_until

COMPANY = "usmf"
SMTP_USER = "arrears"
SMTP_PASSWORD = "a-test-smtp-password"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class SmtpServer:
    """A real SMTP server on 127.0.0.1 that answers each DATA from `script` (250 once the
    script is empty) and keeps what it accepted."""

    port: int
    security: str = "none"
    auth: bool = False
    ca_file: Path | None = None
    server_context: ssl.SSLContext | None = None
    script: deque[str] = field(default_factory=deque)
    accepted: list[EmailMessage] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Controller | None = None

    def reply(self, *replies: str) -> None:
        self.script.extend(replies)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            answer = self.script.popleft() if self.script else "250 OK"
            raw = envelope.original_content or b""
            if answer.startswith("250"):
                message = message_from_bytes(raw, policy=default_policy)
                assert isinstance(message, EmailMessage)
                self.accepted.append(message)
            else:
                self.refused.append(answer)
            return answer

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            ok = data.login.decode() == SMTP_USER and data.password.decode() == SMTP_PASSWORD
            if ok:
                self.logins.append(data.login.decode())
            return AuthResult(success=ok)
        return AuthResult(success=False)

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.security == "starttls":
            kwargs.update(tls_context=self.server_context, require_starttls=True)
        elif self.security == "tls":
            kwargs.update(ssl_context=self.server_context)
        if self.auth:
            # with implicit TLS the whole connection is encrypted: aiosmtpd only knows of TLS
            # it negotiated itself (STARTTLS), so it is told not to insist on it
            kwargs.update(
                authenticator=self.authenticate,
                auth_required=True,
                auth_require_tls=self.security == "starttls",
            )
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, ready_timeout=120, **kwargs
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages_with(self, message_id: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.accepted if m["Message-ID"] == message_id]


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A CA made for the tests (its PEM file) and a server context with a certificate for
    127.0.0.1 signed by it."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return ca_file, context


def smtp_server(
    certificates: tuple[Path, ssl.SSLContext], security: str = "none", auth: bool = False
) -> SmtpServer:
    ca_file, context = certificates
    return SmtpServer(
        port=free_port(), security=security, auth=auth, ca_file=ca_file, server_context=context
    )


@pytest.fixture
def smtp(certificates: tuple[Path, ssl.SSLContext]) -> Iterator[SmtpServer]:
    server = smtp_server(certificates)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def notifier_settings(base: ServiceSettings, server: SmtpServer, **extra: Any) -> NotifierSettings:
    values = base.model_dump() | {
        "db_schema": f"{base.schema_name}_notifier",
        "smtp_port": server.port,
        "smtp_security": server.security,
        "smtp_ca_file": server.ca_file if server.security != "none" else None,
        "email_backoff_s": 0.2,
        "email_backoff_max_s": 1.0,
        "email_poll_s": 0.2,
        "smtp_timeout_s": 60.0,
    }
    if server.auth:
        values |= {"smtp_username": SMTP_USER, "smtp_password": SMTP_PASSWORD}
    return NotifierSettings(**(values | extra))


@dataclass
class Desk:
    """A ledger and a notifier running in-process; clients of both."""

    ledger: httpx.AsyncClient
    notifier: httpx.AsyncClient
    settings: NotifierSettings
    smtp: SmtpServer
    clock: FixedClock

    async def register(self, customer_id: str) -> None:
        response = await self.ledger.post(
            f"/v1/companies/{COMPANY}/customers",
            json={
                "customer_id": customer_id,
                "profile": {"name": f"Customer {customer_id}"},
                "currency": "USD",
                "accounting_currency": "USD",
                "credit_limit": "10000.00",
            },
        )
        assert response.status_code == 201, response.text

    async def send(self, customer_id: str, key: str | None = None, **body: Any) -> httpx.Response:
        document = {
            "to": {"address": f"ap@{customer_id.lower()}.example", "name": "Pat Payer"},
            "subject": "Your overdue invoices",
            "text": "Dear Pat,\nplease pay INV-1 (500.00 USD).\n",
        } | body
        headers = {"X-Arrears-Actor": "anna"} | ({"Idempotency-Key": key} if key else {})
        return await self.notifier.post(
            f"/v1/companies/{COMPANY}/customers/{customer_id}/emails",
            json=document,
            headers=headers,
        )

    async def email(self, email_id: str) -> dict[str, Any]:
        response = await self.notifier.get(f"/v1/companies/{COMPANY}/emails/{email_id}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    async def email_when(self, email_id: str, *statuses: str, **fields: Any) -> dict[str, Any]:
        """Poll the record until it reaches one of the statuses (generous bound)."""

        def done(record: dict[str, Any]) -> bool:
            return record["status"] in statuses and all(
                record.get(k) == v for k, v in fields.items()
            )

        return await wait_until(
            lambda: self.email(email_id),
            done,
            timeout=180,
            interval=0.1,
            what=f"email {email_id} to be {statuses}",
        )


async def ledger_app(base: ServiceSettings, clock: FixedClock) -> FastAPI:
    settings = LedgerSettings(
        **(base.model_dump() | {"scheduler_enabled": False, "relay_check_interval_s": 1.0})
    )
    await ensure_topics(settings.kafka_bootstrap, topic_names(settings), partitions=3)
    return LEDGER.create_app(settings, clock=clock)


@asynccontextmanager
async def running_desk(
    base: ServiceSettings, server: SmtpServer, **extra: Any
) -> AsyncIterator[Desk]:
    clock = FixedClock(NOW)
    ledger = await ledger_app(base, clock)
    async with ledger.router.lifespan_context(ledger):
        transport = httpx.ASGITransport(app=ledger)
        settings = notifier_settings(base, server, **extra)
        notifier = build_spec({"ledger": transport}).create_app(settings, clock=clock)
        async with (
            notifier.router.lifespan_context(notifier),
            httpx.AsyncClient(transport=transport, base_url="http://ledger") as ledger_client,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=notifier), base_url="http://notifier"
            ) as notifier_client,
        ):
            yield Desk(ledger_client, notifier_client, settings, server, clock)


@pytest.fixture
async def desk(settings: ServiceSettings, smtp: SmtpServer) -> AsyncIterator[Desk]:
    async with running_desk(settings, smtp) as running:
        yield running
