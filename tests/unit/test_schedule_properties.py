"""Properties of business-hours arithmetic, for random schedules, receipts and targets.

Receipts fall between January 2025 and mid-2027, so the counting crosses Spring Festivals,
National Days, make-up working days and the unpublished (guessed) year 2027.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.calendar import WorkCalendar, package_year
from ledger.domain.schedule import DAY_SECONDS, Interval, Schedule
from ledger.domain.zones import zone_named

CAL = WorkCalendar({2025: package_year(2025), 2026: package_year(2026)})
# Zones without daylight saving, by name and by fixed offset.
ZONES = st.sampled_from(
    [
        ZoneInfo("Asia/Shanghai"),
        zone_named("+08:00"),
        zone_named("-05:00"),
        ZoneInfo("Asia/Kolkata"),
    ]
)
# Half the receipts and targets on quarter hours, as the intervals are, so that many due
# times land exactly on a closing time.
_ANY_RECEIPT = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 30))
RECEIPTS = st.one_of(
    _ANY_RECEIPT,
    _ANY_RECEIPT.map(lambda d: d.replace(minute=d.minute // 15 * 15, second=0, microsecond=0)),
)
TARGETS = st.one_of(
    st.integers(min_value=1, max_value=200 * 3600).map(lambda s: timedelta(seconds=s)),
    st.integers(min_value=1, max_value=800).map(lambda q: timedelta(minutes=15 * q)),
)
ALWAYS = (Interval(0, DAY_SECONDS),)
HOTLINE = Schedule("hotline_24x7", (ALWAYS,) * 7, working_days_only=False)


@st.composite
def day_hours(draw: st.DrawFn) -> tuple[Interval, ...]:
    """Up to three intervals on quarter hours, apart from each other, 24:00 included."""
    points = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))
    return tuple(
        Interval(a * 900, b * 900) for a, b in zip(points[::2], points[1::2], strict=False)
    )


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    working_days_only = draw(st.booleans())
    days = draw(st.lists(day_hours(), min_size=7, max_size=7))
    if working_days_only:
        days[5:] = [(), ()]
    if not any(days[:5]):
        days[0] = (Interval(9 * 3600, 18 * 3600),)
    open_weekdays = [i for i in range(5) if days[i]]
    make_up_day = draw(st.sampled_from(open_weekdays))
    return Schedule("random", tuple(days), working_days_only, make_up_day)


def inside_or_at_closing(schedule: Schedule, moment: datetime, tz: ZoneInfo) -> bool:
    """Whether ``moment`` lies in an opening interval or on its closing instant, by local time."""
    local = moment.astimezone(tz)
    day = local.date()
    seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    intervals, _ = schedule.opening(day, CAL)
    if any(i.start < seconds <= i.end for i in intervals):
        return True
    yesterday, _ = schedule.opening(day - timedelta(days=1), CAL)
    return seconds == 0 and any(i.end == DAY_SECONDS for i in yesterday)


@settings(max_examples=300, deadline=None)
@given(schedule=schedules(), received=RECEIPTS, target=TARGETS, tz=ZONES)
def test_the_business_time_from_receipt_to_due_is_the_target_and_due_is_within_hours(
    schedule: Schedule, received: datetime, target: timedelta, tz: ZoneInfo
) -> None:
    start = received.replace(tzinfo=tz)

    due, estimated = schedule.add_business_time(start, target, CAL, tz)
    counted, _ = schedule.business_time(start, due, CAL, tz)

    assert counted == target
    assert due > start
    assert inside_or_at_closing(schedule, due, tz)
    # Counting examined the days up to the one whose open time it used last.
    last_day = (due - timedelta(microseconds=1)).astimezone(tz).date()
    assert estimated is (schedule.working_days_only and last_day.year >= 2027)


@settings(max_examples=200, deadline=None)
@given(schedule=schedules(), received=RECEIPTS, gaps=st.tuples(TARGETS, TARGETS), tz=ZONES)
def test_business_time_adds_up_over_consecutive_spans(
    schedule: Schedule, received: datetime, gaps: tuple[timedelta, timedelta], tz: ZoneInfo
) -> None:
    a = received.replace(tzinfo=tz)
    b, c = a + gaps[0], a + gaps[0] + gaps[1]

    whole, _ = schedule.business_time(a, c, CAL, tz)
    first, _ = schedule.business_time(a, b, CAL, tz)
    second, _ = schedule.business_time(b, c, CAL, tz)

    assert whole == first + second
    assert timedelta(0) <= whole <= c - a


@settings(max_examples=100, deadline=None)
@given(received=RECEIPTS, target=TARGETS, tz=ZONES)
def test_a_schedule_open_every_hour_of_every_day_is_the_wall_clock(
    received: datetime, target: timedelta, tz: ZoneInfo
) -> None:
    start = received.replace(tzinfo=tz)

    due, estimated = HOTLINE.add_business_time(start, target, CAL, tz)

    assert (due, estimated) == (start + target, False)
