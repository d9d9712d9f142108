"""The Strategies pages' words and the editor's rows read as the aging service's steps."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.gateway.strategy_views import (
    BLANK_ROW,
    ROW_FIELDS,
    InvalidForm,
    backtest_request,
    conditions_text,
    posted_rows,
    reason_in_words,
    report_view,
    rows_of,
    steps_of,
    trigger_text,
)


def test_triggers_read_as_days_before_or_after() -> None:
    assert trigger_text({"days": 15, "relative_to": "due_date"}) == "+15 days after the due date"
    assert trigger_text({"days": -3, "relative_to": "due_date"}) == "3 days before the due date"
    assert trigger_text({"days": -1}) == "1 day before the due date"
    assert trigger_text({"days": 0}) == "on the due date"
    assert (
        trigger_text({"days": 10, "relative_to": "previous_step"})
        == "+10 days after the previous step"
    )


def test_conditions_read_in_words() -> None:
    assert conditions_text({}) == "not while disputed; not while a promise to pay is open"
    assert conditions_text(
        {
            "min_amount": "50.00",
            "min_risk_score": "200.00",
            "max_risk_score": "800.00",
            "segments": ["Key", "Standard"],
            "skip_disputed": False,
            "skip_promised": True,
        }
    ) == (
        "open amount at least 50.00; risk score 200 to 800; credit group Key or Standard; "
        "also while disputed; not while a promise to pay is open"
    )
    assert conditions_text({"max_risk_score": "700", "skip_promised": False}).startswith(
        "risk score at most 700; not while disputed; also while a promise"
    )


def columns_of(rows: list[dict[str, str]]) -> dict[str, list[str]]:
    return {name: [row[name] for row in rows] for name in ROW_FIELDS}


def test_rows_become_steps_and_blank_rows_are_none() -> None:
    rows = [
        BLANK_ROW | {"kind": "reminder_email", "days": "-3"},
        dict(BLANK_ROW),
        BLANK_ROW
        | {
            "kind": "letter",
            "level": "2",
            "days": " 15 ",
            "min_amount": "1,000.50",
            "segments": "Key,  Standard ,",
            "promised": "act",
        },
    ]
    assert steps_of(posted_rows(columns_of(rows))) == [
        {
            "kind": "reminder_email",
            "days": -3,
            "relative_to": "due_date",
            "conditions": {"skip_disputed": True, "skip_promised": True},
        },
        {
            "kind": "letter",
            "days": 15,
            "relative_to": "due_date",
            "level": 2,
            "conditions": {
                "skip_disputed": True,
                "skip_promised": False,
                "min_amount": "1000.50",
                "segments": ["Key", "Standard"],
            },
        },
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"days": "3"}, "step 1 (row 1): choose what the step does"),
        ({"kind": "call"}, "step 1 (row 1): how many days?"),
        ({"kind": "call", "days": "ten"}, "step 1 (row 1): days must be a whole number"),
        ({"kind": "call", "days": "1.5"}, "days must be a whole number"),
        ({"kind": "call", "days": "3", "min_amount": "lots"}, "the minimum amount must be"),
        ({"kind": "call", "days": "3", "max_risk_score": "NaN"}, "highest risk score must be"),
        ({"kind": "letter", "days": "3", "level": "one"}, "the letter level must be"),
    ],
)
def test_what_a_field_cannot_be_is_refused_in_words(row: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidForm, match=re.escape(reason)):
        steps_of([BLANK_ROW | row])


def test_no_step_and_torn_forms_are_refused() -> None:
    with pytest.raises(InvalidForm, match="at least one step"):
        steps_of([dict(BLANK_ROW)])
    torn = columns_of([dict(BLANK_ROW)]) | {"step_days": []}
    with pytest.raises(InvalidForm, match="incomplete"):
        posted_rows({k.removeprefix("step_"): v for k, v in torn.items()})


step_kinds = st.sampled_from(
    ["reminder_email", "call", "escalate", "credit_hold", "write_off_proposal"]
)


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "kind": step_kinds,
                "days": st.integers(-3650, 3650),
                "relative_to": st.sampled_from(["due_date", "previous_step"]),
                "level": st.none(),
                "conditions": st.fixed_dictionaries(
                    {
                        "min_amount": st.none() | st.just("50.00"),
                        "min_risk_score": st.none() | st.just("100.00"),
                        "max_risk_score": st.none(),
                        "segments": st.lists(st.sampled_from(["A", "B c"]), unique=True),
                        "skip_disputed": st.booleans(),
                        "skip_promised": st.booleans(),
                    }
                ),
            }
        ),
        min_size=1,
        max_size=10,
    )
)
def test_a_versions_rows_read_back_as_its_steps(steps: list[dict[str, Any]]) -> None:
    """The editor starts from the newest version: saving it unchanged sends its steps."""
    sent = steps_of(rows_of({"steps": steps}))
    for original, read in zip(steps, sent, strict=True):
        given_conditions = original["conditions"]
        expected: dict[str, Any] = {
            "skip_disputed": given_conditions["skip_disputed"],
            "skip_promised": given_conditions["skip_promised"],
        }
        if given_conditions["min_amount"] is not None:
            expected["min_amount"] = "50.00"
        if given_conditions["min_risk_score"] is not None:
            expected["min_risk_score"] = "100"
        if given_conditions["segments"]:
            expected["segments"] = given_conditions["segments"]
        assert read == {
            "kind": original["kind"],
            "days": original["days"],
            "relative_to": original["relative_to"],
            "conditions": expected,
        }
    assert len(sent) == len(steps)


def test_aging_reasons_name_steps_as_the_page_does() -> None:
    assert reason_in_words("steps[2]: a letter needs its level (1-5)") == (
        "step 3: a letter needs its level (1-5)"
    )
    assert reason_in_words("steps[1] falls due 3 days from the due date, not after steps[0]") == (
        "step 2 falls due 3 days from the due date, not after step 1"
    )


def test_the_report_is_one_row_per_week_with_a_column_per_kind_in_strategy_order() -> None:
    view = report_view(
        {
            "weeks": [
                {
                    "week": "2026-03-30",
                    "actions": {"call": 1, "reminder_email": 3},
                    "items": {"call": 2, "reminder_email": 4},
                },
                {"week": "2026-04-06", "actions": {"letter_2": 1}, "items": {"letter_2": 1}},
            ],
            "recorded": [
                {"week": "2026-03-30", "write_offs": 0, "written_off": "0", "letters_with_fee": 0},
                {
                    "week": "2026-04-06",
                    "write_offs": 1,
                    "written_off": "9.5",
                    "letters_with_fee": 2,
                },
            ],
            "amount_covered_by_currency": {"USD": "10.00", "EUR": "5.00"},
        }
    )
    assert view["kinds"] == [
        ("reminder_email", "Reminder email"),
        ("letter_2", "Letter 2"),
        ("call", "Call"),
    ]
    assert view["rows"] == [
        {"week": "2026-03-30", "cells": [(3, 4), (0, 0), (1, 2)]},
        {"week": "2026-04-06", "cells": [(0, 0), (1, 1), (0, 0)]},
    ]
    assert view["totals"] == [(3, 4), (1, 1), (1, 2)]
    assert [w["week"] for w in view["recorded"]] == ["2026-04-06"]
    assert view["letters_with_fee"] == 2
    assert view["amounts"] == [("EUR", "5.00"), ("USD", "10.00")]


def test_the_backtest_query_is_checked_before_it_is_sent() -> None:
    assert backtest_request({"from": "2026-01-01", "to": "2026-02-01", "version": ""}) == {
        "from": "2026-01-01",
        "to": "2026-02-01",
    }
    assert backtest_request(
        {"from": "2026-01-01", "to": "2026-02-01", "version": "3", "paid_within_days": "10"}
    ) == {"from": "2026-01-01", "to": "2026-02-01", "version": 3, "paid_within_days": 10}
    with pytest.raises(InvalidForm, match="from is a date"):
        backtest_request({"from": "01/01/2026", "to": "2026-02-01"})
    with pytest.raises(InvalidForm, match="paid within must be at least 1"):
        backtest_request({"from": "2026-01-01", "to": "2026-02-01", "paid_within_days": "0"})
