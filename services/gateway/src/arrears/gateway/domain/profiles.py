"""Customer profiles (contacts, internal team, open contracts) folded from profile facts.

Each `CustomerRegistered` and `CustomerProfileChanged` is kept as one fact keyed by the
customer's stream sequence; the profile is the fold of those facts in sequence order, where
an attribute a change leaves out (null) keeps its earlier value. Keyed facts make the read
model the same whatever order or however often the events arrive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    email: str | None = None
    phone: str | None = None
    role: str | None = None

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Contact:
        return cls(
            name=str(raw.get("name") or ""),
            email=raw.get("email"),
            phone=raw.get("phone"),
            role=raw.get("role"),
        )


@dataclass(frozen=True, slots=True)
class Profile:
    """What the customer page shows about whom to reach, beside the aging facts."""

    name: str | None = None
    collections_contact: Contact | None = None
    other_contacts: tuple[Contact, ...] = ()
    organization_phone: str | None = None
    organization_email: str | None = None
    language: str | None = None
    primary_contact: str | None = None
    employee_responsible: str | None = None
    open_contracts: int | None = None


def fold(changes: Iterable[tuple[int, Mapping[str, Any]]]) -> Profile | None:
    """The profile after every (sequence, attributes) fact, in sequence order; None when
    there is no fact."""
    merged: dict[str, Any] = {}
    seen = False
    for _sequence, attributes in sorted(changes, key=lambda fact: fact[0]):
        seen = True
        merged.update({k: v for k, v in attributes.items() if v is not None})
    if not seen:
        return None
    collections = merged.get("collections_contact")
    open_contracts = merged.get("open_contracts")
    return Profile(
        name=merged.get("name"),
        collections_contact=Contact.of(collections) if collections else None,
        other_contacts=tuple(Contact.of(c) for c in merged.get("other_contacts") or ()),
        organization_phone=merged.get("organization_phone"),
        organization_email=merged.get("organization_email"),
        language=merged.get("language"),
        primary_contact=merged.get("primary_contact"),
        employee_responsible=merged.get("employee_responsible"),
        open_contracts=None if open_contracts is None else int(open_contracts),
    )
