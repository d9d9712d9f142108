"""Prometheus metrics of the summary service: module-level constants, bounded labels."""

from __future__ import annotations

from prometheus_client import Counter

SUMMARIES = Counter(
    "arrears_summary_texts_total",
    "Summary texts kept, by writer and grounding outcome.",
    ["provider", "outcome"],
)
GROUNDING_FAILURES = Counter(
    "arrears_summary_grounding_failures_total",
    "Model texts rejected by the grounding check.",
    ["provider"],
)
LLM_REQUESTS = Counter(
    "arrears_summary_llm_requests_total",
    "Chat-completions requests, by HTTP status or 'timeout' / 'unreachable'.",
    ["outcome"],
)
REMINDERS = Counter(
    "arrears_summary_reminder_drafts_total",
    "Reminder drafts written, by language and tone.",
    ["language", "tone"],
)
