"""The topic registry: every public topic, its key and its dead-letter twin."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    description: str
    producer: str
    key: str = "{company}/{customer_id}"

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"


CUSTOMERS = Topic(
    "arrears.customers.v1",
    "Customer accounts: registration, profile changes (contacts, credit group, account status, "
    "ratings) and credit limits.",
    "ledger",
)
INVOICES = Topic(
    "arrears.invoices.v1",
    "Invoices, credit notes, interest notes, fees and their lifecycle, collection status of "
    "transactions, reprint requests.",
    "ledger",
)
PAYMENTS = Topic(
    "arrears.payments.v1",
    "Payments received, settlements and their reversal, NSF returns and write-offs.",
    "ledger",
)
LETTERS = Topic("arrears.letters.v1", "Collection letters posted to customers.", "ledger")
ACTIVITIES = Topic(
    "arrears.activities.v1",
    "Collections activities (tasks, appointments, events, actions) of agents.",
    "ledger",
)
AGING = Topic("arrears.aging.v1", "Derived: a customer's aged balances changed.", "aging")
SUMMARIES = Topic(
    "arrears.summaries.v1",
    "Derived: AI-written customer summaries and reminder-email drafts.",
    "summary",
)
NOTIFICATIONS = Topic(
    "arrears.notifications.v1",
    "Derived: email and webhook deliveries and failures.",
    "notifier",
)

ALL_TOPICS: tuple[Topic, ...] = (
    CUSTOMERS,
    INVOICES,
    PAYMENTS,
    LETTERS,
    ACTIVITIES,
    AGING,
    SUMMARIES,
    NOTIFICATIONS,
)
LEDGER_TOPICS: tuple[Topic, ...] = (CUSTOMERS, INVOICES, PAYMENTS, LETTERS, ACTIVITIES)


def topic_named(name: str) -> Topic:
    for topic in ALL_TOPICS:
        if topic.name == name:
            return topic
    raise KeyError(name)
