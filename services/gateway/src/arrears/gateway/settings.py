"""Settings of the gateway service (environment variables prefixed ARREARS_)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from arrears.shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service = "gateway"
    http_port: int = 8000

    ledger_url: str = Field(default="http://127.0.0.1:8001", description="The ledger's base URL.")
    aging_url: str = Field(default="http://127.0.0.1:8002", description="The aging service.")
    timeline_url: str = Field(default="http://127.0.0.1:8003", description="The timeline.")
    summary_url: str = Field(default="http://127.0.0.1:8004", description="The summary service.")
    notifier_url: str = Field(default="http://127.0.0.1:8005", description="The notifier.")
    mail_sink_url: str | None = Field(
        default=None,
        description="HTTP address of the local stack's SMTP sink; when set, the admin page "
        "'Mail sink' lists what it received.",
    )
    upstream_timeout_s: float = Field(
        default=10.0, gt=0, description="Longest wait for an answer of another service."
    )
    upstream_cache_s: float = Field(
        default=30.0,
        ge=0,
        description="How long pools, aging definitions and a customer's pool membership "
        "read from the aging service are reused (0: never).",
    )
    companies: list[str] = Field(
        default=["usmf"],
        min_length=1,
        description="Companies offered to users who may view all pools (JSON list).",
    )

    session_hours: float = Field(
        default=10.0, gt=0, le=24 * 30, description="A sign-in lasts this long."
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="Send cookies only over HTTPS; default: on in production, off locally.",
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins of one login before it is throttled."
    )
    login_window_s: int = Field(
        default=900, ge=1, description="Window in which failures count, and the throttle time."
    )
    initial_admin_password: str | None = Field(
        default=None,
        min_length=12,
        description="Password of the `admin` account made on first start (default: random).",
    )
    initial_admin_file: Path | None = Field(
        default=None,
        description="Write the first start's admin credentials to this file instead of the "
        "console (the local stack prints and deletes it).",
    )

    oidc_issuer: str | None = Field(default=None, description="Issuer (`iss`) of bearer JWTs.")
    oidc_audience: str | None = Field(default=None, description="Audience (`aud`) expected.")
    oidc_jwks_url: str | None = Field(default=None, description="URL of the issuer's JWKS.")
    oidc_algorithms: list[str] = Field(
        default=["RS256", "ES256"], description="Signature algorithms accepted (JSON list)."
    )
    oidc_login_claim: str = Field(
        default="preferred_username", description="Claim naming the user (`sub` if absent)."
    )
    oidc_roles_claim: str = Field(default="roles", description="Claim listing the user's roles.")
    oidc_role_map: dict[str, str] = Field(
        default_factory=dict,
        description="Identity-provider role name -> Arrears role (JSON object); names equal "
        "to an Arrears role need no entry.",
    )
    oidc_jwks_cache_s: int = Field(
        default=300, ge=0, description="How long fetched signing keys are reused."
    )
    oidc_leeway_s: int = Field(default=30, ge=0, description="Clock skew allowed on exp/nbf.")

    @model_validator(mode="after")
    def _metrics_off_the_public_port(self) -> Self:
        if self.environment == "production" and self.metrics_port is None:
            raise ValueError(
                "ARREARS_METRICS_PORT must be set in production: the gateway's HTTP port is "
                "public, its metrics are served on a port of their own"
            )
        return self

    @model_validator(mode="after")
    def _oidc_complete(self) -> Self:
        given = [self.oidc_issuer, self.oidc_audience, self.oidc_jwks_url]
        if any(given) and not all(given):
            raise ValueError(
                "ARREARS_OIDC_ISSUER, ARREARS_OIDC_AUDIENCE and ARREARS_OIDC_JWKS_URL go together"
            )
        return self

    @property
    def oidc_enabled(self) -> bool:
        return self.oidc_jwks_url is not None

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.environment == "production"
