"""Events on `arrears.summaries.v1`: AI-written customer summaries and reminder drafts."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from arrears.shared.events.envelope import Event, Payload
from arrears.shared.events.invoices import TransactionId
from arrears.shared.topics import SUMMARIES

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class SummaryGeneratedData(Payload):
    summary_id: str = Field(min_length=1, max_length=64, description="Id of the summary.")
    text: str = Field(min_length=1, max_length=8000, description="The summary, plain text.")
    language: str | None = Field(
        default=None, max_length=35, description="Language (BCP 47) of the text."
    )
    provider: str = Field(
        min_length=1,
        max_length=100,
        description="What wrote it: a model provider and model, or 'template'.",
    )
    prompt_version: str = Field(
        min_length=1, max_length=50, description="Version of the prompt or template used."
    )
    grounding: Literal["passed", "failed"] = Field(
        description="Whether every figure and claim was checked against the ledger facts."
    )
    grounding_reasons: tuple[str, ...] = Field(
        default=(), description="Why grounding failed (required when it failed)."
    )
    position: int = Field(
        ge=0, description="Ledger stream sequence of the customer the summary reflects."
    )
    fact_ids: tuple[str, ...] = Field(
        default=(), description="Ids of the facts (events, transactions) the summary cites."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.grounding == "failed" and not self.grounding_reasons:
            raise ValueError("a failed grounding check needs at least one reason")
        return self


class SummaryGenerated(Event):
    """A customer summary for the collections agent was written (and grounding-checked)."""

    topic = SUMMARIES
    type: Literal["SummaryGenerated"] = "SummaryGenerated"
    schema_version: Literal[1] = 1
    data: SummaryGeneratedData


class Recipient(Payload):
    """Who a reminder is addressed to."""

    name: str | None = Field(default=None, max_length=200, description="Recipient name.")
    email: str = Field(max_length=320, pattern=EMAIL_PATTERN, description="Email address.")


class ReminderDraftedData(Payload):
    draft_id: str = Field(min_length=1, max_length=64, description="Id of the draft.")
    recipient: Recipient = Field(description="Proposed recipient, usually the collections contact.")
    subject: str = Field(min_length=1, max_length=300, description="Email subject.")
    body: str = Field(min_length=1, max_length=20000, description="Email body, plain text.")
    language: str = Field(min_length=2, max_length=35, description="Language (BCP 47).")
    tone: Literal["friendly", "firm", "final"] = Field(
        description="Tone of the reminder, escalating from friendly to final."
    )
    transaction_ids: tuple[TransactionId, ...] = Field(
        default=(), description="Overdue transactions the reminder is about."
    )
    provider: str = Field(
        min_length=1, max_length=100, description="What wrote it: model provider or 'template'."
    )
    prompt_version: str = Field(
        min_length=1, max_length=50, description="Version of the prompt or template used."
    )


class ReminderDrafted(Event):
    """A reminder email was drafted for an agent to review and send; nothing was sent yet."""

    topic = SUMMARIES
    type: Literal["ReminderDrafted"] = "ReminderDrafted"
    schema_version: Literal[1] = 1
    data: ReminderDraftedData


EVENTS: tuple[type[Event], ...] = (SummaryGenerated, ReminderDrafted)
