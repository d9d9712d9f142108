"""`arrears import customers|invoices|payments|settlements FILE`: bulk loads through the ledger.

The file is read lazily (CSV with any delimiter, or JSON lines); each row becomes a ledger
command and batches of commands go through `Ledger.execute_many`, so every rule of the ledger
applies exactly as over HTTP and each customer's commands of a batch are appended in one
transaction. Only one batch is held at a time: memory stays flat in the file size.

Every row ends as one of three outcomes: accepted (its events were appended), already present
(its customer or document is in the ledger already, so a re-import appends nothing), or
rejected (reported with its row number and reason). docs/import.md is the user's guide.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import functools
import io
import json
import re
import string
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, Protocol

from pydantic import ValidationError

from arrears.cli.infra import LocalPostgres
from arrears.ledger import store
from arrears.ledger.application import BulkResult, Ledger, Outcome
from arrears.ledger.domain import (
    AllocationRequest,
    ChangeCollectionStatus,
    Command,
    CustomerAccount,
    PostInvoice,
    ReceivePayment,
    RegisterCustomer,
    SettleTransactions,
    rebuild,
)
from arrears.shared.errors import Problem
from arrears.shared.events.customers import Contact, CustomerProfile
from arrears.shared.events.invoices import CollectionStatus, InvoicePosted
from arrears.shared.ids import uuid7

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

PRESENT_CODES: dict[str, frozenset[str]] = {
    "customers": frozenset({"customer_already_registered"}),
    "invoices": frozenset({"duplicate_document"}),
    "payments": frozenset({"duplicate_document"}),
    "settlements": frozenset(),
}
"""Refusals that mean "this row is in the ledger already": counted, not rejected."""

_PAYING_KINDS = ("payment", "credit_note")
_SETTLED_KINDS = ("invoice", "interest_note", "fee")
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


# ---------------------------------------------------------------------------- options


@dataclass(frozen=True)
class ImportOptions:
    kind: str
    path: Path
    format: str = "csv"
    delimiter: str | None = None
    encoding: str = "utf-8-sig"
    mapping: Mapping[str, Source] = field(default_factory=dict)
    date_format: str | None = None
    company: str | None = None
    currency: str | None = None
    accounting_currency: str | None = None
    decimal_comma: bool = False
    actor: str = "import"
    batch_size: int = 5000
    concurrency: int = 4
    rejects: Path | None = None
    register_missing_customers: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ImportOptions:
        path = Path(args.file)
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
        fmt = args.format or ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv")
        mapping: dict[str, Source] = {}
        for spec in args.map or ():
            name, source = parse_map(spec)
            if name not in FIELDS[args.kind]:
                raise UsageError(
                    f"--map {spec!r}: {args.kind} have no field {name!r}; fields: "
                    + ", ".join(FIELDS[args.kind])
                )
            mapping[name] = source
        if args.batch_size < 1:
            raise UsageError("--batch-size must be at least 1")
        if not 1 <= args.concurrency <= 8:
            raise UsageError("--concurrency must be between 1 and 8")
        currency = args.currency.upper() if args.currency else None
        if args.register_missing_customers and args.kind not in ("invoices", "payments"):
            raise UsageError("--register-missing-customers applies to invoices and payments")
        if args.register_missing_customers and not currency:
            raise UsageError("--register-missing-customers needs --currency for new customers")
        return cls(
            kind=args.kind,
            path=path,
            format=fmt,
            delimiter=_delimiter(args.delimiter),
            encoding=args.encoding,
            mapping=mapping,
            date_format=args.date_format,
            company=args.company,
            currency=currency,
            accounting_currency=(
                args.accounting_currency.upper() if args.accounting_currency else None
            ),
            decimal_comma=args.decimal_comma,
            actor=args.actor,
            batch_size=args.batch_size,
            concurrency=args.concurrency,
            rejects=Path(args.rejects) if args.rejects else None,
            register_missing_customers=args.register_missing_customers,
        )


def _delimiter(value: str | None) -> str | None:
    if value is None:
        return None
    value = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}.get(
        value.lower(), value
    )
    if len(value) != 1:
        raise UsageError(f"--delimiter {value!r}: give one character (or 'tab')")
    return value


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Record:
    """One data row of the file: its 1-based number and its values by column."""

    number: int
    values: Mapping[str, Any]
    error: RowError | None = None


class CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read from it (for the progress bar)."""

    def __init__(self, path: Path) -> None:
        self.raw = path.open("rb", buffering=0)
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        read = self.raw.readinto(buffer) or 0
        self.count += read
        return read

    def close(self) -> None:
        self.raw.close()
        super().close()


