"""Arrears notifier service."""
