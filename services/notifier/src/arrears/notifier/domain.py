"""Pure rules of the notifier: what an acceptable email is, how it is written as a MIME
message, which SMTP outcomes are worth retrying, and how long to wait before the next try.

No I/O, no clock, no randomness of its own: callers pass `now` and a random fraction.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from arrears.shared.inputs import is_email_address

# ----------------------------------------------------------------------------- errors


class NotifierError(Exception):
    """A refusal of the notifier, with its HTTP status and machine-readable code."""

    status = 422
    code = "refused"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class HeaderInjection(NotifierError):
    """A header field holds a line break: it could smuggle further headers in."""

    code = "header_injection"


class InvalidAddress(NotifierError):
    """An address field is not exactly one well-formed email address."""

    code = "invalid_address"


class InvalidAttachment(NotifierError):
    code = "invalid_attachment"


class IdempotencyConflict(NotifierError):
    """The request id was used before for a different email."""

    status = 409
    code = "idempotency_conflict"


class ContactRefused(NotifierError):
    """The outbound gate refused the message (the decision is recorded)."""

    code = "contact_refused"


class OverrideNotAllowed(NotifierError):
    """An override needs a written reason of a supervisor."""

    code = "override_invalid"


class UnknownEmail(NotifierError):
    status = 404
    code = "unknown_email"


# ----------------------------------------------------------------------------- addresses

LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x85\u2028\u2029]")
SEPARATORS = re.compile(r"[,;<>\s\"()\[\]\\]")


def refuse_line_breaks(field: str, value: str) -> str:
    """`value` unchanged; HeaderInjection if it holds a line break of any kind."""
    if LINE_BREAKS.search(value):
        raise HeaderInjection(f"{field} holds a line break (CR or LF); header fields are one line")
    return value


def one_address(field: str, value: str) -> str:
    """Exactly one plain address (`name@domain`), nothing else in the field."""
    refuse_line_breaks(field, value)
    text = value.strip()
    if "@" in text and (text.count("@") > 1 or SEPARATORS.search(text)):
        raise InvalidAddress(f"{field} must hold exactly one address, not a list or a name")
    if not is_email_address(text):
        raise InvalidAddress(f"{field} is not an email address: {text[:80]!r}")
    return text


# ----------------------------------------------------------------------------- requests


class Purpose(StrEnum):
    REMINDER = "reminder"
    LETTER = "letter"
    REPRINT = "reprint"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class EmailDraft:
    """An email as requested, validated: safe to put into headers."""

    to_address: str
    to_name: str | None
    subject: str
    text: str
    html: str | None
    purpose: Purpose
    reply_to: str | None = None
    attachments: tuple[Attachment, ...] = ()
    related_transaction_ids: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        """What makes two requests the same email (for the idempotency check)."""
        document = {
            "to": [self.to_address, self.to_name],
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "purpose": self.purpose.value,
            "reply_to": self.reply_to,
            "attachments": [
                [a.filename, a.content_type, hashlib.sha256(a.content).hexdigest()]
                for a in self.attachments
            ],
            "related": list(self.related_transaction_ids),
        }
        encoded = json.dumps(document, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(encoded).hexdigest()


CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$")


def attachment_of(filename: str, content_type: str, content_base64: str) -> Attachment:
    refuse_line_breaks("attachment filename", filename)
    if not filename.strip() or "/" in filename or "\\" in filename:
        raise InvalidAttachment(f"attachment filename {filename[:80]!r} is not a plain name")
    if not CONTENT_TYPE.match(content_type.lower()):
        raise InvalidAttachment(f"attachment content type {content_type[:80]!r} is not valid")
    try:
        content = base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidAttachment(f"attachment {filename!r} is not base64: {error}") from error
    return Attachment(filename.strip(), content_type.lower(), content)


def draft_of(
    *,
    to_address: str,
    to_name: str | None,
    subject: str,
    text: str,
    html: str | None,
    purpose: Purpose,
    reply_to: str | None = None,
    attachments: tuple[Attachment, ...] = (),
    related_transaction_ids: tuple[str, ...] = (),
) -> EmailDraft:
    """A validated email: one recipient address, no line break in any header field."""
    address = one_address("to", to_address)
    name = refuse_line_breaks("recipient name", to_name).strip() or None if to_name else None
    refuse_line_breaks("subject", subject)
    if not subject.strip():
        raise NotifierError("subject is empty")
    if not text.strip():
        raise NotifierError("the text is empty")
    return EmailDraft(
        to_address=address,
        to_name=name,
        subject=subject.strip(),
        text=text,
        html=html or None,
        purpose=purpose,
        reply_to=one_address("reply_to", reply_to) if reply_to else None,
        attachments=attachments,
        related_transaction_ids=related_transaction_ids,
    )


# ----------------------------------------------------------------------------- messages


def message_id(email_id: UUID, domain: str) -> str:
    """The Message-ID of an email: the same for every attempt, so that a receiving system
    can recognize a copy delivered twice."""
    return f"<{email_id}@{domain}>"


def build_message(
    draft: EmailDraft,
    *,
    sender: str,
    sender_name: str | None,
    message_id: str,
    date: datetime,
    request_id: str,
) -> EmailMessage:
    """The MIME message: text (and HTML as its alternative), attachments, fixed headers."""
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = Address(display_name=sender_name or "", addr_spec=sender)
    message["To"] = Address(display_name=draft.to_name or "", addr_spec=draft.to_address)
    if draft.reply_to:
        message["Reply-To"] = draft.reply_to
    message["Subject"] = draft.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["X-Arrears-Request-Id"] = refuse_line_breaks("request id", request_id)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(draft.text)
    if draft.html:
        message.add_alternative(draft.html, subtype="html")
    for attachment in draft.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


# ----------------------------------------------------------------------------- outcomes

Outcome = Literal["delivered", "retry", "failed"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one try to hand a message to the SMTP server came to."""

    outcome: Outcome
    reply: str
    code: int | None = None

    @property
    def final(self) -> bool:
        return self.outcome != "retry"