class SourceFile:
    """The open import file: its columns (CSV header; None for JSON lines) and its records."""

    def __init__(self, options: ImportOptions) -> None:
        self.options = options
        self.size = options.path.stat().st_size
        self._counter = CountingReader(options.path)
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._counter), encoding=options.encoding, newline=""
        )
        self.columns: list[str] | None = None
        self.delimiter: str | None = None
        try:
            if options.format == "csv":
                self.delimiter = options.delimiter or self._sniff()
                self._csv = csv.reader(self._text, delimiter=self.delimiter)
                header = next(self._csv, None)
                if header is None:
                    raise UsageError(f"{options.path}: the file is empty (no header row)")
                self.columns = [name.strip() for name in header]
        except (UnicodeDecodeError, csv.Error) as exc:
            self.close()
            raise UsageError(f"{options.path}: cannot read the header: {exc}") from None
        except BaseException:
            self.close()
            raise

    @property
    def bytes_read(self) -> int:
        return self._counter.count

    def close(self) -> None:
        self._text.close()

    def _sniff(self) -> str:
        """The candidate delimiter that splits the header into the most columns and the
        first lines into as many (csv.Sniffer is fooled by decimal commas)."""
        with self.options.path.open("rb") as head:
            sample = head.read(64 * 1024).decode(self.options.encoding, errors="replace")
        lines = [line for line in sample.splitlines()[:50] if line.strip()]
        if len(lines) > 1:
            lines = lines[:-1]  # the last line of the sample may be cut short
        best, best_score = ",", (0.0, 0)
        for candidate in ",;\t|":
            widths = [len(row) for row in csv.reader(lines, delimiter=candidate)]
            if not widths or widths[0] < 2:
                continue
            fitting = sum(1 for w in widths if w == widths[0]) / len(widths)
            if (fitting, widths[0]) > best_score:
                best, best_score = candidate, (fitting, widths[0])
        return best

    def records(self) -> Iterator[Record]:
        if self.columns is None:
            return self._json_records()
        return self._csv_records(self.columns)

    def _csv_records(self, header: list[str]) -> Iterator[Record]:
        number = 0
        while True:
            try:
                values = next(self._csv)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                yield Record(number + 1, {}, RowError("unreadable_file", f"reading stopped: {exc}"))
                return
            number += 1
            if not any(v.strip() for v in values):
                continue  # a blank line keeps its row number but is no record
            record = dict(zip(header, values, strict=False))
            extra = [v for v in values[len(header) :] if v.strip()]
            if extra or len(values) < len(header):
                error = RowError(
                    "malformed_row",
                    f"{len(values)} values where the header has {len(header)} columns",
                )
                yield Record(number, record, error)
            else:
                yield Record(number, record)

    def _json_records(self) -> Iterator[Record]:
        number = 0
        while True:
            try:
                line = self._text.readline()
            except UnicodeDecodeError as exc:
                yield Record(number + 1, {}, RowError("unreadable_file", f"reading stopped: {exc}"))
                return
            if not line:
                return
            number += 1
            if not line.strip():
                continue
            try:
                value = json.loads(line, parse_float=str, parse_int=str)
            except json.JSONDecodeError as exc:
                yield Record(
                    number,
                    {"line": line.rstrip("\r\n")},
                    RowError("invalid_json", f"{exc.msg} at column {exc.colno}"),
                )
                continue
            if not isinstance(value, dict):
                yield Record(
                    number,
                    {"line": line.rstrip("\r\n")},
                    RowError("invalid_json", "a line must hold one JSON object"),
                )
                continue
            yield Record(number, value)


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


