"""Identifiers: time-ordered UUIDv7 event ids and the stream key of a customer account."""

from __future__ import annotations

import os
import time
import uuid


def uuid7(unix_ms: int | None = None) -> uuid.UUID:
    """A version 7 UUID (RFC 9562): 48-bit Unix milliseconds, then 74 random bits."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b, 62 bits
    return uuid.UUID(int=value)


def stream_key(company: str, customer_id: str) -> str:
    """The stream id of a customer account, also the Kafka message key."""
    return f"{company}/{customer_id}"


def reprint_id(event_id: object) -> str:
    """The id of the document an `InvoiceReprintRequested` produces (the notifier renders it
    under this id beside the collection letters; the workspace links the timeline entry to it)."""
    return f"reprint-{event_id}"
