"""Properties over random histories (hypothesis): the facts do not depend on delivery order or
redelivery, open amounts are aging's (and the ledger's) in any delivery order, and the
deterministic writers always pass their own grounding check."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.shared.events.customers import Contact
from arrears.summary.domain import (
    ReminderRefused,
    check,
    compute_facts,
    draft_reminder,
    items,
    write_summary,
)
from tests.unit.aging import Story, arrivals
from tests.unit.aging.reference import MemoryProjection
from tests.unit.aging.test_properties import stories
from tests.unit.summary import (
    AGED_UNTIL,
    INJECTION,
    activity,
    aging_event,
    open_items_published,
    sheet_of,
)
from tests.unit.summary.reference import MemoryReadModel
from tests.unit.summary.test_facts import TODAY, regular

pytestmark = pytest.mark.unit

PROFILE = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAMES = (
    "Contoso Retail",
    "3M Deutschland GmbH",
    "Route 66 Diner 2024",
    "A-1 Supplies",
    "<script>alert(1)</script> GmbH",
    "O'Neil & Söhne",
)
cents = st.integers(min_value=-50_000, max_value=2_000_000).map(lambda n: Decimal(n) / 100)


@st.composite
def agings(draw: Any, story: Story) -> Any:
    periods = draw(st.lists(cents, min_size=1, max_size=6))
    balance = sum(periods, Decimal(0))
    limit = draw(st.none() | st.sampled_from(["5000.00", "25000.00"]))
    return aging_event(
        story,
        revision=draw(st.integers(1, 50)),
        balance=str(balance),
        periods=[str(p) for p in periods],
        credit_limit=limit,
        as_of=story.day,
    )


@st.composite
def customers(draw: Any) -> tuple[Story, list[Any], date]:
    """A random history with a random profile, maybe aged, maybe with a memo, and a today."""
    story = draw(stories(max_size=30))
    story.change_profile(
        name=draw(st.sampled_from(NAMES)),
        language=draw(st.sampled_from(["en", "de", "de-AT", "fr", "nl"])),
        collections_contact=Contact(name="Kim Lee", email="kim@example.test"),
    )
    if draw(st.booleans()):
        activity(story, "Follow up", draw(st.sampled_from([INJECTION, "Pays on Fridays", None])))
    events = list(story.events)
    if draw(st.booleans()):
        events.append(draw(agings(story)))
    today = story.last_day + timedelta(days=draw(st.integers(0, 400)))
    return story, events, today


@PROFILE
@given(stories(), st.integers(0, 2**32 - 1))
def test_facts_do_not_depend_on_delivery_order_or_redelivery(story: Story, seed: int) -> None:
    today = story.last_day + timedelta(days=15)
    in_order = sheet_of(story.events, today, story)
    shuffled = sheet_of(arrivals(story.events, seed, redeliver=0.3), today, story)
    assert shuffled == in_order


@PROFILE
@given(stories(), st.integers(0, 2**32 - 1))
def test_open_amounts_are_agings_in_any_delivery_order(story: Story, seed: int) -> None:
    """Summary holds aging's open amounts: what aging publishes revision by revision, delivered
    in any order and redelivered, ends as aging's final amounts, and those are the ledger's."""
    published = open_items_published(story.events)
    delivered = arrivals([*story.events, *published], seed, redeliver=0.3)
    model = MemoryReadModel().apply_all(delivered)
    state = items(model.history(story.company, story.customer_id))
    aging = MemoryProjection()
    for event in story.events:
        aging.apply(event)
    held = aging.open_amounts(story.company, story.customer_id, AGED_UNTIL)
    oracle = story.open_as_of(story.last_day)
    summary = {i.transaction_id: i.open_amount for i in state}
    assert summary == {tid: amounts.txn for tid, amounts in held.items()}
    assert summary == {tid: txn for tid, (_, txn) in oracle.items()}


@PROFILE
@given(customers())
def test_the_template_always_passes_its_own_grounding_check(case: Any) -> None:
    story, events, today = case
    sheet = sheet_of(events, today, story)
    text = write_summary(sheet)
    result = check(text, sheet)
    assert result.passed, (result.reasons, text)
    assert text == write_summary(sheet)


@PROFILE
@given(customers(), st.sampled_from([None, "en", "de"]))
def test_reminder_drafts_always_pass_the_grounding_check(case: Any, language: Any) -> None:
    story, events, today = case
    sheet = sheet_of(events, today, story)
    try:
        draft = draft_reminder(sheet, language=language)
    except ReminderRefused as refused:
        assert refused.code == "nothing_overdue"
        return
    result = check(f"{draft.subject}\n{draft.body}", draft.facts)
    assert result.passed, (result.reasons, draft.subject, draft.body)
    assert draft.language == (language or ("de" if sheet.language.startswith("de") else "en"))


def test_wording_varies_with_the_position_and_is_stable_for_one_position() -> None:
    story, _ = regular()
    aging = aging_event(story, revision=3, balance="800.00", periods=["0", "800.00"])
    model = MemoryReadModel().apply_all([*story.events, aging])
    sheet = compute_facts(model.history(story.company, story.customer_id), TODAY)
    texts = {write_summary(dataclasses.replace(sheet, position=p)) for p in range(1, 30)}
    assert len(texts) >= 4
    assert write_summary(sheet) == write_summary(dataclasses.replace(sheet))
    for text in texts:
        assert check(text, sheet).passed
