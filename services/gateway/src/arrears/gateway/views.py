"""What pages show, computed without I/O: grids (sort, filter, page), the aged-balances chart,
tab columns, and the words for a ledger's answer."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode

from arrears.shared.inputs import bounded_number

Kind = Literal["text", "money", "number", "customer"]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    kind: Kind = "text"
    sortable: bool = True
    filter_op: str | None = None
    """How a value typed in the column's filter is applied: prefix, eq or gte (at least)."""

    @property
    def numeric(self) -> bool:
        return self.kind in ("money", "number")


@dataclass(frozen=True, slots=True)
class GridSpec:
    name: str
    """Prefix of the grid's query parameters (two grids share one page)."""
    title: str
    columns: tuple[Column, ...]
    default_sort: str
    default_order: Literal["asc", "desc"]
    page_size: int = 25

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key), None)

    def param(self, what: str) -> str:
        return f"{self.name}_{what}"


@dataclass(slots=True)
class GridState:
    spec: GridSpec
    sort: str
    order: Literal["asc", "desc"]
    page: int
    filters: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, spec: GridSpec, query: Mapping[str, str]) -> GridState:
        sort = query.get(spec.param("sort"), spec.default_sort)
        column = spec.column(sort)
        if column is None or not column.sortable:
            sort = spec.default_sort
        order_text = query.get(spec.param("order"), spec.default_order)
        order: Literal["asc", "desc"] = "asc" if order_text == "asc" else "desc"
        try:
            page = max(1, min(int(query.get(spec.param("page"), "1")), 100_000))
        except ValueError:
            page = 1
        state = cls(spec, sort, order, page)
        for column in spec.columns:
            raw = query.get(spec.param(f"f_{column.key}"), "").strip()
            if not raw or column.filter_op is None:
                continue
            if column.numeric and not _is_number(raw):
                state.problems.append(
                    f"{column.label}: {raw[:40]!r} is not a number within range; filter ignored"
                )
                continue
            state.filters[column.key] = raw[:200]
        return state

    def aging_filters(self) -> list[str]:
        """The filters as the aging service takes them (`field:op:value`)."""
        out = []
        for key, value in self.filters.items():
            column = self.spec.column(key)
            assert column is not None and column.filter_op is not None
            out.append(f"{key}:{column.filter_op}:{value}")
        return out

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.spec.page_size

    def params(self) -> dict[str, str]:
        """This grid's query parameters as they stand."""
        out = {
            self.spec.param("sort"): self.sort,
            self.spec.param("order"): self.order,
            self.spec.param("page"): str(self.page),
        }
        out.update({self.spec.param(f"f_{k}"): v for k, v in self.filters.items()})
        return out


def _is_number(text: str) -> bool:
    try:
        bounded_number(text)
    except ValueError:
        return False
    return True


def url_with(base: str, **params: Any) -> str:
    """`base` with these query parameters (None and empty values left out; lists repeated)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None or value == "":
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append((key, str(item)))
    return f"{base}?{urlencode(pairs)}" if pairs else base


def relink(query: Mapping[str, str], **changes: str | None) -> dict[str, str]:
    """The page's query parameters with some changed (None removes one)."""
    out = dict(query)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class HeaderCell:
    column: Column
    href: str | None
    sorted: Literal["ascending", "descending", "none"]


@dataclass(frozen=True, slots=True)
class Grid:
    """One grid as a page shows it."""

    state: GridState
    headers: tuple[HeaderCell, ...]
    rows: tuple[Mapping[str, Any], ...]
    total: int
    pages: int
    previous: str | None
    next: str | None
    hidden: tuple[tuple[str, str], ...]
    """The page's other parameters, kept by the grid's filter form."""
    clear: str
    """The page without this grid's filters."""
    note: str | None = None


