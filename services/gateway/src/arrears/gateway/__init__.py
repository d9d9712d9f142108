"""Arrears gateway service."""
