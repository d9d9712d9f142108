"""The summary service's pure rules: read-model rows from events, facts from rows, the
deterministic writers, the grounding check and reminder drafts. No I/O, no clock."""

from .facts import Fact, FactKind, FactSheet, compute_facts, sources_of
from .formatting import SUPPORTED_LANGUAGES, language_of
from .grounding import Grounding, check
from .history import History, Item, items
from .records import (
    ActivityRow,
    AdjustmentRow,
    AgingRow,
    CustomerRow,
    LetterRow,
    PeriodAmount,
    ReturnRow,
    ReversalRow,
    Rows,
    SettledPart,
    SettlementRow,
    StatusRow,
    TransactionRow,
    UnknownCustomer,
    activity_id_of,
    aging_row_of,
    evolve_activity,
    evolve_customer,
    rows_of,
)
from .reminder import REMINDER_VERSION, Draft, ReminderRefused, Tone, draft_reminder, tone_for
from .template import TEMPLATE_VERSION, write_summary

__all__ = [
    "REMINDER_VERSION",
    "SUPPORTED_LANGUAGES",
    "TEMPLATE_VERSION",
    "ActivityRow",
    "AdjustmentRow",
    "AgingRow",
    "CustomerRow",
    "Draft",
    "Fact",
    "FactKind",
    "FactSheet",
    "Grounding",
    "History",
    "Item",
    "LetterRow",
    "PeriodAmount",
    "ReminderRefused",
    "ReturnRow",
    "ReversalRow",
    "Rows",
    "SettledPart",
    "SettlementRow",
    "StatusRow",
    "Tone",
    "TransactionRow",
    "UnknownCustomer",
    "activity_id_of",
    "aging_row_of",
    "check",
    "compute_facts",
    "draft_reminder",
    "evolve_activity",
    "evolve_customer",
    "items",
    "language_of",
    "rows_of",
    "sources_of",
    "tone_for",
    "write_summary",
]