def grid(
    state: GridState,
    rows: Sequence[Mapping[str, Any]],
    total: int,
    query: Mapping[str, str],
    path: str = "/",
    *,
    note: str | None = None,
) -> Grid:
    """Headers with sort links (a click on the sorted column flips its order), one page of
    rows and links to the neighbouring pages; every link keeps the rest of the page's state."""
    spec = state.spec
    headers = []
    for column in spec.columns:
        if not column.sortable:
            headers.append(HeaderCell(column, None, "none"))
            continue
        active = column.key == state.sort
        order = ("asc" if state.order == "desc" else "desc") if active else _first_order(column)
        href = url_with(
            path,
            **relink(
                query,
                **{spec.param("sort"): column.key, spec.param("order"): order},
                **{spec.param("page"): None},
            ),
        )
        shown: Literal["ascending", "descending", "none"] = (
            ("ascending" if state.order == "asc" else "descending") if active else "none"
        )
        headers.append(HeaderCell(column, href, shown))
    pages = max(1, math.ceil(total / spec.page_size))

    def page_link(page: int) -> str | None:
        if not 1 <= page <= pages:
            return None
        return url_with(path, **relink(query, **{spec.param("page"): str(page)}))

    own = {spec.param("page")} | {spec.param(f"f_{c.key}") for c in spec.columns}
    others = {k: v for k, v in query.items() if k not in own}
    return Grid(
        state,
        tuple(headers),
        tuple(rows),
        total,
        pages,
        page_link(state.page - 1),
        page_link(state.page + 1),
        tuple(sorted(others.items())),
        url_with(path, **others),
        note,
    )


def _first_order(column: Column) -> Literal["asc", "desc"]:
    return "desc" if column.numeric else "asc"


def sort_rows(rows: Sequence[Mapping[str, Any]], state: GridState) -> list[Mapping[str, Any]]:
    """Rows sorted in memory by the grid's column (missing values last, either order)."""
    column = state.spec.column(state.sort)
    numeric = column is not None and column.numeric

    def value(row: Mapping[str, Any]) -> Any:
        raw = row.get(state.sort)
        if raw is None or raw == "":
            return None
        if numeric:
            return Decimal(str(raw))
        return str(raw).casefold()

    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    present.sort(key=value, reverse=state.order == "desc")
    return present + missing


# ----------------------------------------------------------------------------- the overview

CUSTOMER = Column("name", "Customer", "customer", filter_op="prefix")
ACCOUNT = Column("customer_id", "Account", filter_op="prefix")

CURRENCY = Column("accounting_currency", "Currency", sortable=False)
"""The currency of a row's amounts: the customer's accounting currency."""


def currency_note(rows: Sequence[Mapping[str, Any]]) -> str:
    """What currency a grid's amounts are in, said once above it; amounts of different
    accounting currencies are never added up."""
    found = sorted({str(r["accounting_currency"]) for r in rows if r.get("accounting_currency")})
    if len(found) == 1:
        return f"Amounts in {found[0]}, the accounting currency."
    if not found:
        return "Amounts in each customer's accounting currency."
    return (
        f"Amounts in each customer's accounting currency ({', '.join(found)}, see the Currency "
        "column); amounts of different currencies are not added up."
    )


HIGHEST_BALANCES = GridSpec(
    name="hb",
    title="Highest balances",
    columns=(
        CUSTOMER,
        ACCOUNT,
        CURRENCY,
        Column("balance", "Balance", "money", filter_op="gte"),
        Column("credit_limit", "Credit limit", "money", filter_op="gte"),
        Column("credit_remaining", "Credit available", "money", filter_op="gte"),
        Column("risk_score", "Risk score", "number", filter_op="gte"),
    ),
    default_sort="balance",
    default_order="desc",
)
TOP = 100
"""The highest-balances grid shows the top 100 customers by balance (after its filters)."""


def aged_balances_spec(period_names: Sequence[str]) -> GridSpec:
    return GridSpec(
        name="ag",
        title="Aged balances",
        columns=(
            CUSTOMER,
            ACCOUNT,
            CURRENCY,
            Column("credit_group", "Credit group", filter_op="eq"),
            Column("account_status", "Account status", filter_op="eq"),
            Column("balance", "Balance", "money", filter_op="gte"),
            Column("overdue", "Overdue", "money", filter_op="gte"),
            Column("oldest_period", "Oldest period", "number"),
            *(
                Column(f"period_{i}", name, "money", sortable=False)
                for i, name in enumerate(period_names)
            ),
        ),
        default_sort="oldest_period",
        default_order="desc",
    )


def aged_row(row: Mapping[str, Any], period_names: Sequence[str]) -> dict[str, Any]:
    """A customer_aging row with its periods as columns and the oldest period named."""
    out = dict(row)
    periods = list(row.get("periods") or ())
    for i in range(len(period_names)):
        out[f"period_{i}"] = periods[i] if i < len(periods) else None
    oldest = row.get("oldest_period")
    out["oldest_period_name"] = (
        period_names[oldest] if isinstance(oldest, int) and 0 <= oldest < len(period_names) else ""
    )
    return out


# ----------------------------------------------------------------------------- the customer page

