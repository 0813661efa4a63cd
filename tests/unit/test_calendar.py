"""Working days in Shanghai: holidays, 调休 make-up days, unpublished years, company files.

Every expected instant is counted by hand on the 2026 State Council notice (as modelled by
the ``holidays`` package) and written out literally.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from ledger.domain.calendar import (
    WorkCalendar,
    YearCalendar,
    calendar_from_dict,
    calendar_to_dict,
    company_year,
    package_year,
    parse_calendar_file,
)
from ledger.domain.errors import CalendarUnavailable

SH = ZoneInfo("Asia/Shanghai")
CAL_2026 = WorkCalendar({2026: package_year(2026)})

MAKE_UP_2026 = {
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
}
WEEKDAYS_OFF_2026 = {
    date(2026, 1, 1),
    date(2026, 1, 2),
    date(2026, 2, 16),
    date(2026, 2, 17),
    date(2026, 2, 18),
    date(2026, 2, 19),
    date(2026, 2, 20),
    date(2026, 2, 23),
    date(2026, 4, 6),
    date(2026, 5, 1),
    date(2026, 5, 4),
    date(2026, 5, 5),
    date(2026, 6, 19),
    date(2026, 9, 25),
    date(2026, 10, 1),
    date(2026, 10, 2),
    date(2026, 10, 5),
    date(2026, 10, 6),
    date(2026, 10, 7),
}


def test_package_year_2026_lists_the_state_council_make_up_working_days() -> None:
    calendar = package_year(2026)

    assert calendar.working_days == MAKE_UP_2026


def test_package_year_2026_lists_every_weekday_holiday_and_day_off() -> None:
    calendar = package_year(2026)

    assert calendar.days_off == WEEKDAYS_OFF_2026
    assert calendar.source.startswith("holidays ")


@pytest.mark.usefixtures("unknown_year")
@pytest.mark.parametrize("year", [2027, 2000])
def test_package_year_refuses_a_year_without_a_known_notice(year: int) -> None:
    with pytest.raises(CalendarUnavailable, match=f"no State Council holiday notice for {year}"):
        package_year(year)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 14), True),
        (date(2026, 2, 28), True),
        (date(2026, 5, 9), True),
        (date(2026, 9, 20), True),
        (date(2026, 10, 10), True),
        (date(2026, 1, 4), True),
        (date(2026, 2, 16), False),
        (date(2026, 9, 25), False),
        (date(2026, 10, 7), False),
        (date(2026, 3, 14), False),
        (date(2026, 3, 16), True),
    ],
)
def test_is_working_day_follows_holidays_and_make_up_days(day: date, working: bool) -> None:
    assert CAL_2026.is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        # Tuesday evening: Mar 11,12,13,16,17,18,19 -> end of Thu 19 March.
        (datetime(2026, 3, 10, 20, 0, tzinfo=SH), 7, datetime(2026, 3, 20, 0, 0, tzinfo=SH)),
        # 23:59 is still Tuesday.
        (datetime(2026, 3, 10, 23, 59, tzinfo=SH), 7, datetime(2026, 3, 20, 0, 0, tzinfo=SH)),
        # Saturday: Mar 16..20, 23, 24.
        (datetime(2026, 3, 14, 10, 0, tzinfo=SH), 7, datetime(2026, 3, 25, 0, 0, tzinfo=SH)),
        # Dragon Boat Friday: Jun 22..26, 29, 30.
        (datetime(2026, 6, 19, 9, 0, tzinfo=SH), 7, datetime(2026, 7, 1, 0, 0, tzinfo=SH)),
        # Make-up Saturday 10 Oct is itself a working day; counting starts the day after.
        (datetime(2026, 10, 10, 9, 0, tzinfo=SH), 7, datetime(2026, 10, 21, 0, 0, tzinfo=SH)),
        # Make-up Sunday 20 Sep: Sep 21..24, (25 Mid-Autumn off), 28, 29, 30.
        (datetime(2026, 9, 20, 9, 0, tzinfo=SH), 7, datetime(2026, 10, 1, 0, 0, tzinfo=SH)),
        # Thursday before May 9 (make-up Saturday): May 8, 9, 11..15.
        (datetime(2026, 5, 7, 10, 0, tzinfo=SH), 7, datetime(2026, 5, 16, 0, 0, tzinfo=SH)),
    ],
)
def test_working_days_end_at_midnight_after_the_nth_working_day(
    start: datetime, n: int, due: datetime
) -> None:
    result = CAL_2026.add_working_days(start, n, SH)

    assert result == (due, False)


def test_the_local_day_decides_where_counting_starts_not_the_utc_day() -> None:
    just_after_midnight = datetime(2026, 3, 10, 16, 30, tzinfo=UTC)  # 00:30 on 11 March

    due, _ = CAL_2026.add_working_days(just_after_midnight, 7, SH)

    assert due == datetime(2026, 3, 21, 0, 0, tzinfo=SH)


def test_spring_festival_2026_is_skipped_and_both_make_up_saturdays_count() -> None:
    friday_before = datetime(2026, 2, 13, 15, 0, tzinfo=SH)

    due, estimated = CAL_2026.add_working_days(friday_before, 7, SH)

    # Feb 14 (make-up), 24, 25, 26, 27, 28 (make-up), Mar 2.
    assert due == datetime(2026, 3, 3, 0, 0, tzinfo=SH)
    assert estimated is False


def test_national_day_2026_is_skipped_and_the_make_up_saturday_counts() -> None:
    eve = datetime(2026, 9, 30, 10, 0, tzinfo=SH)

    due, _ = CAL_2026.add_working_days(eve, 7, SH)

    # Oct 8, 9, 10 (make-up), 12, 13, 14, 15.
    assert due == datetime(2026, 10, 16, 0, 0, tzinfo=SH)


def test_mid_autumn_friday_2026_is_not_a_working_day() -> None:
    thursday = datetime(2026, 9, 24, 10, 0, tzinfo=SH)

    due, _ = CAL_2026.add_working_days(thursday, 1, SH)

    assert due == datetime(2026, 9, 29, 0, 0, tzinfo=SH)


@pytest.mark.usefixtures("unknown_year")
def test_counting_into_unpublished_2027_uses_the_package_guess_and_is_estimated() -> None:
    christmas_eve = datetime(2026, 12, 24, 10, 0, tzinfo=SH)

    result = CAL_2026.add_working_days(christmas_eve, 7, SH)

    # Dec 25, 28, 29, 30, 31, (1 Jan guessed off), Jan 4, Jan 5.
    assert result == (datetime(2027, 1, 6, 0, 0, tzinfo=SH), True)


def test_publishing_2027_changes_the_deadline_and_clears_estimated() -> None:
    notice_2027 = YearCalendar(
        2027, frozenset({date(2027, 1, 1), date(2027, 1, 4)}), frozenset(), "t"
    )
    calendar = WorkCalendar({2026: package_year(2026), 2027: notice_2027})

    result = calendar.add_working_days(datetime(2026, 12, 24, 10, 0, tzinfo=SH), 7, SH)

    assert result == (datetime(2027, 1, 7, 0, 0, tzinfo=SH), False)


def test_a_deadline_ending_on_31_december_does_not_touch_next_year() -> None:
    tuesday = datetime(2026, 12, 22, 10, 0, tzinfo=SH)

    result = CAL_2026.add_working_days(tuesday, 7, SH)

    assert result == (datetime(2027, 1, 1, 0, 0, tzinfo=SH), False)


def test_an_unpublished_year_is_estimated_even_when_the_package_knows_it() -> None:
    nothing_published = WorkCalendar({})

    result = nothing_published.add_working_days(datetime(2026, 9, 30, 10, 0, tzinfo=SH), 7, SH)

    assert result == (datetime(2026, 10, 16, 0, 0, tzinfo=SH), True)


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (datetime(2026, 9, 24, 10, 0, tzinfo=SH), datetime(2026, 10, 10, 0, 0, tzinfo=SH)),
        (datetime(2026, 9, 24, 23, 59, tzinfo=SH), datetime(2026, 10, 10, 0, 0, tzinfo=SH)),
        (datetime(2026, 12, 20, 10, 0, tzinfo=SH), datetime(2027, 1, 5, 0, 0, tzinfo=SH)),
    ],
)
def test_calendar_days_end_at_midnight_and_never_consult_the_calendar(
    start: datetime, due: datetime
) -> None:
    result = WorkCalendar({}).add_days(start, 15, SH, working=False)

    assert result == (due, False)


def test_company_day_off_pushes_the_deadline_one_working_day() -> None:
    base = package_year(2026)
    staff_day = company_year(base, [date(2026, 3, 13)], [], "acme 2026")
    calendar = WorkCalendar({2026: staff_day})

    due, _ = calendar.add_working_days(datetime(2026, 3, 10, 20, 0, tzinfo=SH), 7, SH)

    assert due == datetime(2026, 3, 21, 0, 0, tzinfo=SH)


def test_company_day_off_on_a_make_up_saturday_cancels_the_make_up_day() -> None:
    calendar = WorkCalendar({2026: company_year(package_year(2026), [date(2026, 10, 10)], [], "x")})

    due, _ = calendar.add_working_days(datetime(2026, 9, 30, 10, 0, tzinfo=SH), 7, SH)

    # Oct 8, 9, 12, 13, 14, 15, 16.
    assert due == datetime(2026, 10, 17, 0, 0, tzinfo=SH)


def test_company_working_day_on_a_holiday_counts() -> None:
    calendar = WorkCalendar({2026: company_year(package_year(2026), [], [date(2026, 10, 7)], "x")})

    due, _ = calendar.add_working_days(datetime(2026, 9, 30, 10, 0, tzinfo=SH), 7, SH)

    # Oct 7, 8, 9, 10, 12, 13, 14.
    assert due == datetime(2026, 10, 15, 0, 0, tzinfo=SH)


def test_company_year_refuses_a_date_both_off_and_working() -> None:
    with pytest.raises(CalendarUnavailable, match="2026-03-13 is listed both"):
        company_year(package_year(2026), [date(2026, 3, 13)], [date(2026, 3, 13)], "x")


def test_calendar_file_in_toml_adds_company_days_to_the_package_year() -> None:
    text = 'base = "package"\ndays_off = [2026-03-13]\nworking_days = ["2026-10-07"]\n'

    calendar = parse_calendar_file(2026, text, "toml")

    assert date(2026, 3, 13) in calendar.days_off
    assert date(2026, 10, 7) not in calendar.days_off
    assert calendar.working_days == MAKE_UP_2026


def test_calendar_file_in_yaml_with_base_none_starts_from_bare_weekends() -> None:
    text = "base: none\nsource: notice 2027\ndays_off: [2027-01-01]\nworking_days: [2027-02-20]\n"

    calendar = parse_calendar_file(2027, text, "yaml")

    assert calendar == YearCalendar(
        2027, frozenset({date(2027, 1, 1)}), frozenset({date(2027, 2, 20)}), "notice 2027"
    )


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("days_off = [2027-01-01]", "toml", "days_off: 2027-01-01 is not in 2026"),
        ("days_off = [2026-03-13]\nworking_days = [2026-03-13]", "toml", "listed both"),
        ("holidays = []", "toml", "holidays: Extra inputs are not permitted"),
        ('days_off = ["13 March"]', "toml", "days_off.0: Input should be a valid date"),
        ('base = "guess"', "toml", "base: Input should be 'package' or 'none'"),
        ("year = 2025", "toml", "year: the file says 2025"),
        ("days_off = [", "toml", "is not valid TOML"),
        ("- 2026-03-13", "yaml", "must be a mapping"),
    ],
)
def test_a_bad_calendar_file_is_refused_with_the_field_named(
    text: str, fmt: str, message: str
) -> None:
    with pytest.raises(CalendarUnavailable, match=message):
        parse_calendar_file(2026, text, fmt)  # type: ignore[arg-type]


@pytest.mark.usefixtures("unknown_year")
def test_a_calendar_file_on_the_package_for_an_unknown_year_is_refused() -> None:
    with pytest.raises(CalendarUnavailable, match='base = "none"'):
        parse_calendar_file(2027, "days_off = []", "toml")


def test_a_year_calendar_refuses_a_weekend_day_off() -> None:
    with pytest.raises(CalendarUnavailable, match="days_off has 2026-03-14, a weekend day"):
        YearCalendar(2026, frozenset({date(2026, 3, 14)}), frozenset(), "x")


def test_a_stored_calendar_round_trips_through_json() -> None:
    calendar = package_year(2026)

    stored = json.loads(json.dumps(calendar_to_dict(calendar)))

    assert calendar_from_dict(stored) == calendar
    assert stored["working_days"][0] == "2026-01-04"


def test_a_malformed_stored_calendar_is_refused() -> None:
    with pytest.raises(CalendarUnavailable, match="malformed"):
        calendar_from_dict({"year": 2026, "days_off": ["soon"], "working_days": [], "source": "x"})


def test_a_calendar_file_whose_source_holds_a_control_character_is_refused() -> None:
    text = 'base = "none"\nsource = "HR \\u001b[31m"\n'

    with pytest.raises(CalendarUnavailable) as refused:
        parse_calendar_file(2026, text, "toml")

    assert str(refused.value) == (
        "calendar file for 2026: source: holds the control character U+001B (ESC) at "
        "character 4, which is not allowed"
    )
