"""Rows to ledger commands, purely: which field comes from which column (names, templates,
constants), how a value is read (dates, decimals, flags), and the command each kind of row
becomes. No I/O: a row in, a command (or the reason there is none) out.
"""

from __future__ import annotations

import functools
import json
import re
import string
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from arrears.ledger.domain import Command, PostInvoice, ReceivePayment, RegisterCustomer
from arrears.shared.events.customers import Contact, CustomerProfile

if TYPE_CHECKING:
    from arrears.ledger.imports.options import ImportOptions

KINDS = ("customers", "invoices", "payments", "settlements")


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_PROFILE_TEXT = _names(
    "country language organization_email organization_phone credit_group account_status "
    "employee_responsible primary_contact credit_rating"
)
_CONTACT = _names("contact_name contact_email contact_phone contact_role")

FIELDS: dict[str, tuple[str, ...]] = {
    "customers": (
        *_names("company customer_id name currency accounting_currency credit_limit"),
        *_PROFILE_TEXT,
        *_names("customer_since risk_score open_contracts"),
        *_CONTACT,
    ),
    "invoices": _names(
        "company customer_id customer_name document_number posting_date document_date "
        "due_date payment_terms amount currency exchange_rate sales_tax_amount description "
        "customer_reference purchase_order sales_order voucher method_of_payment disputed"
    ),
    "payments": _names(
        "company customer_id customer_name document_number payment_date posting_date amount "
        "currency exchange_rate method_of_payment payment_reference bank_account "
        "remittance_info"
    ),
    "settlements": _names(
        "company customer_id payment_document invoice_document amount settlement_date exchange_rate"
    ),
}
"""The fields each kind of import understands (ledger command fields plus conveniences)."""

REQUIRED: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id", "name"),
    "invoices": ("customer_id", "document_number", "posting_date", "amount"),
    "payments": ("customer_id", "document_number", "payment_date", "amount"),
    "settlements": ("payment_document", "invoice_document"),
}

_TRUE = frozenset({"yes", "y", "true", "t", "1", "x", "disputed"})
_FALSE = frozenset({"no", "n", "false", "f", "0", "not_disputed", "undisputed"})
_THOUSANDS_POINT = re.compile(r"^[+-]?\d{1,3}(,\d{3})*(\.\d*)?$")
_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(\.\d{3})*(,\d*)?$")
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'")


class UsageError(Exception):
    """The command line or the file's header cannot work; nothing was imported."""


