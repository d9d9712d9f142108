"""Delivering collection letters and reprints: each posted letter is rendered (HTML and PDF)
from the company's letterhead in the customer's language, passes the outbound gate, and goes
by the customer's channel: email with the PDF attached when the customer has a collections
contact with an email address, else the print queue (for post). A reprint (an invoice, credit
note or interest note sent again) is rendered the same way and goes by the channel the agent
chose: email (to the address given, else the collections contact), print, or the portal (kept
to be downloaded, nothing sent)."""

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
    REPRINT_WORDING,
    WORDING,
    LetterDoc,
    Letterhead,
    Line,
    ReprintDoc,
    language_of,
    render_html,
    render_pdf,
    render_reprint_html,
    render_reprint_pdf,
    words,
)
from arrears.shared.logging import get_logger

log = get_logger(__name__)
LEASE_S = 300.0
"""How long a letter taken by one instance stays its own before another may take it (an
instance that stopped halfway)."""


def address_of(profile: dict[str, Any]) -> tuple[str, ...]:
    """The lines under the customer's name: who to attend, how to reach them, the country."""
    contact = profile.get("collections_contact") or {}
    return tuple(
        line
        for line in (
            contact.get("name") and f"Attn. {contact['name']}",
            profile.get("organization_email"),
            profile.get("country"),
        )
        if line
    )


def reprint_doc(
    row: Any, document: Any, profile: dict[str, Any], letterhead: Letterhead
) -> ReprintDoc:
    data = row.data
    return ReprintDoc(
        kind=document.kind,
        document_number=document.document_number,
        copy_kind=data["copy_kind"],
        document_date=document.document_date,
        due_date=document.due_date,
        currency=document.currency,
        amount=Decimal(document.amount),
        printed_on=row.posting_date,
        customer_name=str(profile.get("name") or row.customer_id),
        address=address_of(profile),
        language=language_of(data.get("language"), profile.get("language")),
        letterhead=letterhead,
    )


def letter_doc(row: Any, profile: dict[str, Any], letterhead: Letterhead) -> LetterDoc:
    data = row.data
    address = address_of(profile)
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
        if row.kind == "reprint":
            await self.deliver_reprint(row)
            return
        async with self.emails.engine.connect() as conn:
            profile = await store.profile_of(conn, row.company, row.customer_id)
        doc = letter_doc(row, profile, await self.letterhead(row.company))
        html, pdf = render_html(doc), await asyncio.to_thread(render_pdf, doc)
        related = tuple(t["transaction_id"] for t in row.data["transactions"])
        values: dict[str, Any] = {"html": html, "pdf": pdf, "language": doc.language}
        email = (profile.get("collections_contact") or {}).get("email")
        if email:
            w = words(doc)
            values |= await self.by_email(
                row,
                f"{w['title']} {doc.document_number}",
                doc.customer_name,
                doc.letterhead,
                email,
                pdf,
                related,
                salutation=w["salutation"].format(name=doc.customer_name),
                regards=w["regards"],
                purpose=Purpose.LETTER,
            )
        else:
            values |= await self.to_print(row, related)
        async with self.emails.engine.begin() as conn:
            await store.letter_done(conn, row.company, row.letter_id, values)

    async def deliver_reprint(self, row: Any) -> None:
        """Render the reprinted document and send it by the channel asked for."""
        async with self.emails.engine.connect() as conn:
            profile = await store.profile_of(conn, row.company, row.customer_id)
            document = await store.posted_document(conn, row.company, row.data["transaction_id"])
        if document is None:  # the ledger refuses reprints of what it did not post
            note = f"no posted document {row.data['transaction_id']} is known"
            async with self.emails.engine.begin() as conn:
                await store.letter_done(
                    conn, row.company, row.letter_id, {"state": "failed", "note": note}
                )
            return
        doc = reprint_doc(row, document, profile, await self.letterhead(row.company))
        html, pdf = render_reprint_html(doc), await asyncio.to_thread(render_reprint_pdf, doc)
        related = (document.transaction_id,)
        values: dict[str, Any] = {"html": html, "pdf": pdf, "language": doc.language}
        channel = row.data["channel"]
        if channel == "email":
            address = row.data.get("recipient") or (profile.get("collections_contact") or {}).get(
                "email"
            )
            if address:
                language = language_of(doc.language)
                w = REPRINT_WORDING[language]
                values |= await self.by_email(
                    row,
                    f"{w.get(doc.kind, w['invoice'])} {doc.document_number}",
                    doc.customer_name,
                    doc.letterhead,
                    address,
                    pdf,
                    related,
                    salutation=WORDING[language]["salutation"].format(name=doc.customer_name),
                    regards=w["regards"],
                    purpose=Purpose.REPRINT,
                )
            else:
                values |= {
                    "state": "failed",
                    "channel": "email",
                    "note": "no email address: none given and no collections contact has one",
                }
        elif channel == "print":
            values |= await self.to_print(row, related, purpose="reprint")
        else:  # the portal: kept for the customer to download, nothing sent
            values |= {"state": "available", "channel": channel}
        async with self.emails.engine.begin() as conn:
            await store.letter_done(conn, row.company, row.letter_id, values)

    async def by_email(
        self,
        row: Any,
        title: str,
        customer_name: str,
        letterhead: Letterhead,
        address: str,
        pdf: bytes,
        related: tuple[str, ...],
        *,
        salutation: str,
        regards: str,
        purpose: Purpose,
    ) -> dict[str, Any]:
        try:
            draft = draft_of(
                to_address=address,
                to_name=customer_name,
                subject=title,
                text=f"{salutation}\n\n{title}: PDF.\n\n{regards}\n{letterhead.signature}\n",
                html=None,
                purpose=purpose,
                attachments=(
                    attachment_of(
                        f"{row.document_number}.pdf",
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

    async def to_print(
        self, row: Any, related: tuple[str, ...], *, purpose: str = "letter"
    ) -> dict[str, Any]:
        now = self.emails.clock.now()
        message = gate.Message(purpose, related, row.letter_id)
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
                async with self.emails.engine.begin() as conn:
                    rows = await store.claim_letters(conn, 20, lease_s=LEASE_S)
                for row in rows:
                    await self.deliver(row)
            except (SQLAlchemyError, OSError):
                log.exception("delivering letters failed; trying again")
                await asyncio.sleep(5)
                continue
            if not rows:
                await wait_for(self.emails.letters, self.emails.settings.email_poll_s)
