"""Bank statements in: ISO 20022 camt.053/.054 read safely (`camt`), the customer each credit
pays for (`references`), and the import through the ledger's bulk path (`importer`, which
hands the payments to cash application), with its bookkeeping (`store`).
docs/cash-application.md is the user's guide."""

from arrears.ledger.statements.camt import Statement, StatementRefused, read_statements

__all__ = ["Statement", "StatementRefused", "read_statements"]