# ---------------------------------------------------------------------------- reporting


@dataclass
class ImportSummary:
    kind: str
    path: Path
    correlation_id: str
    rows: int = 0
    accepted: int = 0
    present: int = 0
    rejected: int = 0
    events: int = 0
    customers_registered: int = 0
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def text(self) -> str:
        lines = [
            f"{self.kind} from {self.path.name}: {self.rows} rows read in {self.seconds:.1f} s "
            f"({self.rows_per_second:,.0f} rows/s)",
            f"  accepted         {self.accepted:>9,}",
            f"  already present  {self.present:>9,}",
            f"  rejected         {self.rejected:>9,}",
            f"  events appended  {self.events:>9,}",
        ]
        if self.customers_registered:
            lines.append(f"  customers registered {self.customers_registered:>5,}")
        lines.append(f"  import job       {self.correlation_id}")
        return "\n".join(lines)


Rejection = Callable[[Record, str, str], None]


class RejectsFile:
    """Every rejected row as CSV: row, code, reason, then the row's own values."""

    def __init__(self, path: Path, columns: list[str] | None) -> None:
        self.columns = columns
        self._file = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(["row", "code", "reason", *(columns or ["record"])])

    def write(self, record: Record, code: str, reason: str) -> None:
        if self.columns is None:
            values = [json.dumps(dict(record.values), ensure_ascii=False)]
        else:
            values = [text_of(record.values.get(c)) or "" for c in self.columns]
        self._writer.writerow([record.number, code, reason, *values])

    def close(self) -> None:
        self._file.close()


# ---------------------------------------------------------------------------- the import


@dataclass
class _Result:
    """What became of one row: accepted (events), already present, or rejected."""

    outcome: str
    events: int = 0
    code: str = ""
    reason: str = ""


