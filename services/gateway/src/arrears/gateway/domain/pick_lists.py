"""The pick-lists of the action forms: reason codes, write-off accounts and bank return
reasons, configurable per company.

A company that has not configured a list uses its defaults. A form's choice is checked
against the company's list on the server, so a code that is not on it is refused however
the form was sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$")
LONGEST_LABEL = 200
LONGEST_LIST = 100


class PickList(StrEnum):
    REASON_CODES = "reason-codes"
    WRITE_OFF_ACCOUNTS = "write-off-accounts"
    BANK_RETURN_REASONS = "bank-return-reasons"

    @property
    def heading(self) -> str:
        return HEADINGS[self]

    @property
    def words(self) -> str:
        """How a message names the list: "reason codes"."""
        return HEADINGS[self].split(" (")[0].lower()


HEADINGS = {
    PickList.REASON_CODES: "Reason codes (collection status changes and write-offs)",
    PickList.WRITE_OFF_ACCOUNTS: "Write-off accounts",
    PickList.BANK_RETURN_REASONS: "Bank return reasons (NSF payments)",
}


@dataclass(frozen=True, slots=True)
class Entry:
    code: str
    label: str


DEFAULTS: Mapping[PickList, tuple[Entry, ...]] = {
    PickList.REASON_CODES: (
        Entry("PRICE", "Price disagreement"),
        Entry("QUALITY", "Quality or damage"),
        Entry("DELIVERY", "Not delivered or incomplete"),
        Entry("DOCUMENTS", "Missing or wrong documents"),
        Entry("SMALL", "Small balance"),
        Entry("UNCOLLECTIBLE", "Uncollectible"),
        Entry("OTHER", "Other"),
    ),
    PickList.WRITE_OFF_ACCOUNTS: (
        Entry("6100", "Bad debt expense"),
        Entry("6110", "Small balance write-off"),
        Entry("6120", "Disputed amounts written off"),
    ),
    PickList.BANK_RETURN_REASONS: (
        Entry("R01", "Insufficient funds"),
        Entry("R02", "Account closed"),
        Entry("R03", "No account, unable to locate"),
        Entry("R08", "Payment stopped"),
        Entry("R09", "Uncollected funds"),
    ),
}


class NotOnTheList(ValueError):
    """A code the company's list does not hold (or a list that is not acceptable)."""


@dataclass(frozen=True, slots=True)
class PickLists:
    """A company's lists: what it configured, the defaults for the rest."""

    lists: Mapping[PickList, tuple[Entry, ...]]

    @classmethod
    def of(cls, configured: Mapping[PickList, Sequence[Entry]]) -> PickLists:
        return cls({name: tuple(configured.get(name) or DEFAULTS[name]) for name in PickList})

    def entries(self, name: PickList) -> tuple[Entry, ...]:
        return self.lists[name]

    def check(self, name: PickList, code: str | None, *, required: bool) -> str | None:
        """The code when the list holds it; None when none was chosen and none is needed."""
        if code is None:
            if required:
                raise NotOnTheList(f"choose one of the {name.words}")
            return None
        if code not in {e.code for e in self.lists[name]}:
            raise NotOnTheList(f"{code} is not one of the {name.words}")
        return code


def entries_from_rows(codes: Sequence[str], labels: Sequence[str]) -> tuple[Entry, ...]:
    """A list edited as rows of (code, label): empty rows are dropped, the order is kept;
    codes are 1-50 letters, digits or . _ - (starting with a letter or digit), unique, and
    a list holds 1 to 100 entries."""
    if len(codes) != len(labels):
        raise NotOnTheList("every row needs its code and its description")
    entries: list[Entry] = []
    seen: set[str] = set()
    for number, (code, label) in enumerate(zip(codes, labels, strict=True), start=1):
        code, label = code.strip(), " ".join(label.split())
        if not code and not label:
            continue
        if not CODE.match(code):
            raise NotOnTheList(
                f"row {number}: a code is 1-50 letters, digits or . _ - (first a letter or digit)"
            )
        if code in seen:
            raise NotOnTheList(f"row {number}: the code {code} is there twice")
        if len(label) > LONGEST_LABEL:
            raise NotOnTheList(
                f"row {number}: a description has at most {LONGEST_LABEL} characters"
            )
        seen.add(code)
        entries.append(Entry(code, label or code))
    if not entries:
        raise NotOnTheList("a list needs at least one entry")
    if len(entries) > LONGEST_LIST:
        raise NotOnTheList(f"a list holds at most {LONGEST_LIST} entries")
    return tuple(entries)
