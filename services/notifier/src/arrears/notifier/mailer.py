"""The SMTP server as the notifier reaches it (aiosmtplib): plain, STARTTLS or implicit TLS,
AUTH when configured, a timeout on every step; each attempt's outcome in domain terms."""

from __future__ import annotations

import ssl
from email.message import EmailMessage

import aiosmtplib

from arrears.notifier.domain import Attempt, attempt_of_reply
from arrears.notifier.settings import NotifierSettings


def tls_context(settings: NotifierSettings) -> ssl.SSLContext | None:
    if settings.smtp_security == "none":
        return None
    if settings.smtp_ca_file is not None:
        return ssl.create_default_context(cafile=str(settings.smtp_ca_file))
    return ssl.create_default_context()


class Connection:
    """One SMTP connection, opened on first use and again after a failure."""

    def __init__(self, settings: NotifierSettings, context: ssl.SSLContext | None) -> None:
        self.settings = settings
        self.context = context
        self.client: aiosmtplib.SMTP | None = None

    def _new_client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            timeout=s.smtp_timeout_s,
            use_tls=s.smtp_security == "tls",
            start_tls=s.smtp_security == "starttls",
            tls_context=self.context,
            local_hostname=s.message_id_domain,
        )

    async def open(self) -> aiosmtplib.SMTP:
        if self.client is None or not self.client.is_connected:
            client = self._new_client()
            await client.connect()
            self.client = client
        return self.client

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (TimeoutError, aiosmtplib.SMTPException, OSError):
                client.close()

    async def send(self, message: EmailMessage, recipient: str) -> Attempt:
        """Hand one message to the server. A connection that could not be made, or broke,
        and a 4xx answer are worth another try; a 5xx answer to the message is final."""
        try:
            client = await self.open()
        except aiosmtplib.SMTPAuthenticationError as error:
            await self.close()
            return Attempt("retry", f"authentication refused: {error.code} {error.message}"[:2000])
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as error:
            await self.close()
            return Attempt("retry", f"no connection: {type(error).__name__}: {error}"[:2000])
        try:
            _, reply = await client.send_message(
                message, sender=self.settings.mail_from, recipients=[recipient]
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            await self.close()
            refused = error.recipients[0] if error.recipients else None
            if refused is None:
                return Attempt("retry", "recipient refused without a reply")
            return attempt_of_reply(refused.code, refused.message)
        except aiosmtplib.SMTPResponseException as error:
            await self.close()
            return attempt_of_reply(error.code, error.message)
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as error:
            await self.close()
            return Attempt("retry", f"connection lost: {type(error).__name__}: {error}"[:2000])
        return Attempt("delivered", reply[:2000] or "accepted", 250)


async def reachable(settings: NotifierSettings) -> bool:
    """Connect, greet (and log in) and leave: raises when the SMTP server cannot be used."""
    connection = Connection(settings, tls_context(settings))
    try:
        client = await connection.open()
        await client.noop()
    finally:
        await connection.close()
    return True
