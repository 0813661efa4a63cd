"""Business time over long spans (more than a week) is measured with per-year tables of open
time; it must equal the day-by-day count, estimated mark included, across published and
guessed years and in a zone with daylight saving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.schedule import Schedule
from tests.unit.test_schedule_properties import CAL, RECEIPTS, ZONES, schedules

SPANS = st.integers(min_value=0, max_value=800 * 24 * 3600).map(lambda s: timedelta(seconds=s))
WITH_DST = st.one_of(ZONES, st.just(ZoneInfo("Europe/Berlin")))


def day_by_day(
    schedule: Schedule, start: datetime, end: datetime, tz: ZoneInfo
) -> tuple[timedelta, bool]:
    """The same measure in pieces of at most six days, each counted a day at a time."""
    total, estimated, moment = timedelta(0), False, start
    while moment < end:
        step = min(end, moment + timedelta(days=6))
        part, guessed = schedule.business_time(moment, step, CAL, tz)
        total, estimated, moment = total + part, estimated or guessed, step
    return total, estimated


@settings(max_examples=300, deadline=None)
@given(schedule=schedules(), received=RECEIPTS, span=SPANS, tz=WITH_DST)
def test_a_long_span_measures_what_the_days_add_up_to(
    schedule: Schedule, received: datetime, span: timedelta, tz: ZoneInfo
) -> None:
    start = received.replace(tzinfo=tz).astimezone(UTC)

    found = schedule.business_time(start, start + span, CAL, tz)

    assert found == day_by_day(schedule, start, start + span, tz)