class Importer:
    """Sends a file's rows through the ledger in batches and accounts for every row."""

    def __init__(
        self,
        ledger: Ledger,
        options: ImportOptions,
        *,
        on_reject: Rejection,
        on_progress: Callable[[int, int | None], None] = lambda done, total: None,
    ) -> None:
        self.ledger = ledger
        self.options = options
        self.on_reject = on_reject
        self.on_progress = on_progress
        self.correlation_id = f"import-{uuid7().hex}"
        self.summary = ImportSummary(options.kind, options.path, self.correlation_id)
        self._customers_seen: set[tuple[str, str]] = set()

    async def run(self, source: SourceFile) -> ImportSummary:
        started = time.perf_counter()
        kind = self.options.kind
        fields_of = self._field_resolver(source)
        batch: list[Item] = []
        self.on_progress(0, source.size)
        for record in source.records():
            self.summary.rows += 1
            batch.append(parse_item(kind, record, fields_of(record), self.options))
            if len(batch) >= self.options.batch_size:
                await self._flush(batch)
                batch = []
                self.on_progress(source.bytes_read, source.size)
        if batch:
            await self._flush(batch)
        self.on_progress(source.size, source.size)
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    def _field_resolver(self, source: SourceFile) -> Callable[[Record], Mapping[str, Source]]:
        fields, mapping = FIELDS[self.options.kind], self.options.mapping
        if source.columns is not None:
            fixed = resolve_fields(fields, mapping, source.columns)
            return lambda record: fixed
        cache: dict[tuple[str, ...], dict[str, Source]] = {}

        def per_record(record: Record) -> Mapping[str, Source]:
            keys = tuple(record.values)
            if keys not in cache:
                if len(cache) > 1000:
                    cache.clear()
                cache[keys] = resolve_fields(fields, mapping, keys)
            return cache[keys]

        return per_record

    async def _flush(self, batch: list[Item]) -> None:
        results: dict[int, _Result] = {
            i: _Result("rejected", code=item.error.code, reason=item.error.reason)
            for i, item in enumerate(batch)
            if item.error is not None
        }
        ready = [i for i, item in enumerate(batch) if item.error is None]
        if self.options.kind == "settlements":
            results.update(await self._settle(batch, ready))
        else:
            results.update(await self._commands(batch, ready))
        for i, item in enumerate(batch):
            result = results[i]
            self.summary.events += result.events
            if result.outcome == "accepted":
                self.summary.accepted += 1
            elif result.outcome == "present":
                self.summary.present += 1
            else:
                self.summary.rejected += 1
                self.on_reject(item.record, result.code, result.reason)

    async def _execute(self, commands: Sequence[Command]) -> BulkResult:
        """`Ledger.execute_many`, with the customers spread over --concurrency lanes that run
        at once (a customer's commands stay in one lane, in file order)."""
        lanes: list[list[int]] = [[] for _ in range(self.options.concurrency)]
        lane_of: dict[tuple[str, str], int] = {}
        for index, command in enumerate(commands):
            stream = (command.company, command.customer_id)
            lanes[lane_of.setdefault(stream, len(lane_of) % len(lanes))].append(index)
        used = [lane for lane in lanes if lane]
        parts = await asyncio.gather(
            *(
                self.ledger.execute_many(
                    [commands[i] for i in indexes],
                    actor=self.options.actor,
                    correlation_id=self.correlation_id,
                )
                for indexes in used
            )
        )
        merged = BulkResult()
        for indexes, part in zip(used, parts, strict=True):
            merged.outcomes.update((indexes[i], done) for i, done in part.outcomes.items())
            merged.rejections.update((indexes[i], no) for i, no in part.rejections.items())
        return merged

    # -- customers, invoices, payments: one command per row

    async def _commands(self, batch: list[Item], ready: list[int]) -> dict[int, _Result]:
        results: dict[int, _Result] = {}
        if self.options.kind == "customers":
            ready = self._first_sightings(batch, ready, results)
        commands: list[Command] = []
        for i in ready:
            command = batch[i].command
            assert command is not None
            commands.append(command)
        registrations = self._registrations([batch[i] for i in ready])
        bulk = await self._execute([*registrations, *commands])
        for index in range(len(registrations)):
            if index in bulk.outcomes and bulk.outcomes[index].events:
                self.summary.customers_registered += 1
                self.summary.events += len(bulk.outcomes[index].events)
        disputes: list[tuple[int, ChangeCollectionStatus]] = []
        for offset, i in enumerate(ready, start=len(registrations)):
            outcome = bulk.outcomes.get(offset)
            if outcome is not None:
                results[i] = _Result("accepted", events=len(outcome.events))
                if batch[i].disputed:
                    disputes.append((i, _dispute(batch[i], outcome)))
            else:
                results[i] = await self._refused(batch[i], bulk.rejections[offset])
        if self.options.kind == "customers":
            self._customers_seen.update(
                (command.company, command.customer_id)
                for i, command in zip(ready, commands, strict=True)
                if results[i].outcome != "rejected"
            )
        if disputes:
            await self._dispute(disputes, results)
        return results

    def _first_sightings(
        self, batch: list[Item], ready: list[int], results: dict[int, _Result]
    ) -> list[int]:
        """Customers files often repeat a customer on many rows (one per invoice): a customer
        an earlier batch registered or found is already present without asking the ledger."""
        unseen = []
        for i in ready:
            command = batch[i].command
            assert command is not None
            if (command.company, command.customer_id) in self._customers_seen:
                results[i] = _Result("present")
            else:
                unseen.append(i)
        return unseen

    def _registrations(self, items: Sequence[Item]) -> list[RegisterCustomer]:
        """With --register-missing-customers: a registration ahead of each customer's first
        row (refused as already registered, and so harmless, for customers that exist)."""
        if not self.options.register_missing_customers:
            return []
        currency = self.options.currency
        assert currency is not None
        seen: dict[tuple[str, str], RegisterCustomer] = {}
        for item in items:
            command = item.command
            assert command is not None
            stream = (command.company, command.customer_id)
            if stream not in seen:
                seen[stream] = RegisterCustomer(
                    company=command.company,
                    customer_id=command.customer_id,
                    profile=CustomerProfile(name=item.customer_name or command.customer_id),
                    currency=getattr(command, "currency", None) or currency,
                    accounting_currency=self.options.accounting_currency or currency,
                )
        return list(seen.values())

    async def _refused(self, item: Item, problem: Problem) -> _Result:
        if problem.code in PRESENT_CODES[self.options.kind]:
            command = item.command
            assert command is not None
            holder = await self._document_holder(command.company, problem)
            if holder is None or holder == command.customer_id:
                return _Result("present")
            return _Result(
                "rejected",
                code=problem.code,
                reason=f"{problem.detail}: it belongs to customer {holder}",
            )
        return _Result("rejected", code=problem.code, reason=problem.detail)

    async def _document_holder(self, company: str, problem: Problem) -> str | None:
        """The customer holding a document number the store found taken (None when the
        customer's own rules refused it: then it is on this customer)."""
        kind, number = problem.extra.get("document_type"), problem.extra.get("document_number")
        if not kind or not number:
            return None
        async with self.ledger.engine.connect() as conn:
            found = await store.find_document(conn, company, kind, number)
        return found[0] if found is not None else None

    async def _dispute(
        self, disputes: list[tuple[int, ChangeCollectionStatus]], results: dict[int, _Result]
    ) -> None:
        bulk = await self._execute([command for _, command in disputes])
        for offset, (i, _) in enumerate(disputes):
            outcome = bulk.outcomes.get(offset)
            if outcome is not None:
                results[i].events += len(outcome.events)
                continue
            problem = bulk.rejections[offset]
            results[i] = _Result(
                "rejected",
                events=results[i].events,
                code=problem.code,
                reason=f"the invoice was posted, but marking it disputed was refused: "
                f"{problem.detail}",
            )

    # -- settlements: idempotent by (payment document, invoice document)

    async def _settle(self, batch: list[Item], ready: list[int]) -> dict[int, _Result]:
        results: dict[int, _Result] = {}
        wanted: dict[int, SettlementRow] = {}
        for i in ready:
            request = batch[i].settlement
            assert request is not None
            wanted[i] = request
        streams = await self._settlement_streams(wanted, results)
        accounts = await self._accounts(set(streams.values()))
        commands: list[SettleTransactions] = []
        rows: list[int] = []
        submitted: set[tuple[str, str, str, str]] = set()
        for i, stream in streams.items():
            account = accounts[stream]
            try:
                command, pair = account.settle(wanted[i])
            except RowError as error:
                results[i] = _Result("rejected", code=error.code, reason=error.reason)
                continue
            except ValidationError as error:
                reason = validation_reason(error)
                results[i] = _Result("rejected", code="invalid_field", reason=reason)
                continue
            if pair in account.settled or (*stream, *pair) in submitted:
                results[i] = _Result("present")
                continue
            submitted.add((*stream, *pair))
            commands.append(command)
            rows.append(i)
        bulk = await self._execute(commands)
        for offset, i in enumerate(rows):
            outcome = bulk.outcomes.get(offset)
            if outcome is not None:
                results[i] = _Result("accepted", events=len(outcome.events))
            else:
                problem = bulk.rejections[offset]
                results[i] = _Result("rejected", code=problem.code, reason=problem.detail)
        return results

    async def _settlement_streams(
        self, wanted: Mapping[int, SettlementRow], results: dict[int, _Result]
    ) -> dict[int, tuple[str, str]]:
        """The customer stream of each settlement row: given, or the payment document's."""
        streams: dict[int, tuple[str, str]] = {}
        lookups = {i: r for i, r in wanted.items() if r.customer_id is None}
        for i, request in wanted.items():
            if request.customer_id is not None:
                streams[i] = (request.company, request.customer_id)
        if lookups:
            async with self.ledger.engine.connect() as conn:
                for i, request in lookups.items():
                    for kind in _PAYING_KINDS:
                        found = await store.find_document(
                            conn, request.company, kind, request.payment_document
                        )
                        if found is not None:
                            streams[i] = (request.company, found[0])
                            break
                    else:
                        results[i] = _Result(
                            "rejected",
                            code="unknown_document",
                            reason=f"no payment or credit note {request.payment_document} "
                            f"in company {request.company}",
                        )
        return streams

    async def _accounts(self, streams: set[tuple[str, str]]) -> dict[tuple[str, str], Account]:
        accounts = {}
        async with self.ledger.engine.connect() as conn:
            for company, customer_id in sorted(streams):
                history = await store.load_stream(conn, company, customer_id)
                accounts[(company, customer_id)] = Account(rebuild(company, customer_id, history))
        return accounts


