"""Business-hours arithmetic: opening hours on China's 2026 working-day calendar.

The office is open Monday to Friday 09:00-12:00 and 13:30-18:00 (7.5 hours a day) on
working days. Every expected instant is counted by hand in the comment beside it, on the
2026 State Council notice as the ``holidays`` package models it: the Mid-Autumn Festival
on Friday 25 September, National Day from Thursday 1 to Wednesday 7 October, and the
make-up working days Sunday 20 September and Saturday 10 October.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ledger.domain.calendar import WorkCalendar, YearCalendar, package_year
from ledger.domain.errors import CalendarUnavailable
from ledger.domain.policy import parse_policy
from ledger.domain.schedule import Interval, Schedule
from ledger.domain.values import ClockName
from ledger.domain.zones import zone_named

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar({2025: package_year(2025), 2026: package_year(2026)})
DAY = (Interval.parse("09:00-12:00"), Interval.parse("13:30-18:00"))
OFFICE = Schedule("office", (DAY, DAY, DAY, DAY, DAY, (), ()))
ALWAYS = (Interval.parse("00:00-24:00"),)
HOTLINE = Schedule("hotline_24x7", (ALWAYS,) * 7, working_days_only=False)


def sh(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def due(start: datetime, hours: float, schedule: Schedule = OFFICE) -> datetime:
    at, estimated = schedule.add_business_time(start, timedelta(hours=hours), CAL, SH)
    assert estimated is False
    return at


@pytest.mark.parametrize(
    ("received", "hours", "expected"),
    [
        # Inside opening hours: Tuesday 10:00 + 1 h.
        (sh(11, 24, 10), 1, sh(11, 24, 11)),
        # Before opening: counting starts at 09:00.
        (sh(11, 24, 7, 30), 1, sh(11, 24, 10)),
        # After closing: nothing counts until Wednesday 09:00.
        (sh(11, 24, 20), 1, sh(11, 25, 10)),
        # Exactly at opening and exactly at closing.
        (sh(11, 24, 9), 1, sh(11, 24, 10)),
        (sh(11, 24, 18), 1, sh(11, 25, 10)),
        # Across lunch: 30 min before 12:00, 30 min from 13:30.
        (sh(11, 24, 11, 30), 1, sh(11, 24, 14)),
        # Received during lunch: counting starts at 13:30.
        (sh(11, 24, 12, 30), 1, sh(11, 24, 14, 30)),
        # Two whole days: 7.5 h Tuesday from 09:00, 7.5 h Wednesday, 1 h Thursday.
        (sh(11, 24, 9), 16, sh(11, 26, 10)),
    ],
    ids=[
        "inside",
        "before opening",
        "after closing",
        "at opening",
        "at closing",
        "across lunch",
        "at lunch",
        "over two days",
    ],
)
def test_business_hours_count_only_opening_hours_on_an_ordinary_week(
    received: datetime, hours: float, expected: datetime
) -> None:
    assert due(received, hours) == expected


@pytest.mark.parametrize(
    ("received", "hours", "expected"),
    [
        # Friday 27 Nov 22:00: Saturday and Sunday are closed -> Monday 30 Nov 10:00.
        (sh(11, 27, 22), 1, sh(11, 30, 10)),
        # Friday 27 Nov 17:30: 30 min on Friday, 30 min on Monday.
        (sh(11, 27, 17, 30), 1, sh(11, 30, 9, 30)),
        # Thursday 24 Sept 17:30: Friday 25 Sept is the Mid-Autumn holiday -> Monday 28 Sept.
        (sh(9, 24, 17, 30), 1, sh(9, 28, 9, 30)),
        # Saturday 19 Sept: Sunday 20 Sept is a make-up working day with Monday's hours.
        (sh(9, 19, 10), 1, sh(9, 20, 10)),
        # Eve of National Day, Wednesday 30 Sept 17:00, 24 h: 1 h on 30 Sept; 1-7 Oct are
        # closed; 7.5 h on Thursday 8, 7.5 h on Friday 9, 7.5 h on the make-up Saturday 10
        # Oct (23.5 h); the last 30 min on Monday 12 Oct.
        (sh(9, 30, 17), 24, sh(10, 12, 9, 30)),
        # Received on a holiday (Thursday 1 Oct): nothing counts until Thursday 8 Oct.
        (sh(10, 1, 10), 1, sh(10, 8, 10)),
        # Received on the last holiday, Wednesday 7 Oct, in what would be office hours.
        (sh(10, 7, 15), 2, sh(10, 8, 11)),
        # Received on the make-up Saturday itself.
        (sh(10, 10, 17), 2, sh(10, 12, 10)),
    ],
    ids=[
        "friday evening",
        "friday before closing",
        "mid-autumn friday",
        "make-up sunday",
        "national day eve across the make-up saturday",
        "on a holiday",
        "on the last holiday",
        "on the make-up saturday",
    ],
)
def test_business_hours_skip_weekends_and_holidays_and_open_on_make_up_days(
    received: datetime, hours: float, expected: datetime
) -> None:
    assert due(received, hours) == expected


@pytest.mark.parametrize(
    ("received", "hours", "expected"),
    [
        (sh(11, 24, 17), 1, sh(11, 24, 18)),
        (sh(11, 24, 9, 30), 2.5, sh(11, 24, 12)),
        (sh(11, 24, 9), 7.5, sh(11, 24, 18)),
        # Friday 27 Nov 20:00 + 7.5 h is Monday's whole day: due at Monday's closing.
        (sh(11, 27, 20), 7.5, sh(11, 30, 18)),
    ],
    ids=["evening closing", "lunch closing", "a whole day", "a whole day after a weekend"],
)
def test_a_due_time_on_closing_time_stays_at_closing_time(
    received: datetime, hours: float, expected: datetime
) -> None:
    assert due(received, hours) == expected


def test_a_make_up_working_day_keeps_the_hours_of_the_make_up_day() -> None:
    short_friday = (Interval.parse("09:00-12:00"),)
    schedule = Schedule("office", (DAY, DAY, DAY, DAY, short_friday, (), ()), make_up_day=4)

    result = due(sh(10, 9, 17), 4, schedule)

    # Friday 9 Oct 17:00: nothing left on Friday (closes 12:00); the make-up Saturday keeps
    # Friday's 3 h (09:00-12:00); the last hour on Monday 12 Oct, 09:00-10:00.
    assert result == sh(10, 12, 10)


def test_a_schedule_open_every_day_ignores_holidays_and_counts_like_the_wall_clock() -> None:
    received = sh(9, 30, 17)

    result = due(received, 24, HOTLINE)

    assert result == received + timedelta(hours=24)


@pytest.mark.parametrize(
    ("zone", "offset_zone"),
    [("Asia/Shanghai", "+08:00"), ("America/Bogota", "-05:00"), ("UTC", "+00:00")],
)
def test_a_zone_given_as_an_offset_counts_like_the_dst_free_zone_it_matches(
    zone: str, offset_zone: str
) -> None:
    received = datetime(2026, 11, 27, 14, 0, tzinfo=ZoneInfo("UTC"))
    by_name = OFFICE.add_business_time(received, timedelta(hours=9), CAL, zone_named(zone))

    by_offset = OFFICE.add_business_time(received, timedelta(hours=9), CAL, zone_named(offset_zone))

    assert by_offset == by_name


@pytest.mark.parametrize(
    ("zone", "expected_utc"),
    [
        # Friday 27 Nov 14:00 UTC is 22:00 in Shanghai: 9 h from Monday 09:00 local is
        # 7.5 h on Monday and 1.5 h on Tuesday -> Tuesday 1 Dec 10:30 (+08) = 02:30 UTC.
        ("+08:00", datetime(2026, 12, 1, 2, 30)),
        # 09:00 in Bogota (-05): 3 h on Friday 09:00-12:00, 4.5 h 13:30-18:00 -> 7.5 h,
        # 1.5 h on Monday -> Monday 30 Nov 10:30 (-05) = 15:30 UTC.
        ("-05:00", datetime(2026, 11, 30, 15, 30)),
        # 14:00 UTC, offices on UTC: 4 h left on Friday; 5 h on Monday, 3 h before lunch
        # and 2 h from 13:30 -> 15:30 UTC.
        ("+00:00", datetime(2026, 11, 30, 15, 30)),
        # Kolkata (+05:30, no daylight saving) names its zone: 19:30 local, closed; Monday
        # 09:00 + 7.5 h, then Tuesday 09:00 + 1.5 h -> 10:30 local = 05:00 UTC.
        ("Asia/Kolkata", datetime(2026, 12, 1, 5, 0)),
    ],
)
def test_opening_hours_are_local_to_the_policy_zone(zone: str, expected_utc: datetime) -> None:
    received = datetime(2026, 11, 27, 14, 0, tzinfo=ZoneInfo("UTC"))

    result, _ = OFFICE.add_business_time(received, timedelta(hours=9), CAL, zone_named(zone))

    assert result == expected_utc.replace(tzinfo=ZoneInfo("UTC"))


@pytest.mark.usefixtures("unknown_year")
def test_counting_into_an_unpublished_year_is_estimated() -> None:
    # Thursday 31 Dec 17:00 + 2 h: 1 h on 31 Dec, then 2027 (unpublished, the package's
    # guess: 1 Jan a holiday, 2-3 Jan the weekend) -> Monday 4 Jan 10:00, estimated.
    result = OFFICE.add_business_time(sh(12, 31, 17), timedelta(hours=2), CAL, SH)

    assert result == (datetime(2027, 1, 4, 10, 0, tzinfo=SH), True)


def test_a_due_time_at_the_closing_of_the_last_published_day_is_not_estimated() -> None:
    result = OFFICE.add_business_time(sh(12, 31, 17), timedelta(hours=1), CAL, SH)

    assert result == (sh(12, 31, 18), False)


def test_a_schedule_that_ignores_the_calendar_is_never_estimated() -> None:
    result = HOTLINE.add_business_time(sh(12, 31, 17), timedelta(hours=48), CAL, SH)

    assert result == (datetime(2027, 1, 2, 17, 0, tzinfo=SH), False)


@pytest.mark.parametrize(
    ("start", "end", "expected_hours"),
    [
        # A pause from Friday evening to Monday before opening takes out nothing.
        (sh(11, 27, 19), sh(11, 30, 8, 30), 0),
        # Paused over lunch, resumed before 13:30: nothing either.
        (sh(11, 24, 12, 5), sh(11, 24, 13, 20), 0),
        # Paused on the eve of National Day after closing, resumed on a holiday.
        (sh(9, 30, 18), sh(10, 3, 11), 0),
        # Paused 11:00-14:00 takes out 1 h in the morning and 30 min after lunch.
        (sh(11, 24, 11), sh(11, 24, 14), 1.5),
        # Paused Friday 17:00 to Monday 10:00: 1 h on Friday and 1 h on Monday.
        (sh(11, 27, 17), sh(11, 30, 10), 2),
        # Paused from the eve of National Day to the make-up Saturday's noon.
        (sh(9, 30, 17), sh(10, 10, 12), 1 + 7.5 + 7.5 + 3),
        # An end before the start takes out nothing.
        (sh(11, 24, 14), sh(11, 24, 11), 0),
    ],
    ids=[
        "weekend",
        "lunch",
        "holiday",
        "across lunch",
        "across a weekend",
        "across national day",
        "backwards",
    ],
)
def test_business_time_between_two_instants_counts_opening_hours_only(
    start: datetime, end: datetime, expected_hours: float
) -> None:
    result = OFFICE.business_time(start, end, CAL, SH)

    assert result == (timedelta(hours=expected_hours), False)


@pytest.mark.usefixtures("unknown_year")
def test_business_time_reaching_into_an_unpublished_year_is_estimated() -> None:
    result = OFFICE.business_time(sh(12, 31, 17), datetime(2027, 1, 4, 10, tzinfo=SH), CAL, SH)

    assert result == (timedelta(hours=2), True)


def test_business_time_ending_at_midnight_before_an_unpublished_year_is_not_estimated() -> None:
    result = OFFICE.business_time(sh(12, 31, 17), datetime(2027, 1, 1, tzinfo=SH), CAL, SH)

    assert result == (timedelta(hours=1), False)


def test_daylight_saving_changes_bend_neither_the_opening_hours_nor_the_elapsed_time() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    every_day = ((Interval.parse("09:00-17:00"),),) * 7
    shop = Schedule("shop", every_day, working_days_only=False)
    # Clocks go forward on Sunday 29 March 2026 at 02:00.
    received = datetime(2026, 3, 28, 16, 0, tzinfo=berlin)

    result, _ = shop.add_business_time(received, timedelta(hours=2), CAL, berlin)
    hotline, _ = HOTLINE.add_business_time(received, timedelta(hours=24), CAL, berlin)

    assert result == datetime(2026, 3, 29, 10, 0, tzinfo=berlin)
    # 24 elapsed hours across the change end at 17:00 local, not 16:00.
    assert hotline == datetime(2026, 3, 29, 17, 0, tzinfo=berlin)


def _every_weekday_off(year: int) -> YearCalendar:
    days = (date(year, 1, 1) + timedelta(days=n) for n in range(366))
    off = frozenset(d for d in days if d.year == year and d.weekday() < 5)
    return YearCalendar(year, off, frozenset(), "company file closing every day")


def test_a_calendar_on_which_the_schedule_never_opens_is_refused() -> None:
    closed = WorkCalendar({year: _every_weekday_off(year) for year in (2026, 2027)})

    with pytest.raises(CalendarUnavailable, match="schedule 'office' has no opening hours"):
        OFFICE.add_business_time(sh(11, 24), timedelta(hours=1), closed, SH)


def test_adding_a_negative_amount_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        OFFICE.add_business_time(sh(11, 24, 10), timedelta(seconds=-1), CAL, SH)


EXAMPLE = parse_policy(
    (Path(__file__).parents[2] / "docs" / "policy-business-hours.toml").read_text("utf-8"), "toml"
)


@pytest.mark.parametrize(
    ("received", "clock", "expected"),
    [
        (sh(11, 27, 22), ClockName.INTAKE, sh(11, 30, 10)),
        (sh(11, 27, 22), ClockName.INVESTIGATION, sh(12, 3, 10, 30)),
        (sh(11, 27, 22), ClockName.PLAN, sh(12, 8, 12)),
        (sh(9, 30, 17), ClockName.INTAKE, sh(9, 30, 18)),
        (sh(9, 30, 17), ClockName.INVESTIGATION, sh(10, 12, 9, 30)),
        (sh(9, 30, 17), ClockName.PLAN, sh(10, 15, 11)),
    ],
)
def test_the_worked_examples_of_docs_sla_md_hold_under_the_example_policy(
    received: datetime, clock: ClockName, expected: datetime
) -> None:
    schedule = EXAMPLE.schedule(clock)
    assert schedule is not None
    limit = timedelta(hours=EXAMPLE.rule(clock).limit)

    result = schedule.add_business_time(received, limit, CAL, EXAMPLE.zone)

    assert result == (expected, False)


@pytest.mark.parametrize(
    "start", [sh(11, 24, 18), sh(11, 24, 12), sh(11, 28, 10), sh(11, 24, 10, 15)]
)
def test_adding_in_two_steps_equals_adding_at_once_even_from_a_closing_time(
    start: datetime,
) -> None:
    a, b = timedelta(hours=7.5), timedelta(hours=2)
    first, _ = OFFICE.add_business_time(start, a, CAL, SH)

    in_steps = OFFICE.add_business_time(first, b, CAL, SH)
    unchanged = OFFICE.add_business_time(first, timedelta(0), CAL, SH)

    assert in_steps == OFFICE.add_business_time(start, a + b, CAL, SH)
    assert unchanged == (first, False)
