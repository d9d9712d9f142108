"""Cash application: unapplied payments matched to their customer's open transactions
(`matching`, pure), proposed, settled at once above the company's threshold and queued for
an agent otherwise (`application`), and the queue and rates read from the event store
(`queue`). docs/cash-application.md is the user's guide."""

from arrears.ledger.cash.application import (
    Applied,
    CashRequest,
    Policies,
    apply_cash,
    apply_unapplied,
)
from arrears.ledger.cash.matching import Clue, Match, Policy, match

__all__ = [
    "Applied",
    "CashRequest",
    "Clue",
    "Match",
    "Policies",
    "Policy",
    "apply_cash",
    "apply_unapplied",
    "match",
]
