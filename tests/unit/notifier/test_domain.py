"""The notifier's pure rules: acceptable addresses and headers, the MIME message, which SMTP
answers are retried, the pause before the next try, and the ledger's record of an email."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.notifier.domain import (
    Attempt,
    EmailDraft,
    HeaderInjection,
    InvalidAddress,
    InvalidAttachment,
    Purpose,
    activity_of,
    after_failure,
    attachment_of,
    attempt_of_reply,
    backoff_seconds,
    build_message,
    draft_of,
    message_id,
    one_address,
)

pytestmark = pytest.mark.unit

EMAIL_ID = UUID("01890a5d-ac96-774b-bcce-b302099a8057")
WHEN = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def draft(**changes: Any) -> EmailDraft:
    values: dict[str, Any] = {
        "to_address": "ap@contoso.example",
        "to_name": "Anna Schmidt",
        "subject": "Your overdue invoices",
        "text": "Dear Anna,\nplease pay.\n",
        "html": None,
        "purpose": Purpose.REMINDER,
    } | changes
    return draft_of(**values)


@pytest.mark.parametrize(
    "value",
    ["a@b.example", "first.last+tag@sub.domain.example", "o'brien@x.example"],
)
def test_one_plain_address_is_accepted(value: str) -> None:
    assert one_address("to", value) == value


@pytest.mark.parametrize(
    "value",
    [
        "a@b.example, c@d.example",
        "a@b.example;c@d.example",
        "a@b.example c@d.example",
        "Anna <a@b.example>",
        "a@@b.example",
        "no-at-sign",
        "a@-bad-.example",
        "",
    ],
)
def test_anything_but_one_plain_address_is_refused(value: str) -> None:
    with pytest.raises(InvalidAddress):
        one_address("to", value)


@pytest.mark.parametrize("brk", ["\r", "\n", "\r\n", "\u2028", "\x0b", "\x85"])
def test_a_line_break_in_any_header_field_is_refused(brk: str) -> None:
    for changes in (
        {"subject": f"Hello{brk}Bcc: x@y.example"},
        {"to_name": f"Anna{brk}Bcc: x@y.example"},
        {"to_address": f"ap@contoso.example{brk}Bcc: x@y.example"},
        {"reply_to": f"r@contoso.example{brk}Bcc: x@y.example"},
    ):
        with pytest.raises(HeaderInjection):
            draft(**changes)


def test_the_body_may_hold_line_breaks() -> None:
    made = draft(text="line one\r\nline two\nBcc: not a header\n")
    assert "Bcc: not a header" in made.text


def test_an_attachment_needs_a_plain_name_a_valid_type_and_base64() -> None:
    assert attachment_of("letter.pdf", "application/pdf", "JVBERi0=").content == b"%PDF-"
    for args in (
        ("../letter.pdf", "application/pdf", "JVBERi0="),
        ("letter.pdf", "application/pdf\r\nX: y", "JVBERi0="),
        ("letter.pdf", "application/pdf", "not base64!"),
    ):
        with pytest.raises((InvalidAttachment, HeaderInjection)):
            attachment_of(*args)


def test_the_message_has_text_html_attachment_and_a_stable_message_id() -> None:
    made = draft(
        html="<p>Dear Anna</p>",
        attachments=(attachment_of("letter.pdf", "application/pdf", "JVBERi0="),),
    )
    mid = message_id(EMAIL_ID, "arrears.example")
    assert mid == f"<{EMAIL_ID}@arrears.example>"
    message = build_message(
        made,
        sender="collections@arrears.example",
        sender_name="Collections",
        message_id=mid,
        date=WHEN,
        request_id="req-1",
    )
    assert message["Message-ID"] == mid
    assert message["To"] == "Anna Schmidt <ap@contoso.example>"
    assert message["From"] == "Collections <collections@arrears.example>"
    assert message.get_body(("plain",)).get_content() == "Dear Anna,\nplease pay.\n"
    assert message.get_body(("html",)).get_content().strip() == "<p>Dear Anna</p>"
    [pdf] = list(message.iter_attachments())
    assert pdf.get_filename() == "letter.pdf" and pdf.get_content() == b"%PDF-"
    again = build_message(
        made,
        sender="collections@arrears.example",
        sender_name="Collections",
        message_id=mid,
        date=WHEN,
        request_id="req-1",
    )
    assert again["Message-ID"] == mid and again["Date"] == message["Date"]


def test_a_name_with_special_characters_is_quoted_not_parsed() -> None:
    made = draft(to_name='Evil, "Inc" <x@y.example>')
    message = build_message(
        made,
        sender="c@arrears.example",
        sender_name=None,
        message_id="<1@x>",
        date=WHEN,
        request_id="r",
    )
    assert message["To"].addresses[0].addr_spec == "ap@contoso.example"
    assert len(message["To"].addresses) == 1


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (421, "retry"),
        (450, "retry"),
        (451, "retry"),
        (452, "retry"),
        (550, "failed"),
        (552, "failed"),
        (554, "failed"),
        (None, "retry"),
    ],
)
def test_4xx_and_no_answer_are_retried_5xx_is_final(code: int | None, outcome: str) -> None:
    attempt = attempt_of_reply(code, "text")
    assert attempt.outcome == outcome
    assert attempt.final is (outcome == "failed")


def test_a_transient_failure_on_the_last_attempt_is_final() -> None:
    retry = Attempt("retry", "451 later", 451)
    assert after_failure(retry, 3, 5) == retry
    final = after_failure(retry, 5, 5)
    assert final.outcome == "failed" and final.reply == "gave up after 5 attempts: 451 later"


@given(
    attempts=st.integers(min_value=1, max_value=200),
    fraction=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_backoff_grows_with_jitter_and_stays_under_the_cap(attempts: int, fraction: float) -> None:
    pause = backoff_seconds(attempts, base=30, cap=3600, fraction=fraction)
    ceiling = min(3600, 30 * 2 ** (attempts - 1))
    assert ceiling / 2 <= pause <= ceiling


def test_the_ledger_records_a_delivered_email_as_a_closed_email_activity() -> None:
    create, close = activity_of(
        email_id=EMAIL_ID,
        status="delivered",
        subject="Your overdue invoices",
        text="Dear Anna",
        actor="anna",
        to_address="ap@contoso.example",
        requested_at=WHEN,
        finished_at=WHEN,
        reply="250 OK",
        message_id="<m@x>",
        related_transaction_ids=("INV-1",),
    )
    assert create["activity_id"] == close["activity_ids"][0] == f"email-{EMAIL_ID.hex}"
    assert create["category"] == "Email" and create["purpose"].startswith("Email delivered:")
    assert close["outcome"] == "completed" and "<m@x>" in close["memo"]
    _, failed = activity_of(
        email_id=EMAIL_ID,
        status="failed",
        subject="S" * 300,
        text="t",
        actor="anna",
        to_address="ap@contoso.example",
        requested_at=WHEN,
        finished_at=WHEN,
        reply="550 no",
        message_id="<m@x>",
        related_transaction_ids=(),
    )
    assert failed["outcome"] == "cancelled" and "550 no" in failed["memo"]


def test_the_same_email_has_the_same_fingerprint_and_another_one_not() -> None:
    assert draft().fingerprint() == draft().fingerprint()
    assert draft().fingerprint() != draft(subject="Other").fingerprint()
