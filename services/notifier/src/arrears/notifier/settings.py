"""Settings of the notifier service (environment variables prefixed ARREARS_)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator

from arrears.shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    service = "notifier"
    http_port: int = 8005
    max_body_bytes: int = Field(
        default=33_554_432,
        ge=1024,
        description="Largest request body accepted (an email with its attachments, in "
        "base64); a larger one is refused with 413 unread.",
    )

    smtp_host: str = Field(default="127.0.0.1", min_length=1, description="SMTP server host.")
    smtp_port: int = Field(default=2525, ge=1, le=65535, description="SMTP server port.")
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="none",
        description="'starttls' (upgrade a plain connection, usually port 587), 'tls' "
        "(implicit TLS, usually port 465) or 'none' (a local sink only).",
    )
    smtp_username: str | None = Field(default=None, description="SMTP AUTH user name.")
    smtp_password: SecretStr | None = Field(
        default=None, description="SMTP AUTH password; never logged."
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description="CA certificates (PEM) trusted for the server's certificate: when set, "
        "only these; when unset, the system's.",
    )
    smtp_timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="Timeout of connecting and of each SMTP command."
    )
    smtp_connections: int = Field(
        default=2, ge=1, le=64, description="Connections sending in parallel."
    )
    mail_from: str = Field(
        default="collections@arrears.local", description="Sender address (From, envelope)."
    )
    mail_from_name: str | None = Field(
        default="Collections", max_length=100, description="Display name of the sender."
    )
    message_id_domain: str = Field(
        default="arrears.local",
        pattern=r"^[A-Za-z0-9.-]{1,200}$",
        description="Right-hand side of every Message-ID.",
    )
    email_max_attempts: int = Field(
        default=10, ge=1, le=100, description="Attempts before a transient failure is final."
    )
    email_backoff_s: float = Field(
        default=30.0, gt=0, le=3600, description="Pause after the first failed attempt."
    )
    email_backoff_max_s: float = Field(
        default=3600.0, gt=0, description="Longest pause between attempts (it doubles up to it)."
    )
    email_lease_s: float = Field(
        default=300.0,
        gt=0,
        description="An attempt that has not ended after this long (the process stopped) is "
        "made again.",
    )
    email_batch_size: int = Field(
        default=50, ge=1, le=1000, description="Emails one connection takes at a time."
    )
    email_poll_s: float = Field(
        default=1.0, gt=0, le=60, description="How often due emails are looked for when idle."
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="Longest wait for a webhook receiver's answer."
    )
    webhook_max_attempts: int = Field(
        default=15, ge=1, le=100, description="Attempts of one webhook delivery before it fails."
    )
    webhook_backoff_s: float = Field(
        default=10.0, gt=0, description="Pause after a delivery's first failed attempt."
    )
    webhook_backoff_max_s: float = Field(
        default=3600.0, gt=0, description="Longest pause between two attempts of a delivery."
    )
    webhook_disable_after_s: float = Field(
        default=3 * 24 * 3600.0,
        gt=0,
        description="A subscription whose every call failed for this long is disabled.",
    )
    webhook_concurrency: int = Field(
        default=4, ge=1, le=64, description="Calls in flight at once to one subscription."
    )
    webhook_allow_private_targets: bool = Field(
        default=False,
        description="Allow targets on loopback or private networks (tests, the local stack).",
    )
    webhook_previous_secret_s: float = Field(
        default=24 * 3600.0,
        ge=0,
        description="After a rotation, calls are also signed with the old secret this long.",
    )
    ledger_url: str = Field(
        default="http://127.0.0.1:8001",
        description="The ledger, where sent emails are recorded as closed activities.",
    )
    ledger_timeout_s: float = Field(default=10.0, gt=0, description="Timeout of a ledger call.")

    @model_validator(mode="after")
    def _auth_complete(self) -> Self:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("ARREARS_SMTP_USERNAME and ARREARS_SMTP_PASSWORD go together")
        return self
