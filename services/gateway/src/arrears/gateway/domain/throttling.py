"""Sign-in throttling: after too many failures of one login in a window, wait.

Failures count from the last successful sign-in, within `window` seconds of now. When
`max_failures` of them are there, further attempts are refused, the right password
included, until the oldest of the last `max_failures` failures is `window` seconds old.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Throttle:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)

    def retry_after(
        self, failures: Sequence[datetime], last_success: datetime | None, now: datetime
    ) -> int | None:
        """Seconds to wait before the next attempt, or None when one may try now."""
        recent = sorted(
            f
            for f in failures
            if now - f < self.window and (last_success is None or f > last_success)
        )
        if len(recent) < self.max_failures:
            return None
        oldest_counted = recent[-self.max_failures]
        wait = (oldest_counted + self.window - now).total_seconds()
        return max(1, math.ceil(wait))
