"""Activities: patches folded in sequence order whatever their arrival order; overdue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.shared.events import activities as ac
from arrears.shared.events.envelope import Event, Payload, event_types_of
from arrears.shared.events.samples import samples_by_type
from arrears.timeline.domain import (
    EntryType,
    activity_entry,
    fold,
    is_overdue,
    overdue_as_json,
    patch_of,
    project,
)

pytestmark = pytest.mark.unit

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)
SAMPLES = samples_by_type()


def event(cls: type[Event], sequence: int, data: Payload) -> Event:
    type_name, version = event_types_of(cls)
    at = T0 + timedelta(minutes=sequence)
    return cls(
        type=type_name,
        schema_version=version,
        event_id=uuid.UUID(int=sequence),
        company="usmf",
        customer_id="C-1",
        sequence=sequence,
        occurred_at=at,
        recorded_at=at,
        actor=f"agent-{sequence}",
        data=data,
    )


def test_the_sample_activity_folds_to_its_final_state() -> None:
    events = [SAMPLES[t] for t in ("ActivityCreated", "ActivityChanged", "ActivityClosed")]
    patches = [patch_of(e) for e in events]
    state = fold(p for p in patches if p is not None)
    assert state is not None
    created = SAMPLES["ActivityCreated"]
    assert (state.created_sequence, state.sequence) == (created.sequence, created.sequence + 2)
    assert state.start == datetime(2025, 5, 17, 8, tzinfo=UTC)  # the change moved it
    assert state.due == state.end == datetime(2025, 5, 17, 9, tzinfo=UTC)
    assert (state.responsible, state.category, state.kind) == ("sara.collins", "Call", "task")
    assert not state.is_open and state.outcome == "completed"
    assert state.closing_memo == "Reached Anna Schmidt; payment to be re-sent this week."
    assert state.memo_included and state.related_transaction_ids == ("ct-000101", "ct-000105")
    assert all(project(e).entry is None for e in events)


def test_nothing_exists_before_its_creation_is_known() -> None:
    closed = patch_of(SAMPLES["ActivityClosed"])
    assert closed is not None and fold([closed]) is None
    assert fold([]) is None
    assert patch_of(SAMPLES["InvoicePosted"]) is None


def test_the_timeline_entry_of_an_activity() -> None:
    patches = [patch_of(SAMPLES[t]) for t in ("ActivityCreated", "ActivityChanged")]
    state = fold(p for p in patches if p is not None)
    assert state is not None
    entry = activity_entry(state)
    assert (entry.type, entry.sequence, entry.event_id) == (
        EntryType.ACTIVITY,
        SAMPLES["ActivityCreated"].sequence,
        SAMPLES["ActivityCreated"].event_id,
    )
    assert entry.at == state.due and entry.entry_date == state.due.date()
    assert entry.details["state"] == "open" and entry.details["due"] == "2025-05-17T09:00:00Z"
    assert entry.details["memo"] == SAMPLES["ActivityCreated"].data.memo
    assert overdue_as_json(entry.details, state.due + timedelta(seconds=1))
    assert not overdue_as_json(entry.details, state.due)
    closed = patch_of(SAMPLES["ActivityClosed"])
    assert closed is not None
    done = fold([*(p for p in patches if p is not None), closed])
    assert done is not None
    assert not overdue_as_json(activity_entry(done).details, state.due + timedelta(days=9))


def test_overdue_is_open_and_due_before_now() -> None:
    due = T0
    assert is_overdue(True, due, due + timedelta(seconds=1))
    assert not is_overdue(True, due, due)
    assert not is_overdue(False, due, due + timedelta(days=1))
    created = patch_of(
        event(
            ac.ActivityCreated,
            1,
            ac.ActivityCreatedData(
                activity_id="a", kind="task", purpose="p", responsible="r", start=T0
            ),
        )
    )
    assert created is not None
    state = fold([created])
    assert state is not None and state.end is None and state.due == T0  # no end: its start
    assert state.overdue(T0 + timedelta(minutes=1)) and not state.memo_included


moments = st.integers(min_value=0, max_value=500).map(lambda n: T0 + timedelta(hours=n))
changes: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {},
    optional={
        "purpose": st.sampled_from(["Call", "Visit", "<b>Write</b>"]),
        "responsible": st.sampled_from(["anna", "ben", "cy"]),
        "category": st.sampled_from(["Call", "Email"]),
        "priority": st.sampled_from(["low", "high"]),
        "memo": st.text(max_size=20),
        "related_transaction_ids": st.lists(st.sampled_from(["t1", "t2", "t3"]), max_size=2),
        "kind": st.sampled_from(list(ac.ActivityKind)),
        "start": moments,
        "end": moments,
    },
).filter(bool)
histories = st.tuples(
    moments,
    st.lists(changes, max_size=6),
    st.booleans(),
    st.randoms(use_true_random=False),
)


@settings(max_examples=150, deadline=None)
@given(histories)
def test_the_fold_is_the_sequential_state_whatever_the_arrival_order(history: Any) -> None:
    start, edits, close, rng = history
    created = ac.ActivityCreatedData(
        activity_id="a-1",
        kind="task",
        purpose="Call",
        responsible="anna",
        start=start,
        memo="first",
    )
    events = [event(ac.ActivityCreated, 1, created)]
    oracle: dict[str, Any] = created.model_dump()
    for edit in edits:
        try:
            data = ac.ActivityChangedData(activity_id="a-1", changes=ac.ActivityChanges(**edit))
        except ValueError:
            continue
        events.append(event(ac.ActivityChanged, len(events) + 1, data))
        oracle.update({k: tuple(v) if isinstance(v, list) else v for k, v in edit.items()})
    if close:
        closing = ac.ActivityClosedData(
            activity_id="a-1", closed_at=T0, outcome=ac.ActivityOutcome.CANCELLED, memo="bye"
        )
        events.append(event(ac.ActivityClosed, len(events) + 1, closing))
    patches = [p for e in events if (p := patch_of(e)) is not None]
    state = fold(rng.sample(patches, len(patches)))
    assert state is not None
    assert state == fold(patches)
    for name in ("purpose", "responsible", "category", "priority", "memo", "start", "end"):
        assert getattr(state, name) == oracle.get(name), name
    assert state.kind == oracle["kind"]
    assert state.related_transaction_ids == tuple(oracle["related_transaction_ids"])
    assert state.is_open is not close and state.sequence == len(events)
    assert state.changed_at == events[-1].occurred_at and state.created_by == "agent-1"
