"""Imports of customers, invoices, payments and settlements from files, through the ledger's
bulk path.

- `mapping`: rows to commands, purely (columns, templates, constants, date and decimal
  formats);
- `options`: what an import is asked to do, checked before any row is read;
- `reader`: the file as a stream of numbered records (CSV or JSON lines);
- `importer`: chunks of rows through `Ledger.append_many`, every row accounted for.

docs/import.md is the user's guide.
"""

from arrears.ledger.imports.importer import (
    Importer,
    ImportSummary,
    Progress,
    RejectsFile,
    import_file,
)
from arrears.ledger.imports.mapping import (
    FIELDS,
    KINDS,
    REQUIRED,
    Record,
    RowError,
    UsageError,
    check_columns,
    parse_map,
)
from arrears.ledger.imports.options import ImportOptions

__all__ = [
    "FIELDS",
    "KINDS",
    "REQUIRED",
    "ImportOptions",
    "ImportSummary",
    "Importer",
    "Progress",
    "Record",
    "RejectsFile",
    "RowError",
    "UsageError",
    "check_columns",
    "import_file",
    "parse_map",
]
