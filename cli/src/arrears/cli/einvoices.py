"""`arrears import ubl FILE|DIR`: UBL invoices and credit notes through the ledger
(`arrears.ledger.ubl`); a folder imports every `.xml` file in it, in name order."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from arrears.cli.infra import LocalPostgres
from arrears.cli.statements import DEFAULT_COMPANY

MAX_DOCUMENT_BYTES = 16_000_000


def run(
    args: argparse.Namespace, database_url: Callable[[], tuple[str, LocalPostgres | None]]
) -> int:
    from arrears.cli.ledger_access import run_in_ledger
    from arrears.ledger.application import Ledger
    from arrears.ledger.settings import LedgerSettings
    from arrears.ledger.ubl.importer import DocumentLine, import_documents

    path = Path(args.file)
    files = sorted(path.glob("*.xml")) if path.is_dir() else [path]
    if not files or not all(f.is_file() for f in files):
        print(f"arrears import: no UBL file at {path}", file=sys.stderr)
        return 2
    sources = []
    for file in files:
        if file.stat().st_size > MAX_DOCUMENT_BYTES:
            sources.append((file.name, b""))  # refused as not well-formed, with the others
            continue
        sources.append((file.name, file.read_bytes()))

    async def load(ledger: Ledger) -> list[DocumentLine]:
        return await import_documents(
            ledger,
            sources,
            company=args.company or DEFAULT_COMPANY,
            accounting_currency=args.accounting_currency,
            actor=args.actor if args.actor != "import" else "e-invoice",
            policies=LedgerSettings().cash_policies(),
        )

    lines = run_in_ledger(database_url, args.schema, load)
    for line in lines:
        print(line.text())
    posted = sum(1 for line in lines if line.outcome in ("posted", "proposed"))
    present = sum(1 for line in lines if line.outcome == "present")
    refused = sum(1 for line in lines if line.outcome == "refused")
    print(
        f"{len(lines)} documents: {posted} posted or proposed, {present} already present, "
        f"{refused} refused"
    )
    return 0 if refused == 0 else 1
