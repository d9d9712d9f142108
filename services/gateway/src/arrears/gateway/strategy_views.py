"""Collection strategies as the admin pages show them, and the editor's form as the aging
service takes it: pure functions of the aging service's answers and of the posted form.

The rules (what a step is, when it falls due, which strategy is valid) are the aging
service's; this module only words its answers and reads the form's rows. A form the aging
service refuses comes back with its reason, `steps[i]` said as "step i+1"."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

STEP_KINDS: tuple[tuple[str, str], ...] = (
    ("reminder_email", "Reminder email"),
    ("letter", "Letter"),
    ("call", "Call"),
    ("escalate", "Escalate"),
    ("credit_hold", "Credit hold"),
    ("write_off_proposal", "Write-off proposal"),
)
"""The step kinds the aging service knows, in the order a strategy usually has them."""
KIND_NAMES = dict(STEP_KINDS)
RELATIVE_TO: tuple[tuple[str, str], ...] = (
    ("due_date", "the due date"),
    ("previous_step", "the previous step"),
)
ROW_FIELDS = (
    "kind",
    "level",
    "days",
    "relative_to",
    "min_amount",
    "min_risk_score",
    "max_risk_score",
    "segments",
    "disputed",
    "promised",
)
"""The editor's columns; each posted as `step_<name>`, one value per row."""
MAX_ROWS = 30
"""The aging service takes at most 30 steps."""
BLANK_ROW: dict[str, str] = {name: "" for name in ROW_FIELDS} | {
    "relative_to": "due_date",
    "disputed": "skip",
    "promised": "skip",
}


class InvalidForm(Exception):
    """The editor's rows cannot be read as steps; said in words."""


# ----------------------------------------------------------------------------- showing


def kind_text(step: Mapping[str, Any]) -> str:
    name = KIND_NAMES.get(str(step["kind"]), str(step["kind"]))
    return f"{name}, level {step['level']}" if step.get("level") is not None else name


def trigger_text(step: Mapping[str, Any]) -> str:
    """ "+15 days after the due date", "3 days before the due date", "+10 days after the
    previous step"."""
    days = int(step["days"])
    unit = "day" if abs(days) == 1 else "days"
    if step.get("relative_to") == "previous_step":
        return f"+{days} {unit} after the previous step"
    if days == 0:
        return "on the due date"
    if days < 0:
        return f"{-days} {unit} before the due date"
    return f"+{days} {unit} after the due date"


def score_text(value: Any) -> str:
    """A risk score as written: 200, not 200.00 ("" for none)."""
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)).normalize():f}"


def conditions_text(conditions: Mapping[str, Any]) -> str:
    """The conditions of a step in words."""
    parts = []
    if conditions.get("min_amount") is not None:
        parts.append(f"open amount at least {conditions['min_amount']}")
    low = score_text(conditions.get("min_risk_score")) or None
    high = score_text(conditions.get("max_risk_score")) or None
    if low is not None and high is not None:
        parts.append(f"risk score {low} to {high}")
    elif low is not None:
        parts.append(f"risk score at least {low}")
    elif high is not None:
        parts.append(f"risk score at most {high}")
    if conditions.get("segments"):
        parts.append("credit group " + " or ".join(conditions["segments"]))
    parts.append(
        "not while disputed" if conditions.get("skip_disputed", True) else "also while disputed"
    )
    parts.append(
        "not while a promise to pay is open"
        if conditions.get("skip_promised", True)
        else "also while a promise to pay is open"
    )
    return "; ".join(parts)


