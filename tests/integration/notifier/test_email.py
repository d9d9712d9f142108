"""Email over a real SMTP server on loopback: TLS, AUTH, retries, final failures, request
ids, refused headers, the delivery events and the ledger's record of each email."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import pytest

from arrears.shared.settings import ServiceSettings
from arrears.shared.topics import NOTIFICATIONS
from tests.integration.notifier.conftest import (
    COMPANY,
    SMTP_USER,
    Desk,
    SmtpServer,
    running_desk,
    smtp_server,
)
from tests.support import read_topic, wait_until

pytestmark = pytest.mark.integration


async def notification_events(desk: Desk, count: int) -> list[dict[str, Any]]:
    topic = desk.settings.topic_name(NOTIFICATIONS)
    records = await read_topic(desk.settings.kafka_bootstrap, topic, count, timeout=180)
    return [json.loads(r.value) for r in records]


async def ledger_activities(desk: Desk, customer_id: str) -> list[dict[str, Any]]:
    async def stream() -> list[dict[str, Any]]:
        response = await desk.ledger.get(f"/v1/companies/{COMPANY}/customers/{customer_id}/events")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["events"]
        return [e for e in items if e["type"].startswith("Activity")]

    return await wait_until(
        stream,
        lambda events: any(e["type"] == "ActivityClosed" for e in events),
        timeout=180,
        interval=0.2,
        what=f"the email's activity in {customer_id}'s ledger",
    )


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_an_email_is_delivered_over_tls_with_auth_and_recorded_everywhere(
    settings: ServiceSettings, certificates: tuple[Path, ssl.SSLContext], security: str
) -> None:
    server = smtp_server(certificates, security, auth=True)
    server.start()
    try:
        async with running_desk(settings, server) as desk:
            await desk.register("C-1")
            answer = await desk.send("C-1", "req-1", html="<p>Dear Pat, please pay.</p>")
            assert answer.status_code == 202, answer.text
            queued = answer.json()
            assert queued["status"] in ("queued", "sending", "delivered")
            record = await desk.email_when(queued["email_id"], "delivered")
            assert record["attempts"] == 1 and record["reply_code"] == 250
            [message] = server.messages_with(record["message_id"])
            assert server.logins == [SMTP_USER]
            assert message["To"] == "Pat Payer <ap@c-1.example>"
            assert message["Subject"] == "Your overdue invoices"
            assert message.get_body(("plain",)).get_content().startswith("Dear Pat,")
            assert "please pay" in message.get_body(("html",)).get_content()

            [delivered] = await notification_events(desk, 1)
            assert delivered["type"] == "EmailDelivered"
            assert delivered["data"]["delivery_id"] == queued["email_id"]
            assert delivered["data"]["message_id"] == record["message_id"]
            assert delivered["customer_id"] == "C-1" and delivered["actor"] == "anna"

            activities = await ledger_activities(desk, "C-1")
            created = next(e for e in activities if e["type"] == "ActivityCreated")["data"]
            closed = next(e for e in activities if e["type"] == "ActivityClosed")["data"]
            assert created["category"] == "Email" and created["responsible"] == "anna"
            assert created["purpose"] == "Email delivered: Your overdue invoices"
            assert closed["outcome"] == "completed" and record["message_id"] in closed["memo"]
            recorded = await desk.email_when(queued["email_id"], "delivered")
            assert recorded["activity"]["state"] in ("pending", "recorded")
    finally:
        server.stop()


async def test_a_451_is_retried_and_the_email_delivered_once(desk: Desk) -> None:
    await desk.register("C-2")
    desk.smtp.reply("451 4.3.0 Mailbox busy, try again later")
    answer = await desk.send("C-2", "req-2")
    email_id = answer.json()["email_id"]
    record = await desk.email_when(email_id, "delivered")
    assert record["attempts"] == 2
    assert desk.smtp.refused == ["451 4.3.0 Mailbox busy, try again later"]
    assert len(desk.smtp.messages_with(record["message_id"])) == 1
    events = await notification_events(desk, 2)
    assert [(e["type"], e["data"].get("final")) for e in events] == [
        ("EmailFailed", False),
        ("EmailDelivered", None),
    ]
    assert events[0]["data"]["reply_code"] == 451
    assert [e["sequence"] for e in events] == [1, 2]


async def test_a_550_ends_failed_with_the_servers_reply(desk: Desk) -> None:
    await desk.register("C-3")
    desk.smtp.reply("550 5.1.1 No such user here")
    answer = await desk.send("C-3", "req-3")
    record = await desk.email_when(answer.json()["email_id"], "failed")
    assert record["attempts"] == 1
    assert record["reply"] == "550 5.1.1 No such user here" and record["reply_code"] == 550
    assert desk.smtp.accepted == []
    [failed] = await notification_events(desk, 1)
    assert failed["type"] == "EmailFailed" and failed["data"]["final"] is True
    assert failed["data"]["error"] == "550 5.1.1 No such user here"
    activities = await ledger_activities(desk, "C-3")
    closed = next(e for e in activities if e["type"] == "ActivityClosed")["data"]
    assert closed["outcome"] == "cancelled" and "550 5.1.1 No such user here" in closed["memo"]


async def test_the_server_down_then_up_is_retried_after_backoff(
    settings: ServiceSettings, certificates: tuple[Path, ssl.SSLContext]
) -> None:
    server = smtp_server(certificates)  # not started: nothing listens on its port
    try:
        async with running_desk(settings, server) as desk:
            await desk.register("C-4")
            answer = await desk.send("C-4", "req-4")
            email_id = answer.json()["email_id"]

            async def attempts() -> dict[str, Any]:
                return await desk.email(email_id)

            waiting = await wait_until(
                attempts,
                lambda r: r["attempts"] >= 2 and r["status"] == "queued",
                timeout=180,
                what="two failed attempts",
            )
            assert waiting["reply"].startswith("no connection")
            server.start()
            record = await desk.email_when(email_id, "delivered")
            assert record["attempts"] >= 3
            assert len(server.messages_with(record["message_id"])) == 1
    finally:
        server.stop()


async def test_the_same_request_id_sends_once_and_another_email_under_it_is_refused(
    desk: Desk,
) -> None:
    await desk.register("C-5")
    first = await desk.send("C-5", "req-5")
    again = await desk.send("C-5", "req-5")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["email_id"] == first.json()["email_id"]
    other = await desk.send("C-5", "req-5", subject="Something else")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    record = await desk.email_when(first.json()["email_id"], "delivered")
    repeated = await desk.send("C-5", "req-5")
    assert repeated.status_code == 200 and repeated.json()["status"] == "delivered"
    assert len(desk.smtp.accepted) == 1
    assert desk.smtp.accepted[0]["Message-ID"] == record["message_id"]


@pytest.mark.parametrize(
    ("field", "body", "code"),
    [
        ("subject", {"subject": "Reminder\r\nBcc: everyone@example.com"}, "header_injection"),
        ("subject", {"subject": "Reminder\nX-Spam: no"}, "header_injection"),
        (
            "name",
            {"to": {"address": "ap@c-6.example", "name": "Pat\r\nBcc: x@y.z"}},
            "header_injection",
        ),
        ("to", {"to": {"address": "ap@c-6.example\r\nBcc: x@y.z"}}, "header_injection"),
        ("to", {"to": {"address": "ap@c-6.example, boss@c-6.example"}}, "invalid_address"),
        ("to", {"to": {"address": "Pat <ap@c-6.example>"}}, "invalid_address"),
        ("reply_to", {"reply_to": "a@c-6.example;b@c-6.example"}, "invalid_address"),
    ],
)
async def test_a_header_with_a_line_break_or_several_addresses_is_refused_and_nothing_sent(
    desk: Desk, field: str, body: dict[str, Any], code: str
) -> None:
    answer = await desk.send("C-6", f"req-6-{code}", **body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == code
    listed = await desk.notifier.get(f"/v1/companies/{COMPANY}/customers/C-6/emails")
    assert listed.json()["items"] == []
    assert desk.smtp.accepted == [] and desk.smtp.refused == []


async def test_readiness_reports_an_unreachable_smtp_server_as_degraded(
    settings: ServiceSettings, certificates: tuple[Path, ssl.SSLContext]
) -> None:
    server = smtp_server(certificates)  # nothing listens
    async with running_desk(settings, server) as desk:
        answer = await desk.notifier.get("/readyz")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "degraded"
        assert body["optional_checks"]["smtp"].startswith("error")
        server.start()
        try:
            answer = await desk.notifier.get("/readyz")
            assert answer.json()["status"] == "ready"
        finally:
            server.stop()


def test_the_smtp_server_of_the_tests_is_real(smtp: SmtpServer) -> None:
    import smtplib

    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=60) as client:
        client.sendmail("a@b.example", ["c@d.example"], b"Subject: hi\r\n\r\nbody\r\n")
    assert smtp.accepted[0]["Subject"] == "hi"


async def test_many_emails_are_delivered_once_each(desk: Desk) -> None:
    ids = []
    for number in range(30):
        answer = await desk.send(f"M-{number}", f"many-{number}", subject=f"Batch {number}")
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["email_id"])

    async def states() -> list[str]:
        return [(await desk.email(email_id))["status"] for email_id in ids]

    await wait_until(
        states, lambda found: set(found) == {"delivered"}, timeout=240, what="every email sent"
    )
    subjects = sorted(str(m["Subject"]) for m in desk.smtp.accepted)
    assert subjects == sorted(f"Batch {n}" for n in range(30))