def _dispute(item: Item, outcome: Outcome) -> ChangeCollectionStatus:
    command = item.command
    assert command is not None
    posted = next(e for e in outcome.events if isinstance(e, InvoicePosted))
    return ChangeCollectionStatus(
        company=command.company,
        customer_id=command.customer_id,
        transaction_id=posted.data.transaction_id,
        status=CollectionStatus.DISPUTED,
    )


class Account:
    """What settlement rows need of a customer's account: its documents by number and the
    (paying, settled) transaction pairs of every settlement in force."""

    def __init__(self, state: CustomerAccount) -> None:
        self.state = state
        self.documents: dict[tuple[str, str], str] = {
            (t.kind, t.document_number): t.transaction_id
            for t in state.transactions.values()
            if t.document_number is not None
        }
        self.settled = {
            (s.paying_transaction_id, part.transaction_id)
            for s in state.settlements.values()
            if not s.reversed
            for part in s.parts
        }

    def find(self, kinds: Sequence[str], number: str) -> str | None:
        return next(
            (self.documents[(k, number)] for k in kinds if (k, number) in self.documents), None
        )

    def settle(self, request: SettlementRow) -> tuple[SettleTransactions, tuple[str, str]]:
        """The command settling one row, and its (paying, settled) transaction pair."""
        state = self.state
        if not state.registered:
            raise RowError(
                "unknown_customer", f"no customer {state.customer_id} in company {state.company}"
            )
        paying = self.find(_PAYING_KINDS, request.payment_document)
        if paying is None:
            raise RowError(
                "unknown_document",
                f"no payment or credit note {request.payment_document} on customer "
                f"{state.customer_id}",
            )
        settled = self.find(_SETTLED_KINDS, request.invoice_document)
        if settled is None:
            raise RowError(
                "unknown_document",
                f"no invoice {request.invoice_document} on customer {state.customer_id}",
            )
        command = SettleTransactions(
            company=state.company,
            customer_id=state.customer_id,
            paying_transaction_id=paying,
            allocations=(AllocationRequest(transaction_id=settled, amount=request.amount),),
            settlement_date=request.settlement_date,
            exchange_rate=request.exchange_rate,
        )
        return command, (paying, settled)


