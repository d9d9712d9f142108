"""Sign-in throttling after too many failures of one login in a window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.gateway.domain.throttling import Throttle

pytestmark = pytest.mark.unit
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
THROTTLE = Throttle(5, timedelta(minutes=15))


def ago(*minutes: float) -> list[datetime]:
    return [NOW - timedelta(minutes=m) for m in minutes]


def test_four_failures_let_one_try_again_the_fifth_throttles() -> None:
    assert THROTTLE.retry_after(ago(1, 2, 3, 4), None, NOW) is None
    assert THROTTLE.retry_after(ago(1, 2, 3, 4, 5), None, NOW) == 10 * 60


def test_old_failures_and_failures_before_a_success_do_not_count() -> None:
    assert THROTTLE.retry_after(ago(1, 2, 3, 4, 16), None, NOW) is None
    assert THROTTLE.retry_after(ago(5, 6, 7, 8, 9), NOW - timedelta(minutes=4), NOW) is None
    assert THROTTLE.retry_after(ago(1, 2, 3, 4, 9), NOW - timedelta(minutes=5), NOW) is None


def test_the_wait_ends_when_the_fifth_last_failure_leaves_the_window() -> None:
    failures = ago(0.5, 1, 2, 3, 4, 14.5)
    assert THROTTLE.retry_after(failures, None, NOW) == 11 * 60
    later = NOW + timedelta(minutes=11)
    assert THROTTLE.retry_after(failures, None, later) is None


@given(st.lists(st.floats(min_value=0, max_value=30), max_size=20))
def test_the_wait_is_never_longer_than_the_window(minutes: list[float]) -> None:
    wait = THROTTLE.retry_after(ago(*minutes), None, NOW)
    recent = sum(1 for m in minutes if m < 15)
    assert (wait is None) == (recent < 5)
    if wait is not None:
        assert 1 <= wait <= 15 * 60
