"""One realistic, deterministic instance of every event type.

Used by the contract tests, by integration tests that need a stream of valid events and by
the generated event catalogue (its examples). The story: a EUR customer of a USD company
is invoiced, credited, breaks a first promise to pay (its promise is not in the sample),
is charged interest and fees, disputes and promises again, keeps the promise by a payment,
bounces that payment, gets a collection letter, has a small balance written off, and the
derived services age, summarize and notify.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from arrears.shared.events import (
    activities,
    aging,
    customers,
    invoices,
    letters,
    notifications,
    payments,
    summaries,
)
from arrears.shared.events.envelope import Event, Payload, event_types_of
from arrears.shared.money import Money
from arrears.shared.topics import LEDGER_TOPICS

SAMPLE_START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
"""Default `recorded_at` of the first sample event."""

RATE = Decimal("1.08")
LEDGER_STORY_LENGTH = 26
"""Number of ledger events in the story; the derived events reflect up to the last one."""


def deterministic_uuid7(unix_ms: int, seed: str) -> uuid.UUID:
    """A version 7 UUID whose random bits are derived from `seed` (for repeatable samples)."""
    rand = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:10], "big")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def _eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def _usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def _payloads(customer_id: str, day: date, position: int) -> list[tuple[int, type[Event], Payload]]:
    """(event class, data) in story order; `day` is the business date of the first posting,
    `position` the sequence of the last ledger event (what the derived events reflect)."""

    def d(offset: int) -> date:
        return day + timedelta(days=offset)

    def at(offset_days: int, hour: int = 10) -> datetime:
        return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) + timedelta(
            days=offset_days
        )

    inv, cn, note, fee = "ct-000101", "ct-000102", "ct-000103", "ct-000104"
    pay, rev, nsf_fee, letter_fee = "ct-000105", "ct-000106", "ct-000107", "ct-000108"
    contact = customers.Contact(
        name="Anna Schmidt", email="ap@contoso-retail.example", role="accounts payable"
    )
    return [
        (
            0,
            customers.CustomerRegistered,
            customers.CustomerRegisteredData(
                profile=customers.CustomerProfile(
                    name="Contoso Retail GmbH",
                    collections_contact=contact,
                    country="DE",
                    language="de",
                    credit_group="RETAIL",
                    account_status="active",
                    customer_since=date(2019, 4, 1),
                ),
                currency="EUR",
                accounting_currency="USD",
                credit_limit=_usd("25000.00"),
            ),
        ),
        (
            0,
            customers.CustomerProfileChanged,
            customers.CustomerProfileChangedData(
                changes=customers.CustomerProfile(
                    employee_responsible="Sara Collins",
                    credit_rating="B",
                    risk_score=Decimal("412.5"),
                    open_contracts=2,
                )
            ),
        ),
        (
            0,
            customers.CreditLimitChanged,
            customers.CreditLimitChangedData(
                credit_limit=_usd("30000.00"),
                previous=_usd("25000.00"),
                reason="Annual credit review",
            ),
        ),
        (
            0,
            invoices.InvoicePosted,
            invoices.InvoicePostedData(
                transaction_id=inv,
                document_number="INV-000101",
                voucher="ARI-000101",
                origin=invoices.InvoiceOrigin.SALES_ORDER,
                posting_date=d(0),
                document_date=d(0),
                due_date=d(30),
                amount=_eur("1234.50"),
                accounting_amount=_usd("1333.26"),
                exchange_rate=RATE,
                sales_tax_amount=_eur("197.10"),
                payment_terms="Net30",
                method_of_payment="SEPA",
                cash_discount=invoices.CashDiscount(code="2D10", until=d(10), amount=_eur("24.69")),
                description="Spring collection, order SO-4711",
                customer_reference="Filiale Köln",
                purchase_order="PO-88231",
                sales_order="SO-4711",
            ),
        ),
        (
            5,
            invoices.CreditNotePosted,
            invoices.CreditNotePostedData(
                transaction_id=cn,
                document_number="CN-000012",
                voucher="ARC-000012",
                posting_date=d(5),
                document_date=d(5),
                amount=_eur("100.00"),
                accounting_amount=_usd("108.00"),
                exchange_rate=RATE,
                sales_tax_amount=_eur("15.97"),
                original_transaction_id=inv,
                original_document_number="INV-000101",
                reason_code="DAMAGED",
                description="Two damaged cartons",
            ),
        ),
        (
            59,
            invoices.PromiseToPayBroken,
            invoices.PromiseToPayBrokenData(
                transaction_id=inv,
                document_number="INV-000101",
                outcome="broken",
                promise_date=d(50),
                tolerance_days=3,
                promised_amount=_eur("600.00"),
                paid_amount=_eur("0.00"),
                judged_on=d(59),
                broken_promise_count=1,
                status=invoices.CollectionStatus.NOT_DISPUTED,
            ),
        ),
        (
            61,
            invoices.InterestNotePosted,
            invoices.InterestNotePostedData(
                transaction_id=note,
                document_number="IN-000007",
                interest_code="EU-1PCT",
                posting_date=d(61),
                document_date=d(61),
                due_date=d(75),
                amount=_eur("11.35"),
                accounting_amount=_usd("12.26"),
                exchange_rate=RATE,
                lines=(
                    invoices.InterestLine(
                        transaction_id=inv,
                        document_number="INV-000101",
                        from_date=d(31),
                        to_date=d(60),
                        days=30,
                        base_amount=_eur("1134.50"),
                        interest_amount=_eur("11.35"),
                    ),
                ),
            ),
        ),
        (
            61,
            invoices.FeeCharged,
            invoices.FeeChargedData(
                transaction_id=fee,
                document_number="IN-000007",
                kind="interest_note",
                posting_date=d(61),
                due_date=d(75),
                amount=_eur("5.00"),
                accounting_amount=_usd("5.40"),
                exchange_rate=RATE,
                related_transaction_id=note,
                description="Interest note fee",
            ),
        ),
        (
            62,
            invoices.FeeWaived,
            invoices.FeeWaivedData(
                transaction_id=fee,
                posting_date=d(62),
                amount=_eur("5.00"),
                accounting_amount=_usd("5.40"),
                reason_code="GOODWILL",
                note="Long-standing customer, first reminder this year.",
            ),
        ),
        (
            63,
            invoices.FeeReinstated,
            invoices.FeeReinstatedData(
                transaction_id=fee,
                posting_date=d(63),
                amount=_eur("5.00"),
                accounting_amount=_usd("5.40"),
                reason_code="POLICY",
                note="Waiver not covered by policy for this credit group.",
            ),
        ),
        (
            64,
            invoices.FeeReversed,
            invoices.FeeReversedData(
                transaction_id=fee,
                reversal_transaction_id="ct-000109",
                posting_date=d(64),
                amount=_eur("5.00"),
                accounting_amount=_usd("5.40"),
                reason_code="ERROR",
                note="Fee set up with the wrong interest code.",
            ),
        ),
        (
            65,
            invoices.CollectionStatusChanged,
            invoices.CollectionStatusChangedData(
                transaction_id=inv,
                document_number="INV-000101",
                status=invoices.CollectionStatus.PROMISED_TO_PAY,
                previous_status=invoices.CollectionStatus.NOT_DISPUTED,
                promise_date=d(70),
                promise_amount=_eur("1134.50"),
                note="Customer promised payment by bank transfer.",
            ),
        ),
        (
            66,
            invoices.InvoiceReprintRequested,
            invoices.InvoiceReprintRequestedData(
                transaction_id=inv,
                document_number="INV-000101",
                copy_kind="copy",
                channel="email",
                recipient="ap@contoso-retail.example",
                note="Customer cannot find the original invoice.",
            ),
        ),
        (
            70,
            payments.PaymentReceived,
            payments.PaymentReceivedData(
                transaction_id=pay,
                document_number="PAY-000233",
                payment_date=d(69),
                posting_date=d(70),
                amount=_eur("1145.85"),
                accounting_amount=_usd("1237.52"),
                exchange_rate=RATE,
                method_of_payment="SEPA",
                payment_reference="SEPA-2025-05-11-0042",
                bank_account="DE-OPER",
                remittance_info="INV-000101 IN-000007",
            ),
        ),
        (
            70,
            payments.PaymentAllocationProposed,
            payments.PaymentAllocationProposedData(
                proposal_id="prp-000041",
                payment_transaction_id=pay,
                allocations=(
                    payments.ProposedAllocation(
                        transaction_id=inv, document_number="INV-000101", amount=_eur("1134.50")
                    ),
                    payments.ProposedAllocation(
                        transaction_id=note, document_number="IN-000007", amount=_eur("11.35")
                    ),
                ),
                unapplied=_eur("0.00"),
                confidence=Decimal("0.85"),
                evidence=(
                    "remittance text names document INV-000101",
                    "remittance text names document IN-000007",
                    "the payment equals the open amounts of INV-000101 and IN-000007",
                ),
                threshold=Decimal("0.9"),
                disposition="queued",
            ),
        ),
        (
            70,
            payments.PaymentSettled,
            payments.PaymentSettledData(
                settlement_id="st-000031",
                paying_transaction_id=pay,
                paying_transaction_kind="payment",
                settlement_date=d(70),
                amount=_eur("1145.85"),
                accounting_amount=_usd("1237.52"),
                exchange_rate=RATE,
                allocations=(
                    payments.Allocation(
                        transaction_id=inv,
                        document_number="INV-000101",
                        amount=_eur("1134.50"),
                        accounting_amount=_usd("1225.26"),
                    ),
                    payments.Allocation(
                        transaction_id=note,
                        document_number="IN-000007",
                        amount=_eur("11.35"),
                        accounting_amount=_usd("12.26"),
                    ),
                ),
            ),
        ),
        (
            70,
            payments.PaymentAllocationAccepted,
            payments.PaymentAllocationAcceptedData(
                proposal_id="prp-000041",
                payment_transaction_id=pay,
                settlement_id="st-000031",
                edited=False,
            ),
        ),
        (
            70,
            invoices.PromiseToPayKept,
            invoices.PromiseToPayKeptData(
                transaction_id=inv,
                document_number="INV-000101",
                promise_date=d(70),
                tolerance_days=3,
                promised_amount=_eur("1134.50"),
                paid_amount=_eur("1134.50"),
                kept_on=d(70),
                settlement_id="st-000031",
                status=invoices.CollectionStatus.RESOLVED,
            ),
        ),
        (
            73,
            payments.SettlementReversed,
            payments.SettlementReversedData(
                settlement_id="st-000031",
                posting_date=d(73),
                reason="Payment returned by the bank",
                reason_code="NSF",
            ),
        ),
        (
            73,
            payments.PaymentReturnedNsf,
            payments.PaymentReturnedNsfData(
                payment_transaction_id=pay,
                reversal_transaction_id=rev,
                posting_date=d(73),
                amount=_eur("1145.85"),
                accounting_amount=_usd("1237.52"),
                reopened_settlement_ids=("st-000031",),
                nsf_fee=invoices.PostedFee(
                    transaction_id=nsf_fee, amount=_eur("15.00"), accounting_amount=_usd("16.20")
                ),
                bank_reason_code="AM04",
            ),
        ),
        (
            73,
            payments.PaymentAllocationRejected,
            payments.PaymentAllocationRejectedData(
                proposal_id="prp-000042",
                payment_transaction_id=pay,
                reason="The payment was returned by the bank.",
            ),
        ),
        (
            73,
            activities.ActivityCreated,
            activities.ActivityCreatedData(
                activity_id="act-000051",
                kind=activities.ActivityKind.TASK,
                purpose="Call about returned payment PAY-000233",
                responsible="sara.collins",
                category="Call",
                priority="high",
                start=at(74, 9),
                end=at(74, 10),
                memo="Customer said the bank changed their account; new mandate coming.",
                related_transaction_ids=(inv, pay),
            ),
        ),
        (
            74,
            activities.ActivityChanged,
            activities.ActivityChangedData(
                activity_id="act-000051",
                changes=activities.ActivityChanges(start=at(75, 8), end=at(75, 9)),
            ),
        ),
        (
            75,
            activities.ActivityClosed,
            activities.ActivityClosedData(
                activity_id="act-000051",
                closed_at=at(75, 9),
                outcome=activities.ActivityOutcome.COMPLETED,
                memo="Reached Anna Schmidt; payment to be re-sent this week.",
            ),
        ),
        (
            80,
            letters.CollectionLetterPosted,
            letters.CollectionLetterPostedData(
                letter_id="cl-000019",
                document_number="CL-000019",
                letter_sequence_id="STD-EU",
                level=2,
                posting_date=d(80),
                amount=_eur("1160.85"),
                accounting_amount=_usd("1253.72"),
                fee=invoices.PostedFee(
                    transaction_id=letter_fee, amount=_eur("10.00"), accounting_amount=_usd("10.80")
                ),
                transactions=(
                    letters.LetterTransaction(
                        transaction_id=inv,
                        document_number="INV-000101",
                        due_date=d(30),
                        days_overdue=50,
                        amount=_eur("1134.50"),
                        accounting_amount=_usd("1225.26"),
                    ),
                    letters.LetterTransaction(
                        transaction_id=note,
                        document_number="IN-000007",
                        due_date=d(75),
                        days_overdue=5,
                        amount=_eur("11.35"),
                        accounting_amount=_usd("12.26"),
                    ),
                    letters.LetterTransaction(
                        transaction_id=nsf_fee,
                        document_number="NSF-000003",
                        due_date=d(73),
                        days_overdue=7,
                        amount=_eur("15.00"),
                        accounting_amount=_usd("16.20"),
                    ),
                ),
                language="de",
            ),
        ),
        (
            90,
            payments.TransactionsWrittenOff,
            payments.TransactionsWrittenOffData(
                write_off_id="wo-000004",
                posting_date=d(90),
                reason_code="SMALLBAL",
                note="Interest residue below the write-off threshold.",
                transactions=(
                    payments.WrittenOffTransaction(
                        transaction_id=note,
                        document_number="IN-000007",
                        amount=_eur("11.35"),
                        accounting_amount=_usd("12.26"),
                    ),
                    payments.WrittenOffTransaction(
                        transaction_id=inv,
                        document_number="INV-000101",
                        amount=_eur("6.00"),
                        accounting_amount=_usd("6.48"),
                    ),
                ),
                accounting_amount=_usd("18.74"),
                net_amount=_usd("17.66"),
                sales_tax_lines=(
                    payments.SalesTaxLine(
                        transaction_id=inv,
                        sales_tax_code="DE-VAT19",
                        amount=_eur("1.00"),
                        accounting_amount=_usd("1.08"),
                    ),
                ),
                journal_lines=(
                    payments.JournalLine(
                        line_number=1,
                        account_type="customer",
                        account=customer_id,
                        currency="EUR",
                        posting_profile="GEN",
                        side="credit",
                        amount=_eur("17.35"),
                        accounting_amount=_usd("18.74"),
                    ),
                    payments.JournalLine(
                        line_number=2,
                        account_type="ledger",
                        account="618900",
                        currency="EUR",
                        dimensions=(
                            payments.Dimension(name="BusinessUnit", value="002"),
                            payments.Dimension(name="CostCenter", value="007"),
                        ),
                        side="debit",
                        amount=_eur("16.35"),
                        accounting_amount=_usd("17.66"),
                    ),
                    payments.JournalLine(
                        line_number=3,
                        account_type="sales_tax",
                        account="222200",
                        currency="EUR",
                        side="debit",
                        amount=_eur("1.00"),
                        accounting_amount=_usd("1.08"),
                    ),
                ),
            ),
        ),
        (
            90,
            aging.OpenItemsChanged,
            aging.OpenItemsChangedData(
                revision=1,
                position=position,
                items=tuple(
                    aging.OpenItem(
                        transaction_id=transaction_id,
                        open_amount=_eur(txn),
                        accounting_open_amount=_usd(accounting),
                    )
                    for transaction_id, txn, accounting in (
                        ("ct-000101", "1228.50", "1326.78"),
                        ("ct-000102", "100.00", "108.00"),
                        ("ct-000103", "0.00", "0.00"),
                        ("ct-000104", "0.00", "0.00"),
                        ("ct-000105", "0.00", "0.00"),
                        ("ct-000107", "15.00", "16.20"),
                        ("ct-000108", "10.00", "10.80"),
                    )
                ),
            ),
        ),
        (
            90,
            aging.CustomerAgingChanged,
            aging.CustomerAgingChangedData(
                as_of=d(90),
                aging_definition_id="STD-30",
                aged_by="due_date",
                balance=_usd("1245.78"),
                overdue=_usd("1234.98"),
                periods=(
                    aging.AgingPeriod(
                        name="Current", from_days=None, to_days=0, amount=_usd("10.80")
                    ),
                    aging.AgingPeriod(
                        name="1-30 days", from_days=1, to_days=30, amount=_usd("16.20")
                    ),
                    aging.AgingPeriod(
                        name="31-60 days", from_days=31, to_days=60, amount=_usd("1218.78")
                    ),
                    aging.AgingPeriod(
                        name="61+ days", from_days=61, to_days=None, amount=_usd("0.00")
                    ),
                ),
                credit_limit=_usd("30000.00"),
                credit_remaining=_usd("28754.22"),
                disputed_count=0,
                disputed_amount=_usd("0.00"),
                position=position,
            ),
        ),
        (
            90,
            summaries.SummaryGenerated,
            summaries.SummaryGeneratedData(
                summary_id="sum-000008",
                text=(
                    "Contoso Retail GmbH owes USD 1,245.78, of which USD 1,234.98 is overdue. "
                    "A EUR 1,145.85 payment was returned (NSF) and a level-2 collection "
                    "letter was posted."
                ),
                language="en",
                provider="template",
                prompt_version="summary-2025-01",
                grounding="passed",
                position=position,
                fact_ids=(inv, pay, "cl-000019"),
            ),
        ),
        (
            90,
            summaries.ReminderDrafted,
            summaries.ReminderDraftedData(
                draft_id="rem-000003",
                recipient=summaries.Recipient(
                    name="Anna Schmidt", email="ap@contoso-retail.example"
                ),
                subject="Zahlungserinnerung INV-000101",
                body=(
                    "Sehr geehrte Frau Schmidt,\n\nunsere Rechnung INV-000101 über EUR "
                    "1.134,50 ist seit 50 Tagen fällig. ...\n"
                ),
                language="de",
                tone="firm",
                transaction_ids=(inv, note, nsf_fee),
                provider="template",
                prompt_version="reminder-2025-01",
            ),
        ),
    ]


def _notification_payloads(source: uuid.UUID) -> list[tuple[int, type[Event], Payload]]:
    url = "https://erp.contoso-retail.example/hooks/arrears"
    return [
        (
            90,
            notifications.EmailDelivered,
            notifications.EmailDeliveredData(
                delivery_id="dl-000201",
                recipient="ap@contoso-retail.example",
                subject="Zahlungserinnerung INV-000101",
                attempts=1,
                provider_message_id="<20250601110000.1@mail.arrears.example>",
                source_event_id=source,
            ),
        ),
        (
            90,
            notifications.EmailFailed,
            notifications.EmailFailedData(
                delivery_id="dl-000202",
                recipient="old-ap@contoso-retail.example",
                subject="Zahlungserinnerung INV-000101",
                attempts=5,
                error="550 5.1.1 mailbox unavailable",
                final=True,
                source_event_id=source,
            ),
        ),
        (
            90,
            notifications.WebhookDelivered,
            notifications.WebhookDeliveredData(
                delivery_id="dl-000203",
                subscription_id="sub-0001",
                url=url,
                event_type="ReminderDrafted",
                attempts=1,
                status_code=204,
                source_event_id=source,
            ),
        ),
        (
            90,
            notifications.WebhookFailed,
            notifications.WebhookFailedData(
                delivery_id="dl-000204",
                subscription_id="sub-0001",
                url=url,
                event_type="ReminderDrafted",
                attempts=2,
                status_code=503,
                error="503 Service Unavailable",
                final=False,
                source_event_id=source,
            ),
        ),
    ]


def sample_events(
    *,
    company: str = "usmf",
    customer_id: str = "US-001",
    first_sequence: int = 1,
    start: datetime = SAMPLE_START,
    step: timedelta = timedelta(minutes=5),
    actor: str = "sample",
) -> list[Event]:
    """One valid event of every type, in story order, for one customer stream.

    Deterministic: the same arguments give the same events (ids included). Sequences run
    from `first_sequence` upward. The story spans 90 days of business dates counted from
    `start`'s date; the n-th event (from 0) occurs and is recorded at `start` plus its
    business day offset plus n * `step`, so timestamps strictly increase. Ledger events
    come first; the derived ones (aging, summaries, notifications) reflect all of them.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    story = _payloads(customer_id, start.date(), first_sequence + LEDGER_STORY_LENGTH - 1)
    if sum(cls.topic in LEDGER_TOPICS for _, cls, _ in story) != LEDGER_STORY_LENGTH:
        raise RuntimeError("LEDGER_STORY_LENGTH is out of date")
    events: list[Event] = []

    def append(offset: int, cls: type[Event], data: Payload) -> None:
        index = len(events)
        sequence = first_sequence + index
        recorded = start.astimezone(UTC) + timedelta(days=offset) + step * index
        type_name, version = event_types_of(cls)
        events.append(
            cls(
                type=type_name,
                schema_version=version,
                event_id=deterministic_uuid7(
                    int(recorded.timestamp() * 1000),
                    f"{company}/{customer_id}/{sequence}/{cls.__name__}",
                ),
                company=company,
                customer_id=customer_id,
                sequence=sequence,
                occurred_at=recorded,
                recorded_at=recorded,
                actor=actor,
                correlation_id=f"corr-{customer_id}-{sequence:04d}",
                causation_id=str(events[-1].event_id) if events else None,
                data=data,
            )
        )

    for offset, cls, data in story:
        append(offset, cls, data)
    reminder = events[-1].event_id
    for offset, cls, data in _notification_payloads(reminder):
        append(offset, cls, data)
    return events


def samples_by_type(**kwargs: Any) -> dict[str, Event]:
    """`sample_events(**kwargs)` keyed by event type."""
    return {event.type: event for event in sample_events(**kwargs)}