# ---------------------------------------------------------------------------- entry points


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


async def import_file(
    ledger: Ledger,
    options: ImportOptions,
    *,
    on_reject: Rejection | None = None,
    on_progress: Callable[[int, int | None], None] = lambda done, total: None,
    err: IO[str] | None = None,
) -> ImportSummary:
    """Import one file through `ledger`; every rejected row goes to `err` (stderr) and to
    the --rejects file. Raises UsageError before importing anything when the file cannot
    work."""
    stream = err if err is not None else sys.stderr
    source = SourceFile(options)
    rejects: RejectsFile | None = None
    try:
        if source.columns is not None:
            fields = check_columns(options, source.columns)
            described = ", ".join(f"{name}<-{src}" for name, src in fields.items())
            print(f"{options.kind}: {described}", file=stream)
        if options.rejects is not None:
            rejects = RejectsFile(options.rejects, source.columns)

        def reject(record: Record, code: str, reason: str) -> None:
            print(f"row {record.number}: {code}: {reason}", file=stream)
            if rejects is not None:
                rejects.write(record, code, reason)
            if on_reject is not None:
                on_reject(record, code, reason)

        importer = Importer(ledger, options, on_reject=reject, on_progress=on_progress)
        return await importer.run(source)
    finally:
        source.close()
        if rejects is not None:
            rejects.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Import customers, invoices, payments or settlements from CSV or JSON lines through "
        "the ledger, streaming in batches. Re-importing a file appends nothing twice. Exit "
        "code 0 when no row was rejected, 1 otherwise, 2 when nothing could be imported. "
        "See docs/import.md."
    )
    parser.add_argument("kind", choices=KINDS, help="what the file holds")
    parser.add_argument("file", help="CSV file, or JSON lines (.jsonl, .ndjson)")
    parser.add_argument(
        "--format", choices=("csv", "jsonl"), help="file format (default: by extension)"
    )
    parser.add_argument("--delimiter", help="CSV delimiter (default: sniffed); 'tab' for tabs")
    parser.add_argument("--encoding", default="utf-8-sig", help="text encoding (default utf-8)")
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="take FIELD from COLUMN; FIELD='text {COLUMN} text' fills a template; "
        "FIELD==VALUE sets a constant (repeatable)",
    )
    parser.add_argument(
        "--date-format", metavar="FORMAT", help="strptime format of dates (default ISO 8601)"
    )
    parser.add_argument("--company", help="company of every row without a company column")
    parser.add_argument("--currency", help="currency of rows without a currency column")
    parser.add_argument(
        "--accounting-currency", help="accounting currency of new customers (default: currency)"
    )
    parser.add_argument("--decimal-comma", action="store_true", help="amounts are written 1.234,56")
    parser.add_argument("--actor", default="import", help="actor recorded on every event")
    parser.add_argument(
        "--batch-size", type=int, default=5000, help="rows per ledger batch (default 5000)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="customers written at once, each in its own transaction (default 4)",
    )
    parser.add_argument("--rejects", metavar="FILE", help="also write rejected rows to FILE (CSV)")
    parser.add_argument(
        "--register-missing-customers",
        action="store_true",
        help="register unknown customers of invoices/payments (name: customer_name or id)",
    )
    parser.add_argument("--schema", default="ledger", help="the ledger's database schema")


def run(
    args: argparse.Namespace, database_url: Callable[[], tuple[str, LocalPostgres | None]]
) -> int:
    from arrears.cli.ledger_access import open_ledger
    from arrears.cli.progress import progress_bar

    try:
        options = ImportOptions.from_args(args)
    except UsageError as error:
        print(f"arrears import: {error}", file=sys.stderr)
        return 2
    url, postgres = database_url()
    try:

        async def load() -> ImportSummary:
            async with open_ledger(url, schema=args.schema) as ledger:
                with progress_bar(f"import {options.kind}", "bytes") as report:
                    return await import_file(ledger, options, on_progress=report)

        summary = asyncio.run(load())
    except UsageError as error:
        print(f"arrears import: {error}", file=sys.stderr)
        return 2
    finally:
        if postgres is not None:
            postgres.stop()
    print(summary.text())
    return 0 if summary.rejected == 0 else 1
