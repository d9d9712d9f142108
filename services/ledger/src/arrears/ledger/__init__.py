"""Arrears ledger service."""