class RowError(Exception):
    """A row that cannot become a command: a machine-readable code and a reason."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


# ---------------------------------------------------------------------------- field mapping


class Source(Protocol):
    """Where one field's value comes from in a record."""

    def value(self, record: Mapping[str, Any]) -> Any: ...

    def columns(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Column:
    name: str

    def value(self, record: Mapping[str, Any]) -> Any:
        return record.get(self.name)

    def columns(self) -> tuple[str, ...]:
        return (self.name,)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Constant:
    text: str

    def value(self, record: Mapping[str, Any]) -> Any:
        return self.text

    def columns(self) -> tuple[str, ...]:
        return ()

    def __str__(self) -> str:
        return f"={self.text}"


@dataclass(frozen=True)
class Template:
    """Text with {column} placeholders (and optional format specs, e.g. {n:>08})."""

    text: str
    parts: tuple[tuple[str, str | None, str], ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        parts = []
        try:
            for literal, name, spec, conversion in string.Formatter().parse(text):
                if name is not None and not name.strip():
                    raise UsageError(f"template {text!r}: name a column inside {{}}")
                if conversion:
                    raise UsageError(f"template {text!r}: conversions (!r, !s) are not supported")
                parts.append((literal, name, spec or ""))
        except ValueError as exc:
            raise UsageError(f"template {text!r}: {exc}") from None
        return cls(text, tuple(parts))

    def value(self, record: Mapping[str, Any]) -> Any:
        out = []
        for literal, name, spec in self.parts:
            out.append(literal)
            if name is not None:
                value = text_of(record.get(name))
                if value is None:
                    return None  # a template over an empty column is empty
                try:
                    out.append(format(value, spec))
                except ValueError as exc:
                    raise RowError("invalid_field", f"template {self.text!r}: {exc}") from None
        return "".join(out)

    def columns(self) -> tuple[str, ...]:
        return tuple(name for _, name, _ in self.parts if name is not None)

    def __str__(self) -> str:
        return repr(self.text)


def parse_map(spec: str) -> tuple[str, Source]:
    """`field=column`, `field=text with {column}s` or `field==constant`."""
    name, sep, rest = spec.partition("=")
    name = name.strip()
    if not sep or not name:
        raise UsageError(f"--map {spec!r}: expected FIELD=COLUMN, FIELD=TEMPLATE or FIELD==VALUE")
    if rest.startswith("="):
        return name, Constant(rest[1:])
    if "{" in rest or "}" in rest:
        return name, Template.parse(rest)
    if not rest.strip():
        raise UsageError(f"--map {spec!r}: name a column after '='")
    return name, Column(rest.strip())


def normalized(name: str) -> str:
    """Column-name matching ignores case, spaces, underscores and dashes."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def resolve_fields(
    fields: Sequence[str], explicit: Mapping[str, Source], columns: Sequence[str]
) -> dict[str, Source]:
    """Each field's source: its --map, else the column of the same (normalized) name."""
    present = set(columns)
    by_name: dict[str, str] = {}
    for column in columns:
        by_name.setdefault(normalized(column), column)
    resolved: dict[str, Source] = {}
    for name in fields:
        if name in explicit:
            resolved[name] = explicit[name]
        elif name in present:
            resolved[name] = Column(name)
        elif normalized(name) in by_name:
            resolved[name] = Column(by_name[normalized(name)])
    return resolved


def text_of(raw: Any) -> str | None:
    """A record value as trimmed text; None when empty."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, dict | list):
        return json.dumps(raw)
    text = str(raw).strip()
    return text or None


@dataclass(frozen=True)
class Record:
    """One data row of the file: its 1-based number and its values by column."""

    number: int
    values: Mapping[str, Any]
    error: RowError | None = None


def check_columns(options: ImportOptions, columns: Sequence[str]) -> dict[str, Source]:
    """Refuse a CSV file whose header cannot provide the required fields."""
    missing_columns = sorted(
        {c for source in options.mapping.values() for c in source.columns()} - set(columns)
    )
    if missing_columns:
        raise UsageError(
            f"--map names column(s) the file does not have: {', '.join(missing_columns)}; "
            f"columns: {', '.join(columns)}"
        )
    fields = resolve_fields(FIELDS[options.kind], options.mapping, columns)
    required = list(REQUIRED[options.kind])
    if options.company is None:
        required.append("company")
    if options.kind == "customers" and options.currency is None:
        required.append("currency")
    absent = [name for name in required if name not in fields]
    if absent:
        hints = ", ".join(f"--map {name}=COLUMN" for name in absent)
        raise UsageError(
            f"{options.kind} need {', '.join(absent)}: no column of that name; use {hints}"
            + (" (or --company)" if "company" in absent else "")
            + (" (or --currency)" if "currency" in absent and options.kind == "customers" else "")
            + f"; columns: {', '.join(columns)}"
        )
    return fields


# ---------------------------------------------------------------------------- row values


@functools.lru_cache(maxsize=8192)
def parse_date(text: str, fmt: str | None) -> date:
    """A date in `fmt` (strptime), or ISO 8601 when None; files repeat dates a lot."""
    if fmt:
        parsed = time.strptime(text, fmt)
        return date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)
    try:
        return date.fromisoformat(text)
    except ValueError:
        return datetime.fromisoformat(text).date()


class Row:
    """One record's fields (after mapping), parsed on demand with the import's options."""

    def __init__(self, raw: Mapping[str, Any], options: ImportOptions) -> None:
        self.values = {name: text_of(value) for name, value in raw.items()}
        self.options = options

    def text(self, name: str) -> str | None:
        return self.values.get(name)

    def need(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise RowError("missing_field", f"{name} is empty")
        return value

    def company(self) -> str:
        value = self.text("company") or self.options.company
        if value is None:
            raise RowError("missing_field", "company is empty (give --company)")
        return value

    def upper(self, name: str) -> str | None:
        value = self.text(name)
        return value.upper() if value is not None else None

    def day(self, name: str) -> date | None:
        value = self.text(name)
        if value is None:
            return None
        fmt = self.options.date_format
        try:
            return parse_date(value, fmt)
        except ValueError:
            expected = fmt or "ISO 8601, e.g. 2024-03-31 (or give --date-format)"
            raise RowError(
                "invalid_date", f"{name} {value!r} is not a date in the format {expected}"
            ) from None

    def need_day(self, name: str) -> date:
        value = self.day(name)
        if value is None:
            raise RowError("missing_field", f"{name} is empty")
        return value

    def decimal(self, name: str) -> Decimal | None:
        value = self.text(name)
        if value is None:
            return None
        cleaned = value.translate(_SPACES)
        if self.options.decimal_comma:
            ok = "." not in cleaned or _THOUSANDS_COMMA.match(cleaned)
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            ok = "," not in cleaned or _THOUSANDS_POINT.match(cleaned)
            cleaned = cleaned.replace(",", "")
        hint = "" if self.options.decimal_comma else " (a decimal comma needs --decimal-comma)"
        if not ok:
            raise RowError("invalid_number", f"{name} {value!r} is not a number{hint}")
        try:
            number = Decimal(cleaned)
        except InvalidOperation:
            raise RowError("invalid_number", f"{name} {value!r} is not a number{hint}") from None
        if not number.is_finite():
            raise RowError("invalid_number", f"{name} {value!r} is not a number")
        return number

    def need_decimal(self, name: str) -> Decimal:
        value = self.decimal(name)
        if value is None:
            raise RowError("missing_field", f"{name} is empty")
        return value

    def integer(self, name: str) -> int | None:
        value = self.decimal(name)
        if value is None:
            return None
        if value != value.to_integral_value():
            raise RowError("invalid_number", f"{name} {self.text(name)!r} is not a whole number")
        return int(value)

    def flag(self, name: str) -> bool:
        value = self.text(name)
        if value is None:
            return False
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise RowError("invalid_boolean", f"{name} {value!r} is not yes/no/true/false")


# ---------------------------------------------------------------------------- rows to commands


@dataclass
class Item:
    """A parsed row on its way through the ledger."""

    record: Record
    command: Command | None = None
    disputed: bool = False
    customer_name: str | None = None
    settlement: SettlementRow | None = None
    error: RowError | None = None


@dataclass(frozen=True)
class SettlementRow:
    company: str
    customer_id: str | None
    payment_document: str
    invoice_document: str
    amount: Decimal | None
    settlement_date: date | None
    exchange_rate: Decimal | None


def customer_command(row: Row) -> RegisterCustomer:
    currency = row.upper("currency") or row.options.currency
    if currency is None:
        raise RowError("missing_field", "currency is empty (give --currency)")
    contact = None
    if any(row.text(name) for name in _CONTACT):
        contact = Contact(
            name=row.text("contact_name") or row.text("contact_email") or row.need("contact_phone"),
            email=row.text("contact_email"),
            phone=row.text("contact_phone"),
            role=row.text("contact_role"),
        )
    profile = CustomerProfile(
        name=row.need("name"),
        collections_contact=contact,
        organization_phone=row.text("organization_phone"),
        organization_email=row.text("organization_email"),
        country=row.upper("country"),
        language=row.text("language"),
        credit_group=row.text("credit_group"),
        account_status=row.text("account_status"),
        customer_since=row.day("customer_since"),
        employee_responsible=row.text("employee_responsible"),
        primary_contact=row.text("primary_contact"),
        credit_rating=row.text("credit_rating"),
        risk_score=row.decimal("risk_score"),
        open_contracts=row.integer("open_contracts"),
    )
    return RegisterCustomer(
        company=row.company(),
        customer_id=row.need("customer_id"),
        profile=profile,
        currency=currency,
        accounting_currency=(
            row.upper("accounting_currency") or row.options.accounting_currency or currency
        ),
        credit_limit=row.decimal("credit_limit"),
    )


def invoice_command(row: Row) -> PostInvoice:
    return PostInvoice(
        company=row.company(),
        customer_id=row.need("customer_id"),
        document_number=row.need("document_number"),
        posting_date=row.need_day("posting_date"),
        document_date=row.day("document_date"),
        due_date=row.day("due_date"),
        payment_terms=row.text("payment_terms"),
        amount=row.need_decimal("amount"),
        currency=row.upper("currency") or row.options.currency,
        exchange_rate=row.decimal("exchange_rate"),
        sales_tax_amount=row.decimal("sales_tax_amount"),
        description=row.text("description"),
        customer_reference=row.text("customer_reference"),
        purchase_order=row.text("purchase_order"),
        sales_order=row.text("sales_order"),
        voucher=row.text("voucher"),
        method_of_payment=row.text("method_of_payment"),
    )


def payment_command(row: Row) -> ReceivePayment:
    if row.text("document_number") is None:
        raise RowError(
            "missing_field",
            "document_number is empty: a payment needs one so that a re-import recognizes it",
        )
    return ReceivePayment(
        company=row.company(),
        customer_id=row.need("customer_id"),
        document_number=row.need("document_number"),
        payment_date=row.need_day("payment_date"),
        posting_date=row.day("posting_date"),
        amount=row.need_decimal("amount"),
        currency=row.upper("currency") or row.options.currency,
        exchange_rate=row.decimal("exchange_rate"),
        method_of_payment=row.text("method_of_payment"),
        payment_reference=row.text("payment_reference"),
        bank_account=row.text("bank_account"),
        remittance_info=row.text("remittance_info"),
    )


def settlement_row(row: Row) -> SettlementRow:
    return SettlementRow(
        company=row.company(),
        customer_id=row.text("customer_id"),
        payment_document=row.need("payment_document"),
        invoice_document=row.need("invoice_document"),
        amount=row.decimal("amount"),
        settlement_date=row.day("settlement_date"),
        exchange_rate=row.decimal("exchange_rate"),
    )


def validation_reason(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        location = [str(p) for p in problem.get("loc", ()) if not isinstance(p, int)]
        where = location[-1] if location else "row"
        given = problem.get("input")
        shown = f" (got {given!r})" if isinstance(given, str | int | Decimal) else ""
        parts.append(f"{where}: {problem.get('msg', 'invalid')}{shown}")
    return "; ".join(parts)


def parse_item(
    kind: str, record: Record, fields: Mapping[str, Source], options: ImportOptions
) -> Item:
    """The command (or settlement request) of one record, or the reason it has none."""
    if record.error is not None:
        return Item(record, error=record.error)
    try:
        row = Row({name: source.value(record.values) for name, source in fields.items()}, options)
        if kind == "customers":
            return Item(record, customer_command(row))
        if kind == "invoices":
            disputed = row.flag("disputed")
            return Item(
                record,
                invoice_command(row),
                disputed=disputed,
                customer_name=row.text("customer_name"),
            )
        if kind == "payments":
            return Item(record, payment_command(row), customer_name=row.text("customer_name"))
        return Item(record, settlement=settlement_row(row))
    except RowError as error:
        return Item(record, error=error)
    except ValidationError as error:
        return Item(record, error=RowError("invalid_field", validation_reason(error)))
