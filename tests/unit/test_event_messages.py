"""The fast decoder: the contract's Structs accept only what the models accept, with equal
values, and a consumer reading a record refuses exactly what the models refuse."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field, TypeAdapter, ValidationError

from arrears.shared.codec import encode, read
from arrears.shared.events.envelope import Event
from arrears.shared.events.messages import (
    as_json,
    decimal_text,
    decode_message,
    message_class,
    message_of,
)
from arrears.shared.events.registry import ALL_EVENTS, ContractViolation
from arrears.shared.events.samples import sample_events

pytestmark = pytest.mark.unit

SAMPLES = sample_events()
SAMPLE_IDS = [event.type for event in SAMPLES]


def _fast(cls: type[Event], value: bytes) -> Any:
    try:
        return decode_message(cls, value)
    except (msgspec.MsgspecError, ValueError, TypeError, AttributeError):
        return None


def _slow(cls: type[Event], value: bytes) -> Event | None:
    try:
        return cls.model_validate_json(value)
    except ValidationError:
        return None


def test_every_event_class_has_its_struct() -> None:
    for cls in ALL_EVENTS:
        struct = message_class(cls)
        assert struct.__name__ == cls.__name__ and struct.model is cls
        assert set(struct.__struct_fields__) == set(cls.model_fields)
        assert struct.topic is cls.topic  # type: ignore[attr-defined]


@pytest.mark.parametrize("event", SAMPLES, ids=SAMPLE_IDS)
def test_a_valid_event_decodes_to_the_same_values(event: Event) -> None:
    message = decode_message(type(event), event.model_dump_json().encode())
    assert message == message_of(event)
    assert as_json(message) == event.model_dump(mode="json", exclude_none=True)
    assert as_json(message, keep_none=True) == event.model_dump(mode="json")
    assert message.stream == event.stream and message.event_id == event.event_id


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document (object members and array items)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*path, index)
            yield from _paths(item, (*path, index))


TRICKY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "x\n",
        "12.5",
        "-0.01",
        "1e3",
        " 1",
        "1_000",
        "NaN",
        "Infinity",
        "0.0000001",
        "1.500000000",
        "1234567890123456789.5",
        "2026-03-01",
        "2026-03-01T09:00:00Z",
        "2026-03-01T09:00:00+02:00",
        "2026-03-01T09:00:00",
        "2026-03-01T09:00:00.1234567Z",
        "2026-02-30T09:00:00Z",
        "2026-03-01 09:00:00Z",
        "0196957b-2dc0-77a6-be99-3685adfc965d",
        "0196957b2dc077a6be993685adfc965d",
        "usmf",
        "us/mf",
        "EUR",
        "eur",
        "promised_to_pay",
        "disputed",
        "task",
        "a" * 65,
    ]
)
JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    TRICKY_TEXT,
    st.text(max_size=8),
    st.just([]),
    st.just({}),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_what_the_structs_accept_the_models_accept_with_equal_values(data: Any) -> None:
    event = data.draw(st.sampled_from(SAMPLES))
    cls = type(event)
    doc = json.loads(event.model_dump_json())
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(list(_paths(doc))))
        target = doc
        for key in path[:-1]:
            target = target[key]
        if isinstance(target, dict) and data.draw(st.booleans()):
            del target[path[-1]]
        else:
            target[path[-1]] = data.draw(JSON_VALUES)
        if not any(True for _ in _paths(doc)):
            break
    value = json.dumps(doc).encode()
    fast, slow = _fast(cls, value), _slow(cls, value)
    if fast is not None:
        assert slow is not None, f"the Struct accepted what the model refuses: {value!r}"
        assert fast == message_of(slow)
        assert as_json(fast) == slow.model_dump(mode="json", exclude_none=True)


@settings(max_examples=400, deadline=None)
@given(
    text=st.from_regex(r"\A-?[0-9]{1,22}(\.[0-9]{1,14})?\Z")
    | st.text(alphabet="0123456789.-+eE_ ", max_size=30),
    places=st.sampled_from([(24, 6), (24, 12)]),
)
def test_amount_text_is_never_more_lenient_than_the_model(
    text: str, places: tuple[int, int]
) -> None:
    max_digits, decimal_places = places
    model = TypeAdapter(
        Annotated[
            Decimal,
            Field(max_digits=max_digits, decimal_places=decimal_places, allow_inf_nan=False),
        ]
    )
    struct = msgspec.json.Decoder(
        Annotated[str, msgspec.Meta(pattern=decimal_text(max_digits, decimal_places))]
    )
    try:
        accepted = struct.decode(json.dumps(text).encode())
    except msgspec.ValidationError:
        return
    assert model.validate_json(json.dumps(text)) == Decimal(accepted)


def _record(event: Event) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
    wire = encode(event, "test")
    return wire.value, [(k, v.encode()) for k, v in wire.headers.items()], wire.key


def test_read_takes_the_struct_path_and_agrees_with_the_headers() -> None:
    event = next(e for e in SAMPLES if e.type == "PaymentSettled")
    value, headers, key = _record(event)
    message, validated = read(value, headers, key)
    assert validated is None and message == message_of(event)

    other = [
        (k, b"0196957b-2dc0-77a6-be99-3685adfc965d" if k == "ce_id" else v) for k, v in headers
    ]
    with pytest.raises(ContractViolation, match="does not match event_id"):
        read(value, other, key)
    with pytest.raises(ContractViolation, match="does not match stream"):
        read(value, headers, b"usmf/SOMEONE-ELSE")


def test_read_lets_the_models_decide_what_the_structs_refuse() -> None:
    event = next(e for e in SAMPLES if e.type == "InvoicePosted")
    value, headers, key = _record(event)
    doc = json.loads(value)

    shifted = copy.deepcopy(doc)
    shifted["occurred_at"] = "2025-05-03T11:30:00+02:00"  # valid, but not as the ledger writes
    message, validated = read(json.dumps(shifted).encode(), headers, key)
    assert validated is not None and message == message_of(validated)
    assert message.occurred_at == validated.occurred_at

    unequal = copy.deepcopy(doc)
    unequal["data"]["accounting_amount"] = {"amount": "1200.00", "currency": "EUR"}
    with pytest.raises(
        ContractViolation, match=r"(?s)InvoicePosted v1 invalid.*both in EUR but differ"
    ):
        read(json.dumps(unequal).encode(), headers, key)

    other_type = copy.deepcopy(doc)
    other_type["type"] = "PaymentReceived"
    with pytest.raises(ContractViolation, match="invalid"):
        read(json.dumps(other_type).encode(), headers, key)
    with pytest.raises(ContractViolation, match="not JSON"):
        read(b"{not json", [], key)
    with pytest.raises(ContractViolation, match="empty message value"):
        read(None, headers, key)
