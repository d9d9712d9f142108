"""Reading an import file as a stream of records: CSV (any delimiter, sniffed) or JSON lines,
one record at a time with its row number, counting the bytes read for progress."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from arrears.ledger.imports.mapping import Record, RowError, UsageError
from arrears.ledger.imports.options import ImportOptions


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
