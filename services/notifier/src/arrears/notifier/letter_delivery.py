"""Delivering collection letters: each posted letter is rendered (HTML and PDF) from the
company's letterhead in the customer's language, passes the outbound gate, and goes by the
customer's channel: email with the PDF attached when the customer has a collections contact
with an email address, else the print queue (for post)."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from arrears.notifier import gate, store
from arrears.notifier.domain import (
    ContactRefused,
    NotifierError,
    Purpose,
    attachment_of,
    draft_of,
)
from arrears.notifier.emails import Emails, check_gate, wait_for
from arrears.notifier.letters import (
    LetterDoc,
    Letterhead,
    Line,
    language_of,
    render_html,
    render_pdf,
    words,
)
from arrears.shared.logging import get_logger

log = get_logger(__name__)


def letter_doc(row: Any, profile: dict[str, Any], letterhead: Letterhead) -> LetterDoc:
    data = row.data
    contact = profile.get("collections_contact") or {}
    address = tuple(
        line
        for line in (
            contact.get("name") and f"Attn. {contact['name']}",
            profile.get("organization_email"),
            profile.get("country"),
        )
        if line
    )
    fee = data.get("fee")
    return LetterDoc(
        document_number=data["document_number"],
        level=int(data["level"]),
        posting_date=date.fromisoformat(data["posting_date"]),
        currency=data["amount"]["currency"],
        lines=tuple(
            Line(
                t["document_number"],
                date.fromisoformat(t["due_date"]),
                int(t["days_overdue"]),
                Decimal(str(t["amount"]["amount"])),
            )
            for t in data["transactions"]
        ),
        customer_name=str(profile.get("name") or row.customer_id),
        address=address,
        fee=Decimal(str(fee["amount"]["amount"])) if fee else None,
        language=language_of(data.get("language"), profile.get("language")),
        letterhead=letterhead,
    )


@dataclass
class LetterDesk:
    emails: Emails

    async def letterhead(self, company: str) -> Letterhead:
        async with self.emails.engine.connect() as conn:
            row = await store.letterhead_row(conn, company)
        if row is None:
            return Letterhead()
        return Letterhead(row.name, tuple(row.address), row.signature)

    async def deliver(self, row: Any) -> None:
        async with self.emails.engine.connect() as conn:
            profile = await store.profile_of(conn, row.company, row.customer_id)
        doc = letter_doc(row, profile, await self.letterhead(row.company))
        html, pdf = render_html(doc), await asyncio.to_thread(render_pdf, doc)
        related = tuple(t["transaction_id"] for t in row.data["transactions"])
        values: dict[str, Any] = {"html": html, "pdf": pdf, "language": doc.language}
        email = (profile.get("collections_contact") or {}).get("email")
        if email:
            values |= await self.by_email(row, doc, email, pdf, related)
        else:
            values |= await self.to_print(row, related)
        async with self.emails.engine.begin() as conn:
            await store.letter_done(conn, row.company, row.letter_id, values)

    async def by_email(
        self, row: Any, doc: LetterDoc, address: str, pdf: bytes, related: tuple[str, ...]
    ) -> dict[str, Any]:
        w = words(doc)
        try:
            draft = draft_of(
                to_address=address,
                to_name=doc.customer_name,
                subject=f"{w['title']} {doc.document_number}",
                text=f"{w['salutation'].format(name=doc.customer_name)}\n\n"
                f"{w['title']} {doc.document_number}: PDF.\n\n{w['regards']}\n"
                f"{doc.letterhead.signature}\n",
                html=None,
                purpose=Purpose.LETTER,
                attachments=(
                    attachment_of(
                        f"{doc.document_number}.pdf",
                        "application/pdf",
                        base64.b64encode(pdf).decode(),
                    ),
                ),
                related_transaction_ids=related,
            )
            email, _ = await self.emails.request(
                company=row.company,
                customer_id=row.customer_id,
                request_id=f"letter-{row.letter_id}",
                draft=draft,
                actor=row.actor,
                correlation_id=None,
                source_event_id=None,
                record_activity=False,
                letter_id=row.letter_id,
            )
        except ContactRefused as refused:
            return {"state": "blocked", "channel": "email", "note": refused.detail}
        except NotifierError as error:
            return {"state": "failed", "channel": "email", "note": error.detail}
        return {"state": "emailed", "channel": "email", "email_id": email.email_id}

    async def to_print(self, row: Any, related: tuple[str, ...]) -> dict[str, Any]:
        now = self.emails.clock.now()
        message = gate.Message("letter", related, row.letter_id)
        async with self.emails.engine.begin() as conn:
            decision, _ = await check_gate(
                conn, row.company, row.customer_id, message, row.actor, now, None, None
            )
        if not decision.allowed:
            return {
                "state": "blocked",
                "channel": "print",
                "note": f"the contact rules refuse this message: {decision.words()}",
            }
        return {"state": "print_queued", "channel": "print"}

    async def run(self) -> None:
        while True:
            try:
                async with self.emails.engine.connect() as conn:
                    rows = await store.pending_letters(conn, 20)
                for row in rows:
                    await self.deliver(row)
            except (SQLAlchemyError, OSError):
                log.exception("delivering letters failed; trying again")
                await asyncio.sleep(5)
                continue
            if not rows:
                await wait_for(self.emails.letters, self.emails.settings.email_poll_s)