def attempt_of_reply(code: int | None, text: str) -> Attempt:
    """A refusal by the server: 5xx is permanent, anything else (4xx, no code) is retried."""
    reply = f"{code} {text}".strip() if code is not None else text
    reply = reply[:2000] or "no reply"
    if code is not None and 500 <= code <= 599:
        return Attempt("failed", reply, code)
    return Attempt("retry", reply, code)


def backoff_seconds(attempts: int, *, base: float, cap: float, fraction: float) -> float:
    """Pause before the next try after `attempts` failed ones: exponential (base, 2 base,
    4 base ... up to cap) with jitter (`fraction` in [0, 1) chooses between half and all of
    it), so that many messages failing together do not come back together."""
    exponent = min(max(attempts - 1, 0), 32)
    ceiling = min(cap, base * (2**exponent))
    return float(ceiling * (0.5 + fraction / 2))


def after_failure(attempt: Attempt, attempts: int, max_attempts: int) -> Attempt:
    """A transient failure on the last allowed attempt is final."""
    if attempt.outcome == "retry" and attempts >= max_attempts:
        return Attempt(
            "failed", f"gave up after {attempts} attempts: {attempt.reply}"[:2000], attempt.code
        )
    return attempt


# ----------------------------------------------------------------------------- the ledger's record


def activity_id_of(email_id: UUID) -> str:
    return f"email-{email_id.hex}"


def activity_of(
    *,
    email_id: UUID,
    status: str,
    subject: str,
    text: str,
    actor: str,
    to_address: str,
    requested_at: datetime,
    finished_at: datetime,
    reply: str | None,
    message_id: str,
    related_transaction_ids: tuple[str, ...],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The closed "Email" activity that records a sent (or undeliverable) email in the
    customer's history: the ledger's CreateActivity and CloseActivities bodies."""
    delivered = status == "delivered"
    state = "Email delivered" if delivered else "Email not delivered"
    purpose = f"{state}: {subject}"
    if len(purpose) > 200:
        purpose = purpose[:199] + "…"
    outcome_note = (
        f"Delivered to {to_address} ({message_id}); server reply: {reply or 'none'}"
        if delivered
        else f"Not delivered to {to_address} ({message_id}): {reply or 'no reply'}"
    )
    create = {
        "activity_id": activity_id_of(email_id),
        "kind": "action",
        "purpose": purpose,
        "responsible": actor[:200],
        "category": "Email",
        "start": requested_at.isoformat(),
        "end": max(finished_at, requested_at).isoformat(),
        "memo": text[:4000],
        "related_transaction_ids": list(related_transaction_ids),
    }
    close = {
        "activity_ids": [activity_id_of(email_id)],
        "outcome": "completed" if delivered else "cancelled",
        "memo": outcome_note[:4000],
        "closed_at": max(finished_at, requested_at).isoformat(),
    }
    return create, close
