"""Arrears aging service."""
