"""Terms of payment: the due date of a document from a terms code.

Understood forms (case and spacing do not matter):

- net N days: "net 30", "NET30", "Net30", "net 30 days", "30 days", "N days";
- end of month plus N days: "EOM+30", "EOM 30", "end of month + 15", "EOM" (plus 0):
  due on the last day of the document's month plus N days;
- "due on receipt", "immediate", "cod": due on the document date.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

MAX_TERM_DAYS = 3660

_NET = re.compile(r"^(?:net\s*(\d{1,4})(?:\s*days?)?|(\d{1,4})\s*days?(?:\s*net)?)$")
_EOM = re.compile(r"^(?:eom|end\s*of\s*(?:the\s*)?month)(?:\s*\+?\s*(\d{1,4})(?:\s*days?)?)?$")
_IMMEDIATE = re.compile(r"^(?:due\s*on\s*receipt|immediate(?:ly)?|cod|net\s*0)$")


@dataclass(frozen=True)
class PaymentTerms:
    """Parsed terms: `days` after the document date ("net") or after its month's end ("eom")."""

    basis: Literal["net", "eom"]
    days: int

    def due_date(self, document_date: date) -> date:
        """Due date of a document dated `document_date` under these terms."""
        start = document_date
        if self.basis == "eom":
            last = calendar.monthrange(document_date.year, document_date.month)[1]
            start = document_date.replace(day=last)
        return start + timedelta(days=self.days)


def parse_payment_terms(text: str) -> PaymentTerms | None:
    """The terms a code stands for, or None when it is not understood."""
    normalized = " ".join(text.strip().lower().split())
    if _IMMEDIATE.match(normalized):
        return PaymentTerms("net", 0)
    found = _NET.match(normalized)
    if found:
        days = int(found.group(1) or found.group(2))
        return PaymentTerms("net", days) if days <= MAX_TERM_DAYS else None
    found = _EOM.match(normalized)
    if found:
        days = int(found.group(1) or 0)
        return PaymentTerms("eom", days) if days <= MAX_TERM_DAYS else None
    return None


def due_date_from_terms(text: str, document_date: date) -> date | None:
    """Due date under the terms `text`, or None when the terms are not understood."""
    terms = parse_payment_terms(text)
    if terms is None:
        return None
    try:
        return terms.due_date(document_date)
    except OverflowError:
        return None
