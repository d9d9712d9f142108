"""Activities: create, change, close one or many."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from arrears.ledger.domain import Conflict, NotFound, Rejected
from arrears.ledger.domain import commands as c
from arrears.shared.events import activities as ac
from tests.unit.ledger import Book

pytestmark = pytest.mark.unit

START = datetime(2025, 3, 3, 9, tzinfo=UTC)


def activity(book: Book, **fields: object) -> str:
    data = book.one(
        c.CreateActivity,
        **{"purpose": "Call about INV-1", "responsible": "sara", "start": START, **fields},
    )
    return str(data.activity_id)


def test_create_an_activity() -> None:
    book = Book().register()
    invoice = book.invoice("100")
    data = book.one(
        c.CreateActivity,
        kind="appointment",
        purpose="Meet AP",
        responsible="sara",
        category="Meeting",
        start=START,
        end=START + timedelta(hours=1),
        memo="Bring statements",
        related_transaction_ids=[invoice],
    )
    assert isinstance(data, ac.ActivityCreatedData)
    assert data.activity_id.startswith("ACT-") and data.kind is ac.ActivityKind.APPOINTMENT
    assert book.events[-1].occurred_at == book.now
    stored = book.state.activities[data.activity_id]
    assert (stored.purpose, stored.closed, stored.related_transaction_ids) == (
        "Meet AP", False, (invoice,),
    )  # fmt: skip


def test_creation_rules() -> None:
    book = Book().register()
    assert activity(book, activity_id="act-1") == "act-1"
    with pytest.raises(Conflict, match="activity_already_exists"):
        activity(book, activity_id="act-1")
    with pytest.raises(NotFound, match="unknown_transaction"):
        activity(book, related_transaction_ids=["nope"])
    with pytest.raises(Rejected, match="invalid_period"):
        activity(book, end=START - timedelta(minutes=1))


def test_change_records_only_what_differs() -> None:
    book = Book().register()
    act = activity(book)
    later = START.astimezone(timezone(timedelta(hours=2))) + timedelta(days=1)
    data = book.one(c.ChangeActivity, activity_id=act, purpose="Call about INV-1", start=later)
    assert data.changes.model_dump(exclude_none=True) == {"start": later.astimezone(UTC)}
    assert book.state.activities[act].start == later
    assert book.decide(c.ChangeActivity, activity_id=act, start=later) == []
    with pytest.raises(Rejected, match="nothing_to_change"):
        book.decide(c.ChangeActivity, activity_id=act)
    with pytest.raises(Rejected, match="invalid_period"):
        book.decide(c.ChangeActivity, activity_id=act, end=START)
    with pytest.raises(NotFound, match="unknown_activity"):
        book.decide(c.ChangeActivity, activity_id="nope", purpose="x")
    with pytest.raises(NotFound, match="unknown_transaction"):
        book.decide(c.ChangeActivity, activity_id=act, related_transaction_ids=["nope"])


def test_close_one_or_many_all_or_nothing() -> None:
    book = Book().register()
    first, second, third = activity(book), activity(book), activity(book)
    events = book.run(c.CloseActivities, activity_ids=[first, second], memo="done")
    assert [(e.type, e.data.activity_id) for e in events] == [
        ("ActivityClosed", first),
        ("ActivityClosed", second),
    ]
    assert events[0].data.closed_at == book.now
    assert book.state.activities[first].closed
    with pytest.raises(Conflict) as caught:
        book.decide(c.CloseActivities, activity_ids=[third, first])
    assert caught.value.code == "activity_already_closed"
    assert not book.state.activities[third].closed
    with pytest.raises(NotFound, match="unknown_activity"):
        book.decide(c.CloseActivities, activity_ids=[third, "nope"])
    with pytest.raises(Rejected, match="duplicate_activity"):
        book.decide(c.CloseActivities, activity_ids=[third, third])
    with pytest.raises(Conflict, match="activity_already_closed"):
        book.decide(c.ChangeActivity, activity_id=first, purpose="x")
    at = datetime(2025, 3, 4, 12, tzinfo=UTC)
    (event,) = book.run(c.CloseActivities, activity_ids=[third], outcome="cancelled", closed_at=at)
    assert event.occurred_at == at and event.data.outcome is ac.ActivityOutcome.CANCELLED
