"""Typed errors of the timeline domain.

Each carries a stable snake_case `code`, a human `detail` and the HTTP status the edge
answers with:

- `InvalidCursor` (400): a page cursor that this service did not hand out, or one of
  another list;
- `InvalidRange` (422): a date range whose start follows its end.
"""

from __future__ import annotations

from typing import ClassVar


class TimelineError(Exception):
    """Base of every error raised by the timeline domain."""

    status: ClassVar[int] = 400

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.detail!r})"


class InvalidCursor(TimelineError):
    """A cursor that cannot be decoded into a position of the list it was sent to."""

    status: ClassVar[int] = 400


class InvalidRange(TimelineError):
    """A date range that ends before it starts."""

    status: ClassVar[int] = 422
