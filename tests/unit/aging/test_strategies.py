"""Collection strategies in the domain: steps and their offsets, validation with reasons,
the conditions."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from arrears.aging.domain import Conditions, InvalidStrategy, Strategy

pytestmark = pytest.mark.unit

ISSUE_EXAMPLE: dict[str, Any] = {
    "steps": [
        {"kind": "reminder_email", "days": -3},
        {"kind": "reminder_email", "days": 3},
        {"kind": "letter", "level": 1, "days": 15},
        {"kind": "call", "days": 5, "relative_to": "previous_step"},
        {"kind": "letter", "level": 2, "days": 30},
        {"kind": "escalate", "days": 45},
        {"kind": "credit_hold", "days": 15, "relative_to": "previous_step"},
        {
            "kind": "write_off_proposal",
            "days": 180,
            "conditions": {"min_amount": "50", "skip_disputed": False},
        },
    ]
}


def test_offsets_add_up_steps_relative_to_the_previous_one() -> None:
    strategy = Strategy.from_dict(ISSUE_EXAMPLE)
    assert strategy.offsets == (-3, 3, 15, 20, 30, 45, 60, 180)
    assert strategy.steps[2].level == 1 and strategy.steps[3].level is None
    last = strategy.steps[-1].conditions
    assert last.min_amount == Decimal(50) and not last.skip_disputed and last.skip_promised


def test_a_strategy_round_trips_through_its_document() -> None:
    strategy = Strategy.from_dict(ISSUE_EXAMPLE)
    assert Strategy.from_dict(strategy.as_dict()) == strategy


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        ([], "non-empty"),
        ([{"kind": "fax", "days": 1}], "steps[0].kind must be one of"),
        ([{"kind": "call", "days": 3, "relative_to": "previous_step"}], "no previous step"),
        ([{"kind": "call", "days": 3}, {"kind": "call", "days": 3}], "date order"),
        ([{"kind": "call", "days": 9}, {"kind": "call", "days": 3}], "date order"),
        (
            [
                {"kind": "call", "days": 3},
                {"kind": "call", "days": 0, "relative_to": "previous_step"},
            ],
            "at least 1 after the previous step",
        ),
        ([{"kind": "letter", "days": 3}], "a letter needs its level"),
        ([{"kind": "letter", "days": 3, "level": 6}], "level must be between 1 and 5"),
        ([{"kind": "call", "days": 3, "level": 1}], "only a letter has a level"),
        ([{"kind": "call", "days": 1.5}], "whole number of days"),
        ([{"kind": "call", "days": 4000}], "whole number of days"),
        ([{"kind": "call", "days": 3, "when": "now"}], "unknown keys ['when']"),
        ([{"kind": "call", "days": 3, "relative_to": "invoice"}], "relative_to must be"),
        ([{"kind": "call", "days": 3, "conditions": {"min_amount": 10.5}}], "decimal number"),
        ([{"kind": "call", "days": 3, "conditions": {"min_amount": "-1"}}], "must not be negative"),
        ([{"kind": "call", "days": 3, "conditions": {"min_risk_score": "1001"}}], "between 0"),
        (
            [{"kind": "call", "days": 3, "conditions": {"min_risk_score": 9, "max_risk_score": 2}}],
            "min_risk_score exceeds max_risk_score",
        ),
        ([{"kind": "call", "days": 3, "conditions": {"segments": "A"}}], "segments must be a list"),
        ([{"kind": "call", "days": 3, "conditions": {"skip_disputed": "no"}}], "true or false"),
        (
            [
                {"kind": "call", "days": 3000},
                {"kind": "call", "days": 3000, "relative_to": "previous_step"},
            ],
            "within 3650 days",
        ),
    ],
)
def test_invalid_strategies_are_refused_with_a_reason(steps: list[Any], reason: str) -> None:
    with pytest.raises(InvalidStrategy, match=re.escape(reason)) as raised:
        Strategy.from_dict({"steps": steps})
    assert raised.value.code == "invalid_strategy" and raised.value.status == 422


def test_conditions_all_hold_or_the_step_is_skipped() -> None:
    default = Conditions()
    assert default.admits(Decimal(1), None, None, None)
    assert not default.admits(Decimal(1), "disputed", None, None)
    assert not default.admits(Decimal(1), "promised_to_pay", None, None)
    assert default.admits(Decimal(1), "resolved", None, None)
    strict = Conditions(
        min_amount=Decimal(100),
        min_risk_score=Decimal(300),
        max_risk_score=Decimal(700),
        segments=("RETAIL",),
        skip_disputed=False,
    )
    assert strict.admits(Decimal(100), "disputed", Decimal(300), "RETAIL")
    assert not strict.admits(Decimal("99.99"), None, Decimal(500), "RETAIL")
    assert not strict.admits(Decimal(100), None, None, "RETAIL")  # no risk score: fails
    assert not strict.admits(Decimal(100), None, Decimal(701), "RETAIL")
    assert not strict.admits(Decimal(100), None, Decimal(500), "WHOLESALE")
    assert not strict.admits(Decimal(100), None, Decimal(500), None)
