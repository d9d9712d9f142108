"""Prometheus metrics of the notifier: module-level constants, bounded labels."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EMAILS_REQUESTED = Counter(
    "arrears_notifier_emails_requested_total", "Email requests recorded, by purpose.", ["purpose"]
)
EMAIL_ATTEMPTS = Counter(
    "arrears_notifier_email_attempts_total",
    "SMTP attempts by purpose and outcome: delivered (sent), retry (a transient failure, "
    "tried again later) or failed (final).",
    ["purpose", "outcome"],
)
EMAIL_QUEUE = Gauge(
    "arrears_notifier_email_queue",
    "Emails waiting for an attempt (queued) or being attempted (sending).",
    ["status"],
)
SMTP_SECONDS = Histogram(
    "arrears_notifier_smtp_seconds",
    "Time of one SMTP attempt (connection included when one was made).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

GATE_DECISIONS = Counter(
    "arrears_notifier_gate_decisions_total",
    "Outbound gate decisions: allowed, refused, or overridden by a supervisor.",
    ["outcome"],
)
WEBHOOK_CALLS = Counter(
    "arrears_notifier_webhook_calls_total",
    "Webhook calls by outcome: delivered, pending (failed, tried again later) or failed (final).",
    ["outcome"],
)
WEBHOOK_SECONDS = Histogram(
    "arrears_notifier_webhook_seconds",
    "Latency of one webhook call, per subscription.",
    ["subscription"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WEBHOOK_PENDING = Gauge(
    "arrears_notifier_webhook_pending", "Webhook deliveries waiting to be delivered."
)


def count_attempt(purpose: str, outcome: str) -> None:
    EMAIL_ATTEMPTS.labels(purpose, outcome).inc()
