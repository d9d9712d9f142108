"""The local stack's SMTP sink: a real SMTP server that keeps what it receives and lists it
over HTTP (and, when asked, writes each message into a Maildir)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from arrears.notifier.sink import Handler, Mailbox, http_app
from tests.integration.notifier.conftest import free_port

pytestmark = pytest.mark.integration


async def test_the_sink_keeps_lists_and_shows_each_message(tmp_path: Path) -> None:
    mailbox = Mailbox(keep=2, maildir=tmp_path / "mail")
    port = free_port()
    controller = Controller(Handler(mailbox), hostname="127.0.0.1", port=port, ready_timeout=120)
    app = http_app(mailbox, controller)
    async with app.router.lifespan_context(app):
        for number in range(3):
            message = EmailMessage()
            message["From"] = "collections@arrears.example"
            message["To"] = "Pat <pat@customer.example>"
            message["Subject"] = f"Reminder {number}"
            message["Message-ID"] = f"<m{number}@arrears.example>"
            message.set_content(f"Dear Pat, number {number}")
            message.add_alternative(f"<p>Dear Pat, number {number}</p>", subtype="html")
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
                client.send_message(message)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sink"
        ) as client:
            listed = (await client.get("/v1/messages")).json()["items"]
            assert [m["subject"] for m in listed] == ["Reminder 2", "Reminder 1"]
            assert listed[0]["envelope_to"] == ["pat@customer.example"]
            shown = (await client.get(f"/v1/messages/{listed[0]['id']}")).json()
            assert shown["text"].strip() == "Dear Pat, number 2"
            assert "<p>Dear Pat, number 2</p>" in shown["html"]
            assert shown["message_id"] == "<m2@arrears.example>"
            gone = await client.get("/v1/messages/1")
            assert gone.status_code == 404 and gone.json()["code"] == "unknown_message"
    assert len(list((tmp_path / "mail" / "new").iterdir())) == 3
