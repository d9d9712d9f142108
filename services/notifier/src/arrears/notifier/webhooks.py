"""Webhooks for downstream systems, as pure rules: which events a subscription wants, the
CloudEvents JSON document of an event, the Standard Webhooks signature, which targets may
be called, and what an answer means.

Standard Webhooks (https://www.standardwebhooks.com): each call carries `webhook-id` (the
delivery's id, the same on every retry), `webhook-timestamp` (seconds since the epoch) and
`webhook-signature` (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under the
secret's key; during a rotation the old key's signature too, space-separated).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from arrears.notifier.domain import NotifierError

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
NOT_DELIVERED = frozenset({"WebhookDelivered", "WebhookFailed"})
"""Never delivered by webhook: a delivery of a delivery would never end."""


class InvalidTarget(NotifierError):
    code = "invalid_webhook_target"


class UnknownSubscription(NotifierError):
    status = 404
    code = "unknown_subscription"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def key_of(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secrets_in_use: Sequence[str], delivery_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: one `v1,` signature per secret in use."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key_of(s), signed, hashlib.sha256).digest()).decode()
        for s in secrets_in_use
    )


def headers(
    secrets_in_use: Sequence[str], delivery_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    return {
        "content-type": "application/cloudevents+json",
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secrets_in_use, delivery_id, timestamp, body),
        "user-agent": "Arrears-Webhooks/1",
    }


def wants(event_types: Iterable[str], companies: Iterable[str], type_: str, company: str) -> bool:
    """A subscription wants an event when it names its type (or none) and its company (or
    none); never a webhook delivery event."""
    if type_ in NOT_DELIVERED:
        return False
    types, wanted = set(event_types), set(companies)
    return (not types or type_ in types) and (not wanted or company in wanted)


def cloudevent(envelope: dict[str, Any], source: str) -> dict[str, Any]:
    """An Arrears envelope as a CloudEvents 1.0 JSON document (structured mode)."""
    return {
        "specversion": "1.0",
        "id": str(envelope["event_id"]),
        "type": f"arrears.{envelope['type']}.v{envelope['schema_version']}",
        "source": source,
        "subject": f"{envelope['company']}/{envelope['customer_id']}",
        "time": envelope["recorded_at"],
        "datacontenttype": "application/json",
        "data": envelope,
    }


def body_of(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


PRIVATE_HOSTS = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def check_target(url: str, addresses: Sequence[str], *, allow_private: bool) -> None:
    """An http(s) URL whose host resolves only to public addresses (unless private and
    loopback targets are allowed by a setting)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidTarget(f"the target must be an http or https URL, not {url[:100]!r}")
    if parts.username or parts.password:
        raise InvalidTarget("the target URL must not hold credentials")
    if allow_private:
        return
    if parts.hostname.lower() in PRIVATE_HOSTS:
        raise InvalidTarget(f"{parts.hostname} is a loopback host")
    if not addresses:
        raise InvalidTarget(f"{parts.hostname} does not resolve")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise InvalidTarget(
                f"{parts.hostname} resolves to {address}, a loopback, private or reserved "
                "address (allowed only with ARREARS_WEBHOOK_ALLOW_PRIVATE_TARGETS)"
            )


@dataclass(frozen=True, slots=True)
class CallResult:
    """One POST to a receiver."""

    status_code: int | None
    seconds: float
    excerpt: str
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code <= 299

    def words(self) -> str:
        if self.error:
            return self.error
        return f"answered {self.status_code}: {self.excerpt[:200]}".strip()
