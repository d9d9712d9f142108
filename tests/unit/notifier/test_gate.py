"""The outbound gate's rules: each refuses with its own reason, none when the message may go."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from arrears.notifier.gate import CustomerFacts, ItemStatus, Message, Policy, decide

pytestmark = pytest.mark.unit

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
REMINDER = Message("reminder")
DEFAULT = Policy()


def codes(facts: CustomerFacts, message: Message = REMINDER, policy: Policy = DEFAULT) -> list[str]:
    return [r.code for r in decide(policy, facts, message, NOW).refusals]


def item(
    tid: str, status: str | None, promise: date | None = None, state: str | None = None
) -> ItemStatus:
    return ItemStatus(tid, status, promise, state)


def test_a_customer_with_nothing_against_it_may_be_contacted() -> None:
    decision = decide(Policy(), CustomerFacts(), REMINDER, NOW)
    assert decision.allowed and decision.reasons() == []


def test_do_not_contact_refuses_every_message() -> None:
    assert codes(CustomerFacts(do_not_contact=True)) == ["do_not_contact"]
    assert codes(CustomerFacts(do_not_contact=True), Message("letter")) == ["do_not_contact"]


def test_a_disputed_covered_item_refuses_and_names_it() -> None:
    facts = CustomerFacts(items=[item("INV-2", "disputed"), item("INV-1", "resolved")])
    decision = decide(Policy(), facts, REMINDER, NOW)
    assert [r.code for r in decision.refusals] == ["disputed"]
    assert decision.words() == "disputed: INV-2"


def test_only_the_covered_items_count_when_the_message_names_them() -> None:
    facts = CustomerFacts(items=[item("INV-2", "disputed")])
    assert codes(facts, Message("reminder", ("INV-1",))) == []
    assert codes(facts, Message("reminder", ("INV-2",))) == ["disputed"]


def test_an_open_promise_refuses_and_an_active_one_refuses_any_message() -> None:
    promised = item("INV-3", "promised_to_pay", NOW.date() + timedelta(days=5), "open")
    facts = CustomerFacts(items=[promised])
    assert codes(facts) == ["promised", "promise_active"]
    # about another transaction: the promise still stands for the customer
    assert codes(facts, Message("reminder", ("INV-9",))) == ["promise_active"]
    overdue = item("INV-3", "promised_to_pay", NOW.date() - timedelta(days=1), "open")
    assert codes(CustomerFacts(items=[overdue]), Message("reminder", ("INV-9",))) == []
    broken = item("INV-3", "promised_to_pay", NOW.date() - timedelta(days=1), "broken")
    assert codes(CustomerFacts(items=[broken])) == []


def test_the_frequency_cap_counts_the_rolling_seven_days() -> None:
    inside = [NOW - timedelta(days=d) for d in (0, 3, 6.9)]
    assert codes(CustomerFacts(messages_sent=inside)) == ["frequency_cap"]
    older = [NOW - timedelta(days=d) for d in (0, 3, 7)]
    assert codes(CustomerFacts(messages_sent=older)) == []
    assert codes(CustomerFacts(messages_sent=inside), policy=Policy(max_messages_per_week=4)) == []


def test_letters_keep_their_minimum_interval() -> None:
    facts = CustomerFacts(last_letter_on=NOW.date() - timedelta(days=10))
    decision = decide(Policy(), facts, Message("letter"), NOW)
    assert [r.code for r in decision.refusals] == ["letter_interval"]
    assert str(NOW.date() + timedelta(days=4)) in decision.words()
    assert codes(facts, Message("reminder")) == []
    assert codes(facts, Message("letter"), Policy(min_days_between_letters=10)) == []


def test_a_company_may_switch_the_dispute_and_promise_rules_off() -> None:
    facts = CustomerFacts(
        items=[item("A", "disputed"), item("B", "promised_to_pay", NOW.date(), "open")]
    )
    lenient = Policy(block_disputed=False, block_promised=False)
    assert codes(facts, policy=lenient) == []


def test_every_broken_rule_is_named() -> None:
    facts = CustomerFacts(
        do_not_contact=True,
        items=[item("A", "disputed")],
        messages_sent=[NOW] * 3,
        last_letter_on=NOW.date(),
    )
    assert codes(facts, Message("letter")) == [
        "do_not_contact",
        "disputed",
        "frequency_cap",
        "letter_interval",
    ]


def test_a_reprint_is_held_back_only_by_do_not_contact() -> None:
    facts = CustomerFacts(
        items=[item("A", "disputed"), item("B", "promised_to_pay", NOW.date(), "open")],
        messages_sent=[NOW] * 3,
        last_letter_on=NOW.date(),
    )
    reprint = Message("reprint", ["A"])
    assert codes(facts, reprint) == []
    assert codes(CustomerFacts(do_not_contact=True, items=facts.items), reprint) == [
        "do_not_contact"
    ]
