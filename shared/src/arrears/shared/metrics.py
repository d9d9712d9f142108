"""Prometheus metrics of the shared plumbing: module-level constants, bounded labels."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_APPLIED = Counter(
    "arrears_events_applied_total",
    "Events applied to a read model (first delivery).",
    ["consumer", "topic"],
)
EVENTS_DUPLICATE = Counter(
    "arrears_events_duplicate_total",
    "Redelivered events recognized by event_id and skipped.",
    ["consumer", "topic"],
)
EVENTS_DEAD_LETTERED = Counter(
    "arrears_events_dead_lettered_total",
    "Messages sent to a .dlq topic because they could not be parsed or broke the contract.",
    ["consumer", "topic"],
)
BATCH_SIZE = Histogram(
    "arrears_consumer_batch_size",
    "Messages per applied batch.",
    ["consumer"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
)
BATCH_SECONDS = Histogram(
    "arrears_consumer_batch_seconds",
    "Time to apply one batch (transaction included).",
    ["consumer"],
)
CONSUMER_LAG = Gauge(
    "arrears_consumer_lag",
    "Messages behind the partition's high watermark after the last batch.",
    ["consumer", "topic", "partition"],
)
PROJECTION_DELAY = Histogram(
    "arrears_projection_delay_seconds",
    "Delay from an event's recorded_at to its application in a read model.",
    ["consumer"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
BATCH_FAILURES = Counter(
    "arrears_consumer_batch_failures_total",
    "Batches whose transaction failed; they are redelivered.",
    ["consumer"],
)
HTTP_LATENCY = Histogram(
    "arrears_http_request_duration_seconds",
    "HTTP request latency.",
    ["method", "route", "status"],
)
CLIENT_WARNINGS = Counter(
    "arrears_client_warnings_total",
    "Warnings of the Kafka client (a topic missing, a broker unreachable), shown or not: the "
    "log shows one of a kind per 30 s.",
    ["logger"],
)
