"""Events on `arrears.customers.v1`: customer accounts, profiles and credit limits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field

from arrears.shared.events.envelope import Event, Payload
from arrears.shared.money import CurrencyCode, Money
from arrears.shared.topics import CUSTOMERS


class Contact(Payload):
    """A person or mailbox to reach the customer."""

    name: str = Field(min_length=1, max_length=200, description="Contact person or role.")
    email: str | None = Field(default=None, max_length=320, description="Email address.")
    phone: str | None = Field(default=None, max_length=50, description="Phone number.")
    role: str | None = Field(
        default=None, max_length=100, description="Role, e.g. 'accounts payable'."
    )


class CustomerProfile(Payload):
    """Profile attributes of a customer account; every attribute optional."""

    name: str | None = Field(default=None, max_length=200, description="Customer name.")
    collections_contact: Contact | None = Field(
        default=None, description="Who receives collection letters and reminders."
    )
    other_contacts: tuple[Contact, ...] | None = Field(
        default=None, description="Other contacts of the customer organization."
    )
    organization_phone: str | None = Field(default=None, max_length=50, description="Main phone.")
    organization_email: str | None = Field(default=None, max_length=320, description="Main email.")
    country: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code."
    )
    language: str | None = Field(
        default=None, max_length=35, description="Preferred language (BCP 47), e.g. 'en', 'de'."
    )
    credit_group: str | None = Field(default=None, max_length=50, description="Credit group.")
    account_status: str | None = Field(
        default=None,
        max_length=50,
        description="Account status, e.g. 'active', 'on hold', 'collections', 'legal'.",
    )
    customer_since: date | None = Field(default=None, description="Date the relationship began.")
    employee_responsible: str | None = Field(
        default=None, max_length=200, description="Internal employee responsible for the account."
    )
    primary_contact: str | None = Field(
        default=None, max_length=200, description="Internal primary contact (sales or service)."
    )
    credit_rating: str | None = Field(default=None, max_length=50, description="Credit rating.")
    risk_score: Decimal | None = Field(
        default=None, ge=0, le=1000, description="Risk score from the credit-management system."
    )
    open_contracts: int | None = Field(
        default=None, ge=0, description="Number of open sales agreements or contracts."
    )
    do_not_contact: bool | None = Field(
        default=None,
        description="True: send the customer no reminders, letters or other messages (the "
        "notifier's outbound gate refuses them); false lifts it.",
    )


class CustomerRegisteredData(Payload):
    profile: CustomerProfile = Field(description="Initial profile; `name` is required here.")
    currency: CurrencyCode = Field(description="Default transaction currency of the customer.")
    accounting_currency: CurrencyCode = Field(description="Accounting currency of the company.")
    credit_limit: Money | None = Field(
        default=None, description="Credit limit in accounting currency; none means unlimited."
    )


class CustomerRegistered(Event):
    """A customer account was opened."""

    topic = CUSTOMERS
    type: Literal["CustomerRegistered"] = "CustomerRegistered"
    schema_version: Literal[1] = 1
    data: CustomerRegisteredData


class CustomerProfileChangedData(Payload):
    changes: CustomerProfile = Field(
        description="Only the attributes that changed; absent (null) ones are unchanged."
    )


class CustomerProfileChanged(Event):
    """Attributes of a customer's profile changed."""

    topic = CUSTOMERS
    type: Literal["CustomerProfileChanged"] = "CustomerProfileChanged"
    schema_version: Literal[1] = 1
    data: CustomerProfileChangedData


class CreditLimitChangedData(Payload):
    credit_limit: Money | None = Field(
        description="New credit limit in accounting currency; null removes the limit."
    )
    previous: Money | None = Field(default=None, description="The limit before the change.")
    reason: str | None = Field(default=None, max_length=500, description="Why it changed.")


class CreditLimitChanged(Event):
    """A customer's credit limit changed."""

    topic = CUSTOMERS
    type: Literal["CreditLimitChanged"] = "CreditLimitChanged"
    schema_version: Literal[1] = 1
    data: CreditLimitChangedData


EVENTS: tuple[type[Event], ...] = (CustomerRegistered, CustomerProfileChanged, CreditLimitChanged)
