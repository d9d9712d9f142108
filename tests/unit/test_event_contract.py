"""The event contract: every event round-trips exactly, is frozen, documented and registered."""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

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
from arrears.shared.events.envelope import Event, event_types_of
from arrears.shared.events.registry import (
    ALL_EVENTS,
    EVENT_CLASSES,
    ContractViolation,
    event_class,
    parse_event,
)
from arrears.shared.events.samples import sample_events
from arrears.shared.money import Money
from arrears.shared.schema_export import event_json_schemas

pytestmark = pytest.mark.unit

MODULES = (customers, invoices, payments, letters, activities, aging, summaries, notifications)
SAMPLES = sample_events()
SAMPLE_IDS = [event.type for event in SAMPLES]


def _by_type(type_name: str) -> Event:
    return next(event for event in SAMPLES if event.type == type_name)


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)


def _reachable_models() -> list[type[BaseModel]]:
    """Every event class and every model nested in one (payloads, Money, ...)."""
    found: list[type[BaseModel]] = []
    todo: list[type[BaseModel]] = [Event, *ALL_EVENTS]
    while todo:
        model = todo.pop()
        if model in found:
            continue
        found.append(model)
        for field in model.model_fields.values():
            todo.extend(_models_in(field.annotation))
    return found


def _decimals(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, exact text) of every Decimal inside a model."""
    if isinstance(value, Decimal):
        yield path, str(value)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _decimals(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            yield from _decimals(item, f"{path}[{index}]")


# ---------------------------------------------------------------------------- registry


def test_samples_cover_every_registered_event_exactly_once() -> None:
    assert sorted(SAMPLE_IDS) == sorted(event_types_of(cls)[0] for cls in ALL_EVENTS)
    assert {type(event) for event in SAMPLES} == set(ALL_EVENTS)


def test_registry_finds_every_event_class() -> None:
    declared = [
        obj
        for module in MODULES
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, Event)
        and obj is not Event
        and obj.__module__ == module.__name__
    ]
    assert len(declared) == 34
    for cls in declared:
        assert cls in ALL_EVENTS, f"{cls.__name__} is missing from its module's EVENTS"
        assert event_class(*event_types_of(cls)) is cls
    assert len(EVENT_CLASSES) == len(ALL_EVENTS)


def test_every_event_declares_its_topic_and_version() -> None:
    for module in MODULES:
        topics = {cls.topic for cls in module.EVENTS}
        assert len(topics) == 1, f"{module.__name__} publishes to several topics"
    for cls in ALL_EVENTS:
        type_name, version = event_types_of(cls)
        assert type_name == cls.__name__
        assert version == 1
        assert inspect.getdoc(cls) and cls.__doc__ != Event.__doc__


# ---------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("event", SAMPLES, ids=SAMPLE_IDS)
def test_round_trips_exactly_through_json(event: Event) -> None:
    text = event.model_dump_json()
    for raw in (text, text.encode(), json.loads(text)):
        parsed = parse_event(raw)
        assert type(parsed) is type(event)
        assert parsed == event
        assert parsed.model_dump_json() == text
        assert list(_decimals(parsed)) == list(_decimals(event))


def test_decimal_amounts_keep_their_exact_text() -> None:
    invoice = _by_type("InvoicePosted")
    assert isinstance(invoice.data, invoices.InvoicePostedData)
    assert invoice.data.amount == Money(amount=Decimal("1234.50"), currency="EUR")
    assert '"amount":"1234.50"' in invoice.model_dump_json()

    parsed = parse_event(invoice.model_dump_json())
    assert isinstance(parsed.data, invoices.InvoicePostedData)
    assert str(parsed.data.amount.amount) == "1234.50"
    assert parsed.data.amount.amount.as_tuple() == Decimal("1234.50").as_tuple()


@pytest.mark.parametrize("event", SAMPLES, ids=SAMPLE_IDS)
def test_serialized_events_contain_no_json_numbers_but_integers(event: Event) -> None:
    def no_floats(text: str) -> float:
        raise AssertionError(f"float {text} in {event.type}")

    json.loads(event.model_dump_json(), parse_float=no_floats)


def test_samples_are_deterministic_and_parameterized() -> None:
    assert sample_events() == SAMPLES
    other = sample_events(company="demo", customer_id="C-77", first_sequence=40)
    assert [event.sequence for event in other] == list(range(40, 40 + len(SAMPLES)))
    assert {event.stream for event in other} == {"demo/C-77"}
    assert len({event.event_id for event in SAMPLES + other}) == 2 * len(SAMPLES)
    recorded = [event.recorded_at for event in SAMPLES]
    assert recorded == sorted(recorded) and len(set(recorded)) == len(recorded)


# ---------------------------------------------------------------------------- timestamps


def test_naive_datetimes_are_rejected() -> None:
    doc = json.loads(_by_type("InvoicePosted").model_dump_json())
    doc["recorded_at"] = "2025-03-03T09:00:00"
    with pytest.raises(ContractViolation, match="timezone"):
        parse_event(doc)

    activity = json.loads(_by_type("ActivityCreated").model_dump_json())
    activity["data"]["start"] = "2025-05-16T09:00:00"
    with pytest.raises(ContractViolation, match="timezone"):
        parse_event(activity)

    with pytest.raises(ValidationError):
        activities.ActivityClosedData(
            activity_id="a-1",
            closed_at=datetime(2025, 1, 1, 12, 0),  # noqa: DTZ001 - naive on purpose
            outcome=activities.ActivityOutcome.COMPLETED,
        )


def test_offset_timestamps_are_normalized_to_utc() -> None:
    doc = json.loads(_by_type("InvoicePosted").model_dump_json())
    doc["occurred_at"] = "2025-03-03T10:15:00+01:00"
    parsed = parse_event(doc)
    assert parsed.occurred_at.isoformat() == "2025-03-03T09:15:00+00:00"


# ---------------------------------------------------------------------------- schemas


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def test_schemas_never_use_floats() -> None:
    schemas = event_json_schemas()
    assert len(schemas) == len(ALL_EVENTS)
    for key, schema in schemas.items():
        for node in _walk(schema):
            assert node.get("type") != "number", f"{key} has a float-typed field: {node}"
        money = schema["$defs"].get("Money")
        if money is not None:
            assert money["properties"]["amount"]["type"] == "string"
            assert money["properties"]["amount"]["format"] == "decimal"


def test_every_field_of_every_model_has_a_description() -> None:
    models = _reachable_models()
    assert Money in models and payments.Allocation in models and payments.JournalLine in models
    missing = [
        f"{model.__name__}.{name}"
        for model in models
        for name, field in model.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert missing == []


def test_every_schema_property_has_a_description() -> None:
    missing = [
        f"{key}: {name}"
        for key, schema in event_json_schemas().items()
        for node in _walk(schema)
        if isinstance(node.get("properties"), dict)
        for name, prop in node["properties"].items()
        if not prop.get("description")
    ]
    assert missing == []


def test_events_and_payloads_are_frozen_and_tolerate_unknown_fields() -> None:
    for model in _reachable_models():
        assert model.model_config.get("frozen") is True, model.__name__
        # Within a topic version fields are only ever added: readers on an older release
        # must accept events that carry fields they do not know yet.
        assert model.model_config.get("extra") == "ignore", model.__name__
    invoice = _by_type("InvoicePosted")
    with pytest.raises(ValidationError):
        invoice.sequence = 99  # type: ignore[misc]
    with pytest.raises(ValidationError):
        invoice.data.amount = Money.of("1", "EUR")
    assert hash(invoice) == hash(parse_event(invoice.model_dump_json()))


# ---------------------------------------------------------------------------- violations


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        "[1, 2]",
        "{}",
        {"type": "InvoicePosted"},
        {"type": "InvoicePosted", "schema_version": "1"},
    ],
    ids=["garbage", "binary", "array", "empty", "no-version", "string-version"],
)
def test_parse_event_rejects_garbage(raw: Any) -> None:
    with pytest.raises(ContractViolation):
        parse_event(raw)


def test_parse_event_rejects_unknown_types_and_versions() -> None:
    doc = json.loads(_by_type("InvoicePosted").model_dump_json())
    with pytest.raises(ContractViolation, match="unknown event type"):
        parse_event({**doc, "type": "InvoiceEaten"})
    with pytest.raises(ContractViolation, match="unknown event type"):
        parse_event({**doc, "schema_version": 2})


def _invoice_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(_by_type("InvoicePosted").model_dump_json())
    return doc


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("data",), None),
        (("data", "transaction_id"), ""),
        (("data", "amount", "amount"), "-1234.50"),
        (("data", "amount", "amount"), "12.3.4"),
        (("data", "amount", "amount"), "NaN"),
        (("data", "amount", "currency"), "euro"),
        (("data", "due_date"), "next week"),
        (("company",), "us/mf"),
        (("sequence",), 0),
        (("event_id",), "not-a-uuid"),
    ],
)
def test_parse_event_rejects_invalid_payloads(path: tuple[str, ...], value: Any) -> None:
    doc = _invoice_doc()
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ContractViolation, match="InvoicePosted v1 invalid"):
        parse_event(doc)


def test_missing_payload_field_is_a_violation() -> None:
    doc = _invoice_doc()
    del doc["data"]["due_date"]
    with pytest.raises(ContractViolation, match="due_date"):
        parse_event(doc)


# ---------------------------------------------------------------------------- local rules


def _data(type_name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_by_type(type_name).model_dump_json())["data"]
    return data


def _rejects(model: type[BaseModel], data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        model.model_validate(data)


def test_amount_pair_rules() -> None:
    model = invoices.InvoicePostedData
    model.model_validate(_data("InvoicePosted"))
    data = _data("InvoicePosted")
    data["accounting_amount"] = {"amount": "1200.00", "currency": "EUR"}
    _rejects(model, data, "both in EUR but differ")
    data = _data("InvoicePosted")
    data["sales_tax_amount"] = {"amount": "10.00", "currency": "USD"}
    _rejects(model, data, "must be in EUR")
    data = _data("InvoicePosted")
    data["exchange_rate"] = "0"
    _rejects(model, data, "greater than 0")


def test_settlement_rules() -> None:
    model = payments.PaymentSettledData
    data = _data("PaymentSettled")
    data["allocations"] = []
    _rejects(model, data, "at least 1 item")
    data = _data("PaymentSettled")
    data["allocations"][0]["amount"]["amount"] = "1000.00"
    _rejects(model, data, "do not sum to amount")
    data = _data("PaymentSettled")
    data["allocations"][0]["amount"]["currency"] = "GBP"
    _rejects(model, data, "must be in EUR")
    data = _data("PaymentSettled")
    data["allocations"][1]["amount"]["amount"] = "-11.35"
    _rejects(model, data, "must be positive")
    data = _data("PaymentSettled")
    data["allocations"][1]["transaction_id"] = data["allocations"][0]["transaction_id"]
    _rejects(model, data, "listed twice")


def test_collection_status_promise_rules() -> None:
    model = invoices.CollectionStatusChangedData
    data = _data("CollectionStatusChanged")
    data["promise_date"] = None
    _rejects(model, data, "promise_date is required")
    data = _data("CollectionStatusChanged")
    data["status"] = "disputed"
    _rejects(model, data, "only apply to promised_to_pay")
    data.update(promise_date=None, promise_amount=None, reason_code="PRICE")
    assert model.model_validate(data).status is invoices.CollectionStatus.DISPUTED
    data["status"] = "escalated"
    _rejects(model, data, "status")


def test_write_off_rules() -> None:
    model = payments.TransactionsWrittenOffData
    data = _data("TransactionsWrittenOff")
    data["journal_lines"][1]["accounting_amount"]["amount"] = "17.00"
    data["journal_lines"][1]["amount"]["amount"] = "15.74"
    _rejects(model, data, "journal does not balance")
    data = _data("TransactionsWrittenOff")
    data["net_amount"]["amount"] = "18.74"
    _rejects(model, data, "net_amount must equal")
    data = _data("TransactionsWrittenOff")
    data["journal_lines"][0]["currency"] = "USD"
    _rejects(model, data, "must be in USD")


def test_aging_periods_sum_to_the_balance() -> None:
    model = aging.CustomerAgingChangedData
    data = _data("CustomerAgingChanged")
    data["periods"][0]["amount"]["amount"] = "0.00"
    _rejects(model, data, "periods sum to")


def test_interest_and_letter_totals() -> None:
    data = _data("InterestNotePosted")
    data["amount"]["amount"] = "12.00"
    _rejects(invoices.InterestNotePostedData, data, "lines sum to")
    data = _data("CollectionLetterPosted")
    data["level"] = 6
    _rejects(letters.CollectionLetterPostedData, data, "less than or equal to 5")
    data = _data("CollectionLetterPosted")
    data["transactions"].pop()
    _rejects(letters.CollectionLetterPostedData, data, "sums of the transactions")


def test_activity_rules() -> None:
    changed = _data("ActivityChanged")
    changed["changes"] = {}
    _rejects(activities.ActivityChangedData, changed, "at least one attribute")
    created = _data("ActivityCreated")
    created["end"] = "2025-01-01T00:00:00Z"
    _rejects(activities.ActivityCreatedData, created, "end precedes start")


def test_summary_and_notification_rules() -> None:
    data = _data("SummaryGenerated")
    data["grounding"] = "failed"
    _rejects(summaries.SummaryGeneratedData, data, "needs at least one reason")
    data["grounding_reasons"] = ["figure USD 1,245.78 not found in facts"]
    summaries.SummaryGeneratedData.model_validate(data)
    data = _data("WebhookDelivered")
    data["status_code"] = 500
    _rejects(notifications.WebhookDeliveredData, data, "less than or equal to 299")


def test_business_dates_are_dates_and_timestamps_are_utc() -> None:
    invoice = _by_type("InvoicePosted").data
    assert isinstance(invoice, invoices.InvoicePostedData)
    for value in (invoice.posting_date, invoice.document_date, invoice.due_date):
        assert type(value) is date
    for event in SAMPLES:
        assert event.occurred_at.utcoffset() is not None
        assert event.occurred_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_modules_export_only_their_own_events() -> None:
    for module in MODULES:
        assert isinstance(module, types.ModuleType)
        for cls in module.EVENTS:
            assert cls.__module__ == module.__name__


def test_unknown_fields_from_a_newer_producer_are_ignored() -> None:
    invoice = _by_type("InvoicePosted")
    doc = json.loads(invoice.model_dump_json())
    doc["added_later"] = "x"
    doc["data"]["added_later_too"] = {"nested": 1}
    assert parse_event(doc) == invoice
