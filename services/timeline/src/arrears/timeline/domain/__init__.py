"""The timeline service's pure domain: no I/O, no clock; `now` and `today` are passed in.

- events -> read model: `project` (an `Entry`, its `Link`s to transactions and settlements,
  an `ActivityPatch`, a customer name), one rule per event type in `RULES` (module
  `entries`); `entry_count`, the entries a stream's events make;
- activities: `patch_of`, `fold` -> `ActivityState`, `activity_entry`, `is_overdue`,
  `overdue_as_json` (module `activities`);
- promises: `promise_outcomes` links each promise to its judgement;
- paging: `window`, keyset cursors for entries and activities (module `paging`);
- errors: `TimelineError`, `InvalidCursor`, `InvalidRange`.
"""

from .activities import (
    ActivityPatch,
    ActivityState,
    fold,
    is_overdue,
    overdue_as_json,
    patch_of,
)
from .entries import (
    RULES,
    Entry,
    EntryType,
    Link,
    Projected,
    PromiseFact,
    activity_entry,
    covered_types,
    entry_count,
    latest_names,
    project,
    promise_outcomes,
)
from .errors import InvalidCursor, InvalidRange, TimelineError
from .paging import (
    DEFAULT_WINDOW_DAYS,
    ActivityKey,
    EntryKey,
    Window,
    activity_cursor,
    entry_cursor,
    parse_activity_cursor,
    parse_entry_cursor,
    window,
)

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "RULES",
    "ActivityKey",
    "ActivityPatch",
    "ActivityState",
    "Entry",
    "EntryKey",
    "EntryType",
    "InvalidCursor",
    "InvalidRange",
    "Link",
    "Projected",
    "PromiseFact",
    "TimelineError",
    "Window",
    "activity_cursor",
    "activity_entry",
    "covered_types",
    "entry_count",
    "entry_cursor",
    "fold",
    "is_overdue",
    "latest_names",
    "overdue_as_json",
    "parse_activity_cursor",
    "parse_entry_cursor",
    "patch_of",
    "project",
    "promise_outcomes",
    "window",
]
