"""What the timeline, activity and reminder sections show, computed without I/O: the
timeline's query and links, entries in words, the activities grid, the `mailto:` link."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import httpx

from arrears.gateway.views import Column, GridSpec, GridState, url_with
from arrears.shared.ids import reprint_id
from arrears.shared.inputs import in_date_range

ENTRY_TYPES: tuple[tuple[str, str], ...] = (
    ("invoice", "Invoice"),
    ("credit_note", "Credit note"),
    ("interest_note", "Interest note"),
    ("fee", "Fee"),
    ("payment", "Payment"),
    ("settlement", "Settlement"),
    ("settlement_reversal", "Settlement reversal"),
    ("nsf_return", "NSF return"),
    ("write_off", "Write-off"),
    ("status_change", "Status change"),
    ("promise", "Promise to pay"),
    ("promise_outcome", "Promise outcome"),
    ("letter", "Collection letter"),
    ("reprint", "Reprint request"),
    ("activity", "Activity"),
)
"""The timeline service's entry types (its `type` filter) and their names on pages."""
TYPE_NAMES = dict(ENTRY_TYPES)
PREFIX = "tl_"


def problem_words(response: httpx.Response) -> str:
    """A service's refusal in words (its problem's detail)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("detail"):
        return str(body["detail"])
    return f"the service answered {response.status_code}"


def moment(text: Any) -> datetime | str | None:
    """An ISO timestamp of another service as a UTC datetime (the text itself if it is not
    one)."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return text


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return in_date_range(date.fromisoformat(text))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class TimelineQuery:
    """The timeline section's state, from the page's query (`tl_type` repeated, `tl_from`,
    `tl_to`, `tl_cursor`); unknown types and malformed dates are dropped."""

    types: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    cursor: str | None = None

    @classmethod
    def parse(cls, query: Mapping[str, Sequence[str]]) -> TimelineQuery:
        def one(name: str) -> str | None:
            values = query.get(PREFIX + name) or ()
            return values[0] if values else None

        types = tuple(t for t in dict.fromkeys(query.get(PREFIX + "type") or ()) if t in TYPE_NAMES)
        cursor = one("cursor")
        return cls(types, _date(one("from")), _date(one("to")), cursor[:500] if cursor else None)

    def params(self, limit: int) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if self.types:
            params["type"] = list(self.types)
        if self.since:
            params["from"] = self.since.isoformat()
        if self.until:
            params["to"] = self.until.isoformat()
        if self.cursor:
            params["cursor"] = self.cursor
        return params

    def _link(self, base: str, query: Mapping[str, Sequence[str]], cursor: str | None) -> str:
        others = {k: list(v) for k, v in query.items() if not k.startswith(PREFIX)}
        return (
            url_with(
                base,
                **others,
                tl_type=list(self.types),
                tl_from=self.since.isoformat() if self.since else None,
                tl_to=self.until.isoformat() if self.until else None,
                tl_cursor=cursor,
            )
            + "#panel-timeline"
        )

    def next_link(
        self, base: str, query: Mapping[str, Sequence[str]], cursor: str | None
    ) -> str | None:
        return self._link(base, query, cursor) if cursor else None

    def first_link(self, base: str, query: Mapping[str, Sequence[str]]) -> str:
        return self._link(base, query, None)

    def hidden(self, query: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
        """The page's other parameters, kept by the timeline's filter form."""
        return [(k, v) for k, values in query.items() if not k.startswith(PREFIX) for v in values]


def _money(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict) and "amount" in value:
        return value
    return None


def entry_view(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A timeline entry as a row: its kind in words, a one-line description, and the free
    texts (memo, note, remittance) shown on demand. Texts stay data: the template escapes."""
    details: Mapping[str, Any] = entry.get("details") or {}
    kind = str(entry.get("type", ""))
    words: list[str] = []
    texts: list[tuple[str, str]] = []
    if kind == "activity":
        words.append(str(details.get("purpose") or ""))
        state = details.get("state")
        words.append(f"{details.get('kind', 'activity')}, {state or 'open'}")
        if details.get("overdue"):
            words.append("overdue")
        if details.get("responsible"):
            words.append(f"responsible {details['responsible']}")
        for name, key in (("Memo", "memo"), ("Closing note", "closing_memo")):
            if details.get(key):
                texts.append((name, str(details[key])))
    elif kind in ("status_change",):
        before = str(details.get("previous_status") or "—").replace("_", " ")
        words.append(f"{before} → {str(details.get('status')).replace('_', ' ')}")
        if details.get("reason_code"):
            words.append(f"reason {details['reason_code']}")
    elif kind == "promise":
        words.append(f"promised for {details.get('promise_date')}")
        judgement = details.get("judgement")
        words.append(f"judged {judgement.get('outcome')}" if judgement else "pending")
    elif kind == "promise_outcome":
        words.append(str(details.get("outcome", "")).replace("_", " "))
    elif kind == "fee":
        words.append(str(details.get("action", "")))
    elif kind == "letter":
        words.append(f"level {details.get('level')} of {details.get('letter_sequence_id')}")
    elif kind == "reprint":
        words.append(f"{details.get('copy_kind', '')} by {details.get('channel', '')}")
    elif kind == "invoice" and entry.get("due_date"):
        words.append(f"due {entry['due_date']}")
    elif kind == "payment" and details.get("method"):
        words.append(str(details["method"]))
    elif kind == "settlement":
        settled = [a.get("document_number") for a in details.get("allocations") or ()]
        words.append("settles " + ", ".join(str(n) for n in settled if n))
    elif kind == "nsf_return" and isinstance(details.get("nsf_fee"), dict):
        fee = details["nsf_fee"]
        amount = (fee.get("amount") or {}).get("amount")
        words.append(f"NSF fee {fee.get('document_number') or ''} {amount or ''}".strip())
    for name, key in (("Note", "note"), ("Remittance", "remittance_text")):
        if details.get(key) and kind != "activity":
            texts.append((name, str(details[key])))
    return {
        "date": entry.get("date"),
        "sequence": entry.get("sequence"),
        "type": kind,
        "type_name": TYPE_NAMES.get(kind, kind.replace("_", " ")),
        "document": entry.get("document_number"),
        "transaction_id": entry.get("transaction_id"),
        "amount": entry.get("amount"),
        "currency": entry.get("currency"),
        "actor": entry.get("actor"),
        "description": ", ".join(w for w in words if w and w != "None"),
        "texts": texts,
        "roles": list(entry.get("roles") or ()),
        "letter_id": document_of(kind, entry, details),
    }


def document_of(kind: str, entry: Mapping[str, Any], details: Mapping[str, Any]) -> str | None:
    """The notifier's rendered document an entry links to: a collection letter's, or the
    reprint an `InvoiceReprintRequested` produced."""
    if kind == "letter":
        return details.get("letter_id")
    if kind == "reprint" and entry.get("event_id"):
        return reprint_id(entry["event_id"])
    return None


# ----------------------------------------------------------------------------- my activities

ACTIVITIES = GridSpec(
    name="ac",
    title="My activities",
    columns=(
        Column("due", "Due", filter_op=None),
        Column("customer_name", "Customer", "customer", filter_op="prefix"),
        Column("customer_id", "Account", filter_op="prefix"),
        Column("purpose", "Purpose", filter_op="prefix"),
        Column("kind", "Kind", filter_op="eq"),
        Column("priority", "Priority", filter_op="eq"),
        Column("category", "Category", filter_op="eq"),
    ),
    default_sort="due",
    default_order="asc",
)


def filter_rows(rows: Sequence[Mapping[str, Any]], state: GridState) -> list[Mapping[str, Any]]:
    """Rows kept by the grid's filters, in memory: `prefix` starts with (case-insensitive),
    `eq` is (case-insensitive), `gte` at least."""
    kept = []
    for row in rows:
        if all(_matches(row.get(key), state, key, value) for key, value in state.filters.items()):
            kept.append(row)
    return kept


def _matches(actual: Any, state: GridState, key: str, wanted: str) -> bool:
    column = state.spec.column(key)
    if actual is None or column is None:
        return False
    if column.filter_op == "gte":
        try:
            return Decimal(str(actual)) >= Decimal(wanted)
        except InvalidOperation:
            return False
    text, value = str(actual).casefold(), wanted.casefold()
    return text.startswith(value) if column.filter_op == "prefix" else text == value


def activity_row(activity: Mapping[str, Any], company: str) -> dict[str, Any]:
    return {
        **activity,
        "company": company,
        "customer_name": activity.get("customer_name") or activity.get("customer_id"),
        "due_day": str(activity.get("due") or "")[:16].replace("T", " "),
    }


# ----------------------------------------------------------------------------- reminder email


def mailto(recipient: str | None, subject: str, body: str) -> str:
    """A `mailto:` URI (RFC 6068): the recipient, subject and body percent-encoded, line
    breaks as CRLF."""
    text = body.replace("\r\n", "\n").replace("\n", "\r\n")
    to = quote(recipient or "", safe="@")
    return f"mailto:{to}?subject={quote(subject, safe='')}&body={quote(text, safe='')}"
