"""Read your own writes: the page that follows a command shows what the command did.

A command's answer names the position it produced (`position`: company, customer, the last
stream sequence on each topic its events went to). The gateway keeps those positions with
the message it shows next (the flash), and before that page reads anything it asks each
read service the page shows for them (`GET …/customers/{id}/position?written=topic:N`,
answered once the service has applied what it reads of them, or after its bounded wait). A
service that has not caught up by then is named on the page with the time its figures are
as of; nothing waits twice and no page sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from arrears.gateway.upstream import Upstreams, customer_path
from arrears.shared.errors import Problem

PAGE_READERS = ("aging", "timeline")
"""The read models of the overview and the customer page (figures, lists, tabs; timeline
and activities)."""
SHOWS = {
    "aging": "balances and transactions",
    "timeline": "timeline and activities",
    "summary": "summary",
}


@dataclass(frozen=True, slots=True)
class Written:
    """A position of a customer's stream that a command produced: its last sequence on
    each topic its events went to."""

    company: str
    customer_id: str
    topics: tuple[tuple[str, int], ...]

    @classmethod
    def of_answer(cls, answer: Any) -> Written | None:
        """The position in a ledger command's answer (None when it appended nothing)."""
        found = answer.get("position") if isinstance(answer, Mapping) else None
        if not isinstance(found, Mapping):
            return None
        topics = tuple(sorted((str(t), int(s)) for t, s in found["topics"].items()))
        return cls(str(found["company"]), str(found["customer_id"]), topics)

    def as_json(self) -> list[Any]:
        return [self.company, self.customer_id, dict(self.topics)]

    @property
    def query(self) -> list[str]:
        """The read services' `written` parameter."""
        return [f"{topic}:{sequence}" for topic, sequence in self.topics]


def written_of(flash: Mapping[str, Any] | None) -> list[Written]:
    """The positions kept with a flash message (none when there is no message)."""
    kept = (flash or {}).get("written") or []
    return [
        Written(str(c), str(k), tuple(sorted((str(t), int(s)) for t, s in topics.items())))
        for c, k, topics in kept
    ]


def newest(written: Iterable[Written]) -> list[Written]:
    """One position per customer stream: the highest sequence on each topic."""
    highest: dict[tuple[str, str], dict[str, int]] = {}
    for w in written:
        topics = highest.setdefault((w.company, w.customer_id), {})
        for topic, sequence in w.topics:
            topics[topic] = max(topics.get(topic, 0), sequence)
    return [
        Written(company, customer, tuple(sorted(topics.items())))
        for (company, customer), topics in sorted(highest.items())
    ]


@dataclass(frozen=True, slots=True)
class Behind:
    """A read service that had not applied a command's position when the page was read."""

    service: str
    customer_id: str
    as_of: datetime | None
    """When the newest event it has applied was recorded (None: unknown or none)."""

    @property
    def text(self) -> str:
        what = SHOWS.get(self.service, self.service)
        if self.as_of is None:
            since = "its figures may not show your change yet"
        else:
            since = f"shown as of {self.as_of.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
        return (
            f"Figures are catching up with your change: the {what} of {self.customer_id} "
            f"are {since}. Reload in a moment to see it."
        )


async def catch_up(
    upstreams: Upstreams, written: Sequence[Written], services: Sequence[str] = PAGE_READERS
) -> list[Behind]:
    """Wait (boundedly, in the read services) until each service has applied each
    position; those that have not, with how current they are."""
    asks = [(s, w) for w in newest(written) for s in services]
    answers = await asyncio.gather(*(_applied(upstreams, s, w) for s, w in asks))
    return [found for found in answers if found is not None]


async def _applied(upstreams: Upstreams, service: str, written: Written) -> Behind | None:
    path = customer_path(written.company, written.customer_id, "/position")
    try:
        answer = await upstreams.get_json(service, path, {"written": written.query})
    except Problem:
        return Behind(service, written.customer_id, None)
    if answer.get("reached"):
        return None
    recorded = answer.get("recorded_at")
    as_of = datetime.fromisoformat(recorded) if recorded else None
    return Behind(service, written.customer_id, as_of)
