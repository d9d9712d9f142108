"""`arrears import statement FILE`: a camt.053/.054 bank statement through the ledger
(`arrears.ledger.statements`); prints the import report. docs/cash-application.md is the
user's guide."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from arrears.cli.infra import LocalPostgres
from arrears.shared.errors import Problem

DEFAULT_COMPANY = "usmf"


def run(
    args: argparse.Namespace, database_url: Callable[[], tuple[str, LocalPostgres | None]]
) -> int:
    from arrears.cli.ledger_access import run_in_ledger
    from arrears.ledger.application import Ledger
    from arrears.ledger.settings import LedgerSettings
    from arrears.ledger.statements.importer import StatementReport, import_statements, read_document

    path = Path(args.file)
    if not path.is_file():
        print(f"arrears import: no file {path}", file=sys.stderr)
        return 2
    try:
        with path.open("rb") as source:
            statements = read_document(source, force=args.force)
    except Problem as problem:
        print(f"arrears import: {path.name} refused ({problem.code}): {problem.detail}",
              file=sys.stderr)  # fmt: skip
        return 2

    async def load(ledger: Ledger) -> list[StatementReport]:
        return await import_statements(
            ledger,
            statements,
            company=args.company or DEFAULT_COMPANY,
            force=args.force,
            actor=args.actor if args.actor != "import" else "bank-statement",
            policies=LedgerSettings().cash_policies(),
        )

    reports = run_in_ledger(database_url, args.schema, load)
    for report in reports:
        print(report.text())
    refused = sum(report.count("refused") for report in reports)
    return 0 if refused == 0 else 1