TABS: tuple[tuple[str, str], ...] = (
    ("open", "Open transactions"),
    ("disputed", "Disputed"),
    ("promised", "Promised to pay"),
    ("unsettled_payments", "Unsettled payments"),
)
TAB_SORTS = ("due_date", "posting_date", "document_number", "open_amount", "amount", "days_overdue")
TAB_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("document_number", "Document", True),
    ("kind", "Kind", False),
    ("posting_date", "Posted", True),
    ("due_date", "Due date", True),
    ("days_overdue", "Days overdue", True),
    ("amount", "Amount", True),
    ("open_amount_txn", "Open", False),
    ("currency", "Currency", False),
    ("open_amount", "Open in accounting currency", True),
    ("collection_status", "Status", False),
    ("promise_date", "Promise date", False),
    ("promise_amount", "Promised", False),
)


def open_total(rows: Iterable[Mapping[str, Any]]) -> Decimal:
    """What a tab's rows leave open, in the accounting currency (never their transaction
    currencies, which may differ from row to row)."""
    return sum((Decimal(str(r["open_amount"])) for r in rows), Decimal(0))


def money_note(customer: Mapping[str, Any]) -> str:
    """Which currency the customer page's figures are in, and why."""
    accounting, invoiced = customer.get("accounting_currency"), customer.get("currency")
    text = (
        f"Figures in {accounting}, the accounting currency: amounts of documents in other "
        "currencies are converted at the exchange rate of their posting, so that they can be "
        "added up."
    )
    if invoiced and invoiced != accounting:
        text += f" This customer's documents are in {invoiced}; each line shows its own currency."
    return text


def expected_payment_text(item: Mapping[str, Any]) -> str | None:
    """An invoice's expected payment date as the aging service derived it, in words:
    "expected 12 Jul 2026 (median 9 days late over 14 invoices)"; None without a basis."""
    if not item.get("expected_date") or item.get("basis") not in ("customer", "company"):
        return None
    day = date.fromisoformat(str(item["expected_date"]))
    median = Decimal(str(item["median_days_late"])).normalize()
    days = f"{abs(median):f} day{'' if abs(median) == 1 else 's'}"
    late = "on time" if median == 0 else f"{days} {'late' if median > 0 else 'early'}"
    count = int(item["sample_size"])
    whose = "invoices" if item["basis"] == "customer" else "invoices of the company"
    return (
        f"expected {day.day} {day:%b %Y} (median {late} over {count} "
        f"{whose if count != 1 else whose.replace('invoices', 'invoice', 1)})"
    )


