"""Arrears timeline service."""