def step_lines(version: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A version's steps as the page's table rows."""
    return [
        {
            "number": number,
            "kind": kind_text(step),
            "trigger": trigger_text(step),
            "offset_days": step.get("offset_days"),
            "conditions": conditions_text(step.get("conditions") or {}),
        }
        for number, step in enumerate(version["steps"], start=1)
    ]


def rows_of(version: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """A version's steps as the editor's rows (to make the next version from), and one
    blank row to add a step."""
    rows = []
    for step in (version or {}).get("steps", []):
        conditions = step.get("conditions") or {}

        def text(value: Any) -> str:
            return "" if value is None else str(value)

        rows.append(
            {
                "kind": str(step["kind"]),
                "level": text(step.get("level")),
                "days": str(step["days"]),
                "relative_to": str(step.get("relative_to") or "due_date"),
                "min_amount": text(conditions.get("min_amount")),
                "min_risk_score": score_text(conditions.get("min_risk_score")),
                "max_risk_score": score_text(conditions.get("max_risk_score")),
                "segments": ", ".join(conditions.get("segments") or []),
                "disputed": "skip" if conditions.get("skip_disputed", True) else "act",
                "promised": "skip" if conditions.get("skip_promised", True) else "act",
            }
        )
    return [*rows, dict(BLANK_ROW)]


# ----------------------------------------------------------------------------- the form


def posted_rows(columns: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    """The editor's rows as posted (`columns[name]`: one value per row), trimmed."""
    lengths = {len(columns.get(name, ())) for name in ROW_FIELDS}
    if len(lengths) != 1:
        raise InvalidForm("the form's rows are incomplete; load the page again")
    count = lengths.pop()
    if count > MAX_ROWS + 1:
        raise InvalidForm(f"a strategy has at most {MAX_ROWS} steps")
    return [
        {name: str(columns[name][index]).strip() for name in ROW_FIELDS} for index in range(count)
    ]


def _whole(text: str, what: str) -> int:
    if not re.fullmatch(r"[+-]?\d{1,5}", text):
        raise InvalidForm(f"{what} must be a whole number")
    return int(text)


def _decimal(text: str, what: str) -> str:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise InvalidForm(f"{what} must be a number") from None
    if not value.is_finite():
        raise InvalidForm(f"{what} must be a number")
    return str(value)


def steps_of(rows: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
    """The steps of the editor's rows, in order, as the aging service takes them: a row with
    no kind and no days is no step. Whether they make a valid strategy is the aging service's
    to say; here only what a field cannot be is refused."""
    steps: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        if not row["kind"] and not row["days"]:
            continue
        what = f"step {len(steps) + 1} (row {number})"
        if row["kind"] not in KIND_NAMES:
            raise InvalidForm(f"{what}: choose what the step does")
        if not row["days"]:
            raise InvalidForm(f"{what}: how many days?")
        conditions: dict[str, Any] = {
            "skip_disputed": row["disputed"] != "act",
            "skip_promised": row["promised"] != "act",
        }
        for name, label in (
            ("min_amount", "the minimum amount"),
            ("min_risk_score", "the lowest risk score"),
            ("max_risk_score", "the highest risk score"),
        ):
            if row[name]:
                conditions[name] = _decimal(row[name], f"{what}: {label}")
        segments = [s for s in re.split(r"\s*,\s*", row["segments"]) if s]
        if segments:
            conditions["segments"] = segments
        step: dict[str, Any] = {
            "kind": row["kind"],
            "days": _whole(row["days"], f"{what}: days"),
            "relative_to": row["relative_to"] or "due_date",
            "conditions": conditions,
        }
        if row["level"]:
            step["level"] = _whole(row["level"], f"{what}: the letter level")
        steps.append(step)
    if not steps:
        raise InvalidForm("a strategy needs at least one step: choose a kind and its days")
    return steps


STEP_INDEX = re.compile(r"steps\[(\d+)\]")


def reason_in_words(detail: str) -> str:
    """The aging service's reason with `steps[0]` said as `step 1`."""
    return STEP_INDEX.sub(lambda m: f"step {int(m.group(1)) + 1}", detail)


# ----------------------------------------------------------------------------- backtest

KIND_ORDER = ("reminder_email", *(f"letter_{level}" for level in range(1, 6)), "call")
"""How the report's columns are ordered (then the rest, alphabetically)."""


def _kind_key(kind: str) -> tuple[int, str]:
    rest = ("escalate", "credit_hold", "write_off_proposal")
    order = (*KIND_ORDER, *rest)
    return (order.index(kind), kind) if kind in order else (len(order), kind)


def report_kind_text(kind: str) -> str:
    if kind.startswith("letter_"):
        return f"Letter {kind.removeprefix('letter_')}"
    return KIND_NAMES.get(kind, kind.replace("_", " "))


def report_view(report: Mapping[str, Any]) -> dict[str, Any]:
    """A backtest report as the page's tables: one row per week (actions and items per step
    kind), the totals, and the week-by-week comparison with what was recorded."""
    weeks = report["weeks"]
    kinds = sorted({k for w in weeks for k in w["actions"]}, key=_kind_key)
    rows = [
        {
            "week": w["week"],
            "cells": [(w["actions"].get(k, 0), w["items"].get(k, 0)) for k in kinds],
        }
        for w in weeks
    ]
    totals = [
        (sum(w["actions"].get(k, 0) for w in weeks), sum(w["items"].get(k, 0) for w in weeks))
        for k in kinds
    ]
    recorded = [w for w in report["recorded"] if w["write_offs"] or w["letters_with_fee"]]
    return {
        "kinds": [(k, report_kind_text(k)) for k in kinds],
        "rows": rows,
        "totals": totals,
        "recorded": recorded,
        "amounts": sorted((report.get("amount_covered_by_currency") or {}).items()),
        "letters_with_fee": sum(w["letters_with_fee"] for w in report["recorded"]),
    }


def backtest_request(query: Mapping[str, str]) -> dict[str, Any]:
    """The aging service's backtest body from the page's query (`from`, `to`, `version`,
    `paid_within_days`)."""
    body: dict[str, Any] = {}
    for name in ("from", "to"):
        text = query.get(name, "").strip()
        try:
            body[name] = date.fromisoformat(text).isoformat()
        except ValueError:
            raise InvalidForm(f"{name} is a date (YYYY-MM-DD), not {text!r}") from None
    for name, what in (("version", "the version"), ("paid_within_days", "paid within")):
        text = query.get(name, "").strip()
        if text:
            value = _whole(text, what)
            if value < 1:
                raise InvalidForm(f"{what} must be at least 1")
            body[name] = value
    return body
