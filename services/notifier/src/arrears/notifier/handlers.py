"""The notifier's projection: what the outbound gate needs to know of each customer, from the
ledger's topics, one transaction per batch.

- each transaction's collection status (disputed, promised to pay with its promise), by the
  receivables core's `status_change`; the newest sequence wins;
- the customer's do-not-contact flag, from registrations and profile changes that set it;
- the date of the customer's latest collection letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.notifier import store
from arrears.shared.consumer import Delivered
from arrears.shared.events import customers as cu
from arrears.shared.events import letters as le
from arrears.shared.receivables import status_change
from arrears.shared.topics import CUSTOMERS, INVOICES, LETTERS, Topic


@dataclass(frozen=True)
class GateFacts:
    name: str = "notifier"
    topics: Sequence[Topic] = (CUSTOMERS, INVOICES, LETTERS)

    async def apply(self, conn: AsyncConnection, batch: Sequence[Delivered]) -> None:
        items: dict[tuple[str, str, str], dict[str, Any]] = {}
        flags: dict[tuple[str, str], dict[str, Any]] = {}
        letters: dict[tuple[str, str], dict[str, Any]] = {}
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
                posted = event.data.posting_date
                if key not in letters or letters[key]["last_letter_on"] < posted:
                    letters[key] = {
                        "company": event.company,
                        "customer_id": event.customer_id,
                        "last_letter_on": posted,
                    }
        await store.upsert_items(conn, list(items.values()))
        await store.upsert_contact_flags(conn, list(flags.values()))
        await store.record_letters(conn, list(letters.values()))
