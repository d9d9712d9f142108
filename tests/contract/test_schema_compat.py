"""Backward compatibility of the event contract against the checked-in lock file."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from arrears.shared.events.registry import ALL_EVENTS
from arrears.shared.schema_export import (
    LOCK_PATH,
    check_compatible,
    dump_json,
    load_lock,
    snapshot,
    update_lock,
    write_lock,
)

pytestmark = pytest.mark.unit

UPDATE_HINT = "record the new event versions and optional fields with `./arrears schema lock`"


def _field(type_: str, required: bool) -> dict[str, Any]:
    return {"type": type_, "required": required}


def _locked() -> dict[str, Any]:
    """A small lock: one event with a required amount and an optional nested note."""
    return {
        "lock_format": 1,
        "events": {
            "Thing.v1": {
                "topic": "arrears.things.v1",
                "fields": {
                    "event_id": _field("string(uuid)", True),
                    "data": _field("object", True),
                    "data.amount": _field("object", True),
                    "data.amount.amount": _field("string(decimal)", True),
                    "data.amount.currency": _field("string", True),
                    "data.note": _field("null|string", False),
                    "data.lines": _field("array<object>", True),
                    "data.lines[].transaction_id": _field("string", True),
                },
            }
        },
    }


def _fields(lock: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = lock["events"]["Thing.v1"]["fields"]
    return fields


# ---------------------------------------------------------------------------- the real contract


def test_current_models_are_compatible_with_the_lock() -> None:
    violations = check_compatible(load_lock(), snapshot())
    assert violations == [], (
        "Breaking change to a published event version. Restore the field, or publish the "
        "change as a new schema_version (a new class) and leave the old one as it is:\n"
        + "\n".join(violations)
    )


def test_lock_records_every_current_event_version_and_field() -> None:
    locked = load_lock()
    assert update_lock(locked, snapshot()) == locked, f"the contract lock is behind; {UPDATE_HINT}"
    assert set(locked["events"]) == {f"{cls.__name__}.v1" for cls in ALL_EVENTS}


def test_lock_file_is_canonical_json() -> None:
    assert LOCK_PATH.read_text(encoding="utf-8") == dump_json(load_lock())


def test_snapshot_flattens_nested_models_and_arrays() -> None:
    fields = snapshot()["events"]["PaymentSettled.v1"]["fields"]
    assert fields["data.amount.amount"] == _field("string(decimal)", True)
    assert fields["data.settlement_date"] == _field("string(date)", True)
    assert fields["data.allocations"] == _field("array<object>", True)
    assert fields["data.allocations[].transaction_id"] == _field("string", True)
    assert fields["data.allocations[].exchange_adjustment"] == _field("null|object", False)
    assert fields["occurred_at"] == _field("string(date-time)", True)
    assert fields["correlation_id"] == _field("null|string", False)


def test_real_snapshot_detects_a_removed_payload_field() -> None:
    current = snapshot()
    del current["events"]["InvoicePosted.v1"]["fields"]["data.due_date"]
    assert check_compatible(load_lock(), current) == [
        "InvoicePosted.v1: field data.due_date removed"
    ]


# ---------------------------------------------------------------------------- check_compatible


def test_identical_snapshots_are_compatible() -> None:
    assert check_compatible(_locked(), _locked()) == []


def test_removing_a_field_is_caught() -> None:
    current = _locked()
    del _fields(current)["data.note"]
    assert check_compatible(_locked(), current) == ["Thing.v1: field data.note removed"]


def test_removing_an_event_version_is_caught() -> None:
    current = _locked()
    current["events"] = {}
    assert check_compatible(_locked(), current) == ["Thing.v1: event version removed"]


def test_retyping_a_field_is_caught() -> None:
    current = _locked()
    _fields(current)["data.amount.amount"] = _field("number", True)
    assert check_compatible(_locked(), current) == [
        "Thing.v1: field data.amount.amount changed type from string(decimal) to number"
    ]


def test_making_a_field_nullable_is_a_type_change() -> None:
    current = _locked()
    _fields(current)["data.lines[].transaction_id"] = _field("null|string", True)
    assert len(check_compatible(_locked(), current)) == 1


def test_making_an_optional_field_required_is_caught() -> None:
    current = _locked()
    _fields(current)["data.note"] = _field("null|string", True)
    assert check_compatible(_locked(), current) == [
        "Thing.v1: optional field data.note made required"
    ]


def test_adding_a_required_field_is_caught() -> None:
    current = _locked()
    _fields(current)["data.reason"] = _field("string", True)
    assert check_compatible(_locked(), current) == [
        "Thing.v1: new required field data.reason in an existing version"
    ]


def test_adding_a_required_field_to_existing_nested_models_is_caught() -> None:
    current = _locked()
    _fields(current)["data.amount.scale"] = _field("integer", True)
    _fields(current)["data.lines[].amount"] = _field("object", True)
    assert check_compatible(_locked(), current) == [
        "Thing.v1: new required field data.amount.scale in an existing version",
        "Thing.v1: new required field data.lines[].amount in an existing version",
    ]


def test_adding_an_optional_field_is_fine() -> None:
    current = _locked()
    _fields(current)["data.reference"] = _field("null|string", False)
    assert check_compatible(_locked(), current) == []


def test_adding_an_optional_nested_model_with_required_fields_is_fine() -> None:
    current = _locked()
    _fields(current)["data.discount"] = _field("null|object", False)
    _fields(current)["data.discount.amount"] = _field("string(decimal)", True)
    assert check_compatible(_locked(), current) == []


def test_new_event_types_and_versions_are_fine() -> None:
    current = _locked()
    current["events"]["Thing.v2"] = {"topic": "arrears.things.v1", "fields": {}}
    current["events"]["Other.v1"] = copy.deepcopy(current["events"]["Thing.v1"])
    assert check_compatible(_locked(), current) == []


def test_moving_an_event_to_another_topic_is_caught() -> None:
    current = _locked()
    current["events"]["Thing.v1"]["topic"] = "arrears.other.v1"
    assert check_compatible(_locked(), current) == [
        "Thing.v1: moved from topic arrears.things.v1 to arrears.other.v1"
    ]


# ---------------------------------------------------------------------------- update_lock


def test_update_lock_adds_new_versions_and_optional_fields_only() -> None:
    current = _locked()
    _fields(current)["data.reference"] = _field("null|string", False)
    _fields(current)["data.discount"] = _field("null|object", False)
    _fields(current)["data.discount.amount"] = _field("string(decimal)", True)
    _fields(current)["data.reason"] = _field("string", True)  # incompatible: not recorded
    _fields(current)["data.amount.amount"] = _field("number", True)  # retyped: not rewritten
    del _fields(current)["data.note"]  # removed: stays locked
    current["events"]["Thing.v2"] = {"topic": "arrears.things.v1", "fields": {}}

    locked = _locked()
    updated = update_lock(locked, current)

    assert locked == _locked(), "update_lock must not modify its argument"
    assert set(updated["events"]) == {"Thing.v1", "Thing.v2"}
    fields = _fields(updated)
    assert fields["data.reference"] == _field("null|string", False)
    assert fields["data.discount.amount"] == _field("string(decimal)", True)
    assert "data.reason" not in fields
    assert fields["data.amount.amount"] == _field("string(decimal)", True)
    assert fields["data.note"] == _field("null|string", False)
    assert check_compatible(updated, current) == [
        "Thing.v1: field data.amount.amount changed type from string(decimal) to number",
        "Thing.v1: field data.note removed",
        "Thing.v1: new required field data.reason in an existing version",
    ]


def test_update_lock_from_nothing_records_the_snapshot() -> None:
    current = snapshot()
    assert update_lock({}, current) == current


def test_write_lock_creates_then_only_adds(tmp_path: Path) -> None:
    path = tmp_path / "lock.json"
    added = write_lock(path)
    assert len(added) == len(ALL_EVENTS)
    assert load_lock(path) == snapshot()
    assert write_lock(path) == []

    locked = load_lock(path)
    del locked["events"]["InvoicePosted.v1"]["fields"]["data.voucher"]
    del locked["events"]["FeeWaived.v1"]
    path.write_text(dump_json(locked))
    assert write_lock(path) == ["FeeWaived.v1", "InvoicePosted.v1:data.voucher"]
    assert load_lock(path) == snapshot()
