"""The notifier's projection: what the outbound gate needs to know of each customer, from the
ledger's topics, one transaction per batch.

- each transaction's collection status (disputed, promised to pay with its promise), by the
  receivables core's `status_change`; the newest sequence wins;
- the customer's do-not-contact flag, from registrations and profile changes that set it;
- what a letter needs of the customer (name, contacts, language: the profile's attributes);
- each collection letter posted, queued to be rendered and delivered;
- the documents a reprint reproduces (invoices, credit notes, interest notes as posted), and
  each reprint requested, queued like a letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.notifier import store
from arrears.shared.consumer import Delivered
from arrears.shared.events import customers as cu
from arrears.shared.events import invoices as iv
from arrears.shared.events import letters as le
from arrears.shared.ids import reprint_id
from arrears.shared.receivables import posted_documents, status_change
from arrears.shared.topics import CUSTOMERS, INVOICES, LETTERS, Topic

REPRINTABLE = ("invoice", "credit_note", "interest_note")


@dataclass(frozen=True)
class GateFacts:
    name: str = "notifier"
    topics: Sequence[Topic] = (CUSTOMERS, INVOICES, LETTERS)

    async def apply(self, conn: AsyncConnection, batch: Sequence[Delivered]) -> None:
        items: dict[tuple[str, str, str], dict[str, Any]] = {}
        flags: dict[tuple[str, str], dict[str, Any]] = {}
        profiles: list[dict[str, Any]] = []
        documents: list[dict[str, Any]] = []
        posted: list[dict[str, Any]] = []
        for delivered in batch:
            event = delivered.event
            key = (event.company, event.customer_id)
            change = status_change(event)
            if change is not None and change.transaction_id:
                row = {
                    "company": change.company,
                    "customer_id": change.customer_id,
                    "transaction_id": change.transaction_id,
                    "status": change.status,
                    "promise_date": change.promise_date,
                    "promise_state": change.promise_state,
                    "sequence": change.sequence,
                }
                item = (*key, change.transaction_id)
                if item not in items or items[item]["sequence"] < change.sequence:
                    items[item] = row
            if isinstance(event, cu.CustomerRegistered | cu.CustomerProfileChanged):
                profile = (
                    event.data.profile
                    if isinstance(event, cu.CustomerRegistered)
                    else event.data.changes
                )
                profiles.append(
                    {
                        "company": event.company,
                        "customer_id": event.customer_id,
                        "profile": profile.model_dump(mode="json", exclude_none=True),
                    }
                )
                if profile.do_not_contact is not None and (
                    key not in flags or flags[key]["profile_sequence"] < event.sequence
                ):
                    flags[key] = {
                        "company": event.company,
                        "customer_id": event.customer_id,
                        "do_not_contact": profile.do_not_contact,
                        "profile_sequence": event.sequence,
                    }
            if isinstance(event, le.CollectionLetterPosted):
                documents.append(
                    {
                        "company": event.company,
                        "letter_id": event.data.letter_id,
                        "customer_id": event.customer_id,
                        "document_number": event.data.document_number,
                        "level": event.data.level,
                        "posting_date": event.data.posting_date,
                        "data": event.data.model_dump(mode="json"),
                        "actor": event.actor,
                        "kind": "letter",
                    }
                )
            posted += [
                {
                    "company": event.company,
                    "customer_id": event.customer_id,
                    "transaction_id": document.transaction_id,
                    "kind": document.kind,
                    "document_number": document.document_number,
                    "document_date": document.document_date,
                    "due_date": document.due_date,
                    "currency": document.currency,
                    "amount": document.amount,
                }
                for document in posted_documents(event)
                if document.kind in REPRINTABLE and document.document_number
            ]
            if isinstance(event, iv.InvoiceReprintRequested):
                documents.append(
                    {
                        "company": event.company,
                        "letter_id": reprint_id(event.event_id),
                        "customer_id": event.customer_id,
                        "document_number": event.data.document_number,
                        "level": 0,
                        "posting_date": event.occurred_at.date(),
                        "data": event.data.model_dump(mode="json"),
                        "actor": event.actor,
                        "kind": "reprint",
                    }
                )
        await store.save_documents(conn, posted)
        await store.upsert_items(conn, list(items.values()))
        await store.upsert_contact_flags(conn, list(flags.values()))
        await store.merge_profiles(conn, profiles)
        await store.queue_letters(conn, documents)
