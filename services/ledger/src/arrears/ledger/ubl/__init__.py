"""E-invoices in: UBL 2.1 invoices and credit notes (PEPPOL BIS Billing 3.0) read safely
(`reader`) and posted through the ledger's bulk path (`importer`).
docs/cash-application.md is the user's guide."""