def expected_payments(items: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """transaction id -> its expected payment date in words (invoices with a basis)."""
    return {
        str(item["transaction_id"]): text
        for item in items
        if (text := expected_payment_text(item)) is not None
    }


TAB_STATUS = {"disputed": "disputed", "promised": "promised_to_pay"}
AMOUNT_SORTS = frozenset({"open_amount", "amount"})


def tab_rows(
    receivables: Sequence[Mapping[str, Any]],
    payments: Sequence[Mapping[str, Any]],
    tab: str,
    sort: str,
    order: str,
) -> list[Mapping[str, Any]]:
    """One tab's rows from the customer's open receivables and unsettled payments (the
    aging service's tabs: disputed and promised are the open receivables in that status),
    sorted by a column, missing values last."""
    if tab == "unsettled_payments":
        rows = list(payments)
    elif tab in TAB_STATUS:
        rows = [r for r in receivables if r.get("collection_status") == TAB_STATUS[tab]]
    else:
        rows = list(receivables)

    def key(row: Mapping[str, Any]) -> Any:
        value = row.get(sort)
        return Decimal(str(value)) if sort in AMOUNT_SORTS and value is not None else value

    present = sorted((r for r in rows if key(r) is not None), key=key, reverse=order == "desc")
    return present + [r for r in rows if key(r) is None]


@dataclass(frozen=True, slots=True)
class Bar:
    name: str
    amount: Decimal | None
    """None: no figure (drawn as no bar)."""
    x: float
    y: float
    width: float
    height: float
    label_y: float
    href: str | None = None


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    baseline: float
    bars: tuple[Bar, ...]
    description: str


def bar_chart(
    names: Sequence[str],
    amounts: Sequence[Decimal | None],
    *,
    hrefs: Sequence[str | None] | None = None,
    width: int = 640,
    height: int = 240,
) -> Chart:
    """One bar per name, scaled to the largest amount; negative amounts hang below the
    baseline, a missing one (None) has no bar."""
    top, bottom, left = 28.0, 36.0, 8.0
    known = [a for a in amounts if a is not None]
    high = max([Decimal(0), *known])
    low = min([Decimal(0), *known])
    span = (high - low) or Decimal(1)
    plot = height - top - bottom
    baseline = top + float(high / span) * plot
    slot = (width - 2 * left) / max(1, len(names))
    links = hrefs or [None] * len(names)
    bars = []
    for index, (name, amount, href) in enumerate(zip(names, amounts, links, strict=True)):
        size = float(abs(amount) / span) * plot if amount is not None else 0.0
        y = baseline - size if (amount or 0) >= 0 else baseline
        bars.append(
            Bar(
                name=name,
                amount=amount,
                x=left + index * slot + slot * 0.15,
                y=y,
                width=slot * 0.7,
                height=max(size, 1.0 if amount else 0.0),
                label_y=(y - 6) if (amount or 0) >= 0 else (y + size + 14),
                href=href,
            )
        )
    description = "; ".join(f"{b.name}: {'none' if b.amount is None else b.amount}" for b in bars)
    return Chart(width, height, baseline, tuple(bars), description)


def aged_chart(
    periods: Sequence[Mapping[str, Any]], *, width: int = 640, height: int = 240
) -> Chart:
    """Bars of the aged balance per period (current first), scaled to the largest amount;
    credits (negative amounts) hang below the baseline."""
    return bar_chart(
        [str(p.get("name", f"Period {i + 1}")) for i, p in enumerate(periods)],
        [Decimal(str(p.get("amount", "0"))) for p in periods],
        width=width,
        height=height,
    )


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def event_words(event_type: str) -> str:
    """`PaymentReturnedNsf` -> `payment returned nsf`."""
    return _CAMEL.sub(" ", event_type).lower()


def outcome_text(what: str, status: int, body: Any) -> tuple[str, str]:
    """(kind, words) for the ledger's answer to a form: success with what it recorded, or
    the refusal's reason."""
    if status < 400:
        events = body.get("events", []) if isinstance(body, dict) else []
        if not events:
            return "info", f"{what}: nothing to do, nothing was recorded."
        recorded = ", ".join(event_words(str(e.get("type", ""))) for e in events)
        return "success", f"{what}: done ({recorded})."
    detail = body.get("detail") if isinstance(body, dict) else None
    return "error", f"{what} was refused: {detail or f'the ledger answered {status}'}"


@dataclass(frozen=True, slots=True)
class Freshness:
    """How far a read model's figures are behind the ledger for one customer."""

    as_of: datetime | None
    """When the newest event the figures include was recorded (None: none yet)."""
    newer_events: int
    """Events of the customer the ledger has recorded that the figures do not include yet."""
    behind: timedelta | None
    """How much later the ledger's newest event was recorded than `as_of`."""

    @property
    def text(self) -> str:
        waiting = f"{self.newer_events} newer event{'s' if self.newer_events != 1 else ''}"
        if self.as_of is None or self.behind is None:
            return f"Figures do not include this customer's events yet ({waiting} pending)."
        recent = self.behind < timedelta(days=1)
        shown = f"{self.as_of:%H:%M:%S}" if recent else f"{self.as_of:%Y-%m-%d %H:%M}"
        return (
            f"Figures as of {shown} UTC, {_duration(self.behind)} behind the ledger "
            f"({waiting} not yet applied)."
        )


def _duration(span: timedelta) -> str:
    """A lag in the largest unit that keeps it readable: 40 s, 12 min, 38 h, 3 days."""
    seconds = max(0, round(span.total_seconds()))
    for unit, size in (("days", 86_400 * 2), ("h", 3_600 * 2), ("min", 60 * 2)):
        if seconds >= size:
            return f"{seconds // (size // 2)} {unit}"
    return f"{seconds} s"


def freshness(
    reflected: Mapping[str, Any] | None, head: Mapping[str, Any] | None
) -> Freshness | None:
    """How current figures are that reflect the stream position `reflected` (`sequence`,
    `recorded_at`), given the ledger's `head` of the same stream; None when they are current
    (or either side is unknown)."""
    if reflected is None or head is None or reflected["sequence"] >= head["sequence"]:
        return None
    as_of = _instant(reflected.get("recorded_at"))
    newest = _instant(head.get("recorded_at"))
    return Freshness(
        as_of=as_of,
        newer_events=int(head["sequence"]) - int(reflected["sequence"]),
        behind=None if as_of is None or newest is None else newest - as_of,
    )


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)
