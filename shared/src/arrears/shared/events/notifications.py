"""Events on `arrears.notifications.v1`: email and webhook deliveries, by the notifier."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from arrears.shared.events.envelope import Event, Payload
from arrears.shared.topics import NOTIFICATIONS

DeliveryId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="Id of the delivery; stable across retries of the same message.",
    ),
]
Attempts = Annotated[int, Field(ge=1, description="Number of attempts made so far.")]
SourceEventId = Annotated[
    UUID,
    Field(
        description="event_id of the event that caused the notification; for an email asked "
        "for over the notifier's API (an agent's reminder), the id the notifier gave the email."
    ),
]
ErrorText = Annotated[
    str, Field(min_length=1, max_length=2000, description="What went wrong (last attempt).")
]
MessageId = Annotated[
    str | None,
    Field(
        max_length=300,
        description="Message-ID header Arrears gave the email; the same on every attempt.",
    ),
]
Purpose = Annotated[
    str | None,
    Field(
        max_length=20,
        description="Why the email was sent: 'reminder', 'letter', 'reprint' or 'other'.",
    ),
]


class EmailDeliveredData(Payload):
    delivery_id: DeliveryId
    recipient: str = Field(min_length=3, max_length=320, description="Email address.")
    subject: str = Field(max_length=300, description="Email subject.")
    attempts: Attempts
    provider_message_id: str | None = Field(
        default=None, max_length=300, description="Message-ID assigned by the mail server."
    )
    source_event_id: SourceEventId
    message_id: MessageId = None
    purpose: Purpose = None
    reply: str | None = Field(
        default=None, max_length=2000, description="The mail server's answer to the message."
    )


class EmailDelivered(Event):
    """An email was accepted by the mail server."""

    topic = NOTIFICATIONS
    type: Literal["EmailDelivered"] = "EmailDelivered"
    schema_version: Literal[1] = 1
    data: EmailDeliveredData


class EmailFailedData(Payload):
    delivery_id: DeliveryId
    recipient: str = Field(min_length=3, max_length=320, description="Email address.")
    subject: str = Field(max_length=300, description="Email subject.")
    attempts: Attempts
    error: ErrorText
    final: bool = Field(description="True when the notifier gave up; false if it will retry.")
    source_event_id: SourceEventId
    message_id: MessageId = None
    purpose: Purpose = None
    reply_code: int | None = Field(
        default=None, ge=100, le=599, description="SMTP reply code, if the server answered."
    )


class EmailFailed(Event):
    """Sending an email failed (temporarily, or finally when `final`)."""

    topic = NOTIFICATIONS
    type: Literal["EmailFailed"] = "EmailFailed"
    schema_version: Literal[1] = 1
    data: EmailFailedData


class WebhookDeliveredData(Payload):
    delivery_id: DeliveryId
    subscription_id: str | None = Field(
        default=None, max_length=64, description="Webhook subscription that asked for it."
    )
    url: str = Field(min_length=1, max_length=2000, description="Endpoint called.")
    event_type: str = Field(
        min_length=1, max_length=100, description="Type of the event delivered."
    )
    attempts: Attempts
    status_code: int = Field(ge=200, le=299, description="HTTP status the endpoint answered (2xx).")
    source_event_id: SourceEventId


class WebhookDelivered(Event):
    """A webhook call was acknowledged by the subscriber with a 2xx status."""

    topic = NOTIFICATIONS
    type: Literal["WebhookDelivered"] = "WebhookDelivered"
    schema_version: Literal[1] = 1
    data: WebhookDeliveredData


class WebhookFailedData(Payload):
    delivery_id: DeliveryId
    subscription_id: str | None = Field(
        default=None, max_length=64, description="Webhook subscription that asked for it."
    )
    url: str = Field(min_length=1, max_length=2000, description="Endpoint called.")
    event_type: str = Field(
        min_length=1, max_length=100, description="Type of the event being delivered."
    )
    attempts: Attempts
    status_code: int | None = Field(
        default=None, ge=100, le=599, description="HTTP status, if the endpoint answered."
    )
    error: ErrorText
    final: bool = Field(description="True when the notifier gave up; false if it will retry.")
    source_event_id: SourceEventId


class WebhookFailed(Event):
    """A webhook call failed (temporarily, or finally when `final`)."""

    topic = NOTIFICATIONS
    type: Literal["WebhookFailed"] = "WebhookFailed"
    schema_version: Literal[1] = 1
    data: WebhookFailedData


EVENTS: tuple[type[Event], ...] = (EmailDelivered, EmailFailed, WebhookDelivered, WebhookFailed)
