"""The clock setting (ARREARS_CLOCK): a date or an offset moves every service's time."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from arrears.shared.clock import OffsetClock, SystemClock, clock_of, clock_offset, offset_text
from arrears.shared.settings import ServiceSettings

pytestmark = pytest.mark.unit

AT = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


def test_a_date_is_the_whole_days_to_it_and_the_time_of_day_runs_on() -> None:
    assert clock_offset("2026-03-01", AT) == timedelta(days=-277)
    assert clock_offset("2027-01-02", AT) == timedelta(days=30)
    assert (AT + clock_offset("2026-03-01", AT)).date() == date(2026, 3, 1)
    assert clock_offset("2026-12-03", AT) == timedelta(0)


@pytest.mark.parametrize(
    ("setting", "offset"),
    [
        ("+30d", timedelta(days=30)),
        ("-2d", timedelta(days=-2)),
        ("+12h", timedelta(hours=12)),
        ("-90m", timedelta(minutes=-90)),
    ],
)
def test_an_offset_is_itself_and_reads_back_as_it_was_written(
    setting: str, offset: timedelta
) -> None:
    assert clock_offset(setting, AT) == offset
    assert clock_offset(offset_text(offset), AT) == offset


@pytest.mark.parametrize("setting", ["tomorrow", "30d", "+30y", "2026-13-01", "+d"])
def test_a_setting_that_means_nothing_is_refused(setting: str) -> None:
    with pytest.raises(ValueError, match="give a date"):
        clock_offset(setting, AT)
    with pytest.raises(ValidationError):
        ServiceSettings(clock=setting)


def test_unset_is_the_real_time_and_a_setting_moves_it() -> None:
    assert isinstance(clock_of(None), SystemClock) and isinstance(clock_of(""), SystemClock)
    moved = clock_of("+30d")
    assert isinstance(moved, OffsetClock)
    assert moved.today() - datetime.now(UTC).date() in (timedelta(days=30), timedelta(days=29))
    assert clock_of("2026-03-01").today() == date(2026, 3, 1)


def test_every_service_reads_the_setting_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from arrears.aging.settings import AgingSettings
    from arrears.gateway.settings import GatewaySettings
    from arrears.ledger.settings import LedgerSettings
    from arrears.notifier.settings import NotifierSettings
    from arrears.summary.settings import SummarySettings
    from arrears.timeline.settings import TimelineSettings

    monkeypatch.setenv("ARREARS_CLOCK", "2026-03-01")
    for cls in (
        LedgerSettings,
        AgingSettings,
        TimelineSettings,
        SummarySettings,
        NotifierSettings,
        GatewaySettings,
    ):
        assert cls().clock == "2026-03-01", cls


def test_the_stack_pins_a_date_as_an_offset_for_every_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from arrears.cli.stack import pin_clock

    # pin_clock sets the variable itself: setenv first, so that the test's end removes it
    # again (a moved clock left behind would move every later test's services).
    monkeypatch.setenv("ARREARS_CLOCK", "")
    monkeypatch.delenv("ARREARS_CLOCK")
    assert pin_clock(None) is None
    pinned = pin_clock("2026-03-01")
    assert pinned is not None and pinned.endswith("d")
    assert os.environ["ARREARS_CLOCK"] == pinned
    assert clock_of(pinned).today() == date(2026, 3, 1)
