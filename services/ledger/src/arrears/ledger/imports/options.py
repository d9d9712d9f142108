"""What an import is asked to do: the file, how to read it, where fields come from, and the
defaults rows lack. Built once and checked before any row is read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from arrears.ledger.imports.mapping import FIELDS, KINDS, Source, UsageError, parse_map

DELIMITERS = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}
MAX_CONCURRENCY = 8


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
    def create(
        cls,
        kind: str,
        path: Path | str,
        *,
        format: str | None = None,
        delimiter: str | None = None,
        encoding: str = "utf-8-sig",
        maps: Iterable[str] = (),
        date_format: str | None = None,
        company: str | None = None,
        currency: str | None = None,
        accounting_currency: str | None = None,
        decimal_comma: bool = False,
        actor: str = "import",
        batch_size: int = 5000,
        concurrency: int = 4,
        rejects: Path | str | None = None,
        register_missing_customers: bool = False,
    ) -> ImportOptions:
        """Options as given on a command line (`maps` as FIELD=COLUMN specs); UsageError
        when they cannot work."""
        if kind not in KINDS:
            raise UsageError(f"unknown import {kind!r}; one of {', '.join(KINDS)}")
        path = Path(path)
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
        fmt = format or ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv")
        mapping: dict[str, Source] = {}
        for spec in maps:
            name, source = parse_map(spec)
            if name not in FIELDS[kind]:
                raise UsageError(
                    f"--map {spec!r}: {kind} have no field {name!r}; fields: "
                    + ", ".join(FIELDS[kind])
                )
            mapping[name] = source
        if batch_size < 1:
            raise UsageError("--batch-size must be at least 1")
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise UsageError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
        currency = currency.upper() if currency else None
        if register_missing_customers and kind not in ("invoices", "payments"):
            raise UsageError("--register-missing-customers applies to invoices and payments")
        if register_missing_customers and not currency:
            raise UsageError("--register-missing-customers needs --currency for new customers")
        return cls(
            kind=kind,
            path=path,
            format=fmt,
            delimiter=delimiter_of(delimiter),
            encoding=encoding,
            mapping=mapping,
            date_format=date_format,
            company=company,
            currency=currency,
            accounting_currency=accounting_currency.upper() if accounting_currency else None,
            decimal_comma=decimal_comma,
            actor=actor,
            batch_size=batch_size,
            concurrency=concurrency,
            rejects=Path(rejects) if rejects else None,
            register_missing_customers=register_missing_customers,
        )


def delimiter_of(value: str | None) -> str | None:
    """A CSV delimiter given by character or name ('tab', 'semicolon', ...)."""
    if value is None:
        return None
    value = DELIMITERS.get(value.lower(), value)
    if len(value) != 1:
        raise UsageError(f"--delimiter {value!r}: give one character (or 'tab')")
    return value
