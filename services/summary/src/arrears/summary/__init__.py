"""Arrears summary service."""
