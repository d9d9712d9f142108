"""The notifier as its own process, killed (SIGKILL) after it accepted a request and before
it could send it: the next process delivers the email, once."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from arrears.shared.kafka import ensure_topics, topic_names
from arrears.shared.settings import ServiceSettings
from tests.integration.notifier.conftest import COMPANY, SmtpServer, free_port, smtp_server
from tests.support import poll_until

pytestmark = pytest.mark.integration


def notifier_env(settings: ServiceSettings, server: SmtpServer, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ARREARS_DATABASE_URL=settings.database_url,
        ARREARS_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        ARREARS_DB_SCHEMA=f"{settings.schema_name}_notifier",
        ARREARS_TOPIC_PREFIX=settings.topic_prefix,
        ARREARS_GROUP_PREFIX=settings.group_prefix,
        ARREARS_TOPIC_PARTITIONS="3",
        ARREARS_HTTP_PORT=str(port),
        ARREARS_SMTP_PORT=str(server.port),
        ARREARS_EMAIL_BACKOFF_S="0.2",
        ARREARS_EMAIL_BACKOFF_MAX_S="1",
        ARREARS_EMAIL_POLL_S="0.2",
        ARREARS_EMAIL_MAX_ATTEMPTS="100",
        ARREARS_LEDGER_URL="http://127.0.0.1:9",
        ARREARS_LOG_FORMAT="console",
    )
    return env


@contextmanager
def notifier_process(env: dict[str, str], url: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "arrears.notifier"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:

        def alive() -> int:
            if process.poll() is not None:
                raise AssertionError(f"the notifier exited with {process.returncode}")
            try:
                return httpx.get(f"{url}/readyz", timeout=30).status_code
            except httpx.HTTPError:
                return 0

        poll_until(
            alive,
            lambda status: status == 200,
            timeout=300,
            interval=0.5,
            what="the notifier process to be ready",
        )
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(60)


def test_a_notifier_killed_after_accepting_delivers_after_restart(
    settings: ServiceSettings, certificates: tuple[Path, ssl.SSLContext]
) -> None:
    asyncio.run(ensure_topics(settings.kafka_bootstrap, topic_names(settings), partitions=3))
    server = smtp_server(certificates)  # down while the first process runs
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = notifier_env(settings, server, port)
    email_path = f"{url}/v1/companies/{COMPANY}/emails"
    try:
        with notifier_process(env, url) as first:
            answer = httpx.post(
                f"{url}/v1/companies/{COMPANY}/customers/K-1/emails",
                json={
                    "to": {"address": "ap@k-1.example"},
                    "subject": "Your overdue invoices",
                    "text": "Dear customer,\nplease pay.\n",
                    "record_activity": False,
                },
                headers={"X-Arrears-Actor": "anna", "Idempotency-Key": "kill-1"},
                timeout=60,
            )
            assert answer.status_code == 202, answer.text
            email_id = answer.json()["email_id"]
            first.send_signal(signal.SIGKILL)
            first.wait(60)
        assert server.accepted == []
        server.start()
        with notifier_process(env, url):

            def record() -> dict[str, Any]:
                found: dict[str, Any] = httpx.get(f"{email_path}/{email_id}", timeout=60).json()
                return found

            delivered = poll_until(
                record,
                lambda r: r["status"] == "delivered",
                timeout=300,
                interval=0.2,
                what="the email to be delivered after the restart",
            )
        assert len(server.messages_with(delivered["message_id"])) == 1
        assert len(server.accepted) == 1
    finally:
        server.stop()
