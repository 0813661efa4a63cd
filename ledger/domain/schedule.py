"""Business hours: a schedule's opening hours laid on the working-day calendar.

An hour clock that follows a schedule counts only the time its schedule is open. Opening
hours are given per weekday in the policy's time zone, several intervals a day. A schedule
that keeps ``working_days_only`` (the default) is open only on the calendar's working days:
public holidays and 调休 days off are closed, and a make-up working day (a Saturday or
Sunday the State Council turned into a working day) keeps the hours of one weekday,
``make_up_day`` (Monday unless the policy says otherwise), because the notice does not say
which weekday a make-up day stands in for. A schedule with ``working_days_only = false``
ignores the calendar and opens by its weekday hours every week of the year.

Everything here is pure: the calendar and the zone come in as values, and an answer whose
counting examined a day of a year nobody has published says so (``estimated``), as the
working-day count does.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ledger.domain.calendar import WorkCalendar, YearCalendar, end_of_day, local_day
from ledger.domain.errors import CalendarUnavailable

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_SECONDS = 24 * 3600

# A span of this many days without an opening means the schedule and the calendars never
# meet (e.g. a company calendar that makes every weekday a day off): refuse rather than loop.
_LONGEST_CLOSURE_DAYS = 400

# A span of more local days than this is measured with a per-year table of open time (the
# SLA report measures how long every overdue clock has been overdue, often months).
_TABLE_AFTER_DAYS = 7

_INTERVAL = re.compile(r"\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*")


def _clock_time(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}"


@dataclass(frozen=True, order=True)
class Interval:
    """Open from ``start`` to ``end``, in seconds after local midnight (``end`` may be 24:00)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= DAY_SECONDS:
            raise ValueError(
                f"{_clock_time(self.start)}-{_clock_time(self.end)} is not an opening interval: "
                "it must open before it closes, within one day (00:00 to 24:00)"
            )

    @classmethod
    def parse(cls, text: object) -> Interval:
        """``"09:00-12:00"``; ``24:00`` is allowed as a closing time (midnight at the day's end)."""
        found = _INTERVAL.fullmatch(text) if isinstance(text, str) else None
        if found is None:
            raise ValueError(f"{text!r} is not an opening interval; write it as HH:MM-HH:MM")
        hh1, mm1, hh2, mm2 = (int(part) for part in found.groups())
        for hh, mm in ((hh1, mm1), (hh2, mm2)):
            if mm > 59 or hh > 24 or (hh == 24 and mm > 0):
                raise ValueError(f"{text!r}: {hh:02d}:{mm:02d} is not a time of day")
        if hh1 == 24:
            raise ValueError(f"{text!r}: an interval cannot open at 24:00")
        return cls(hh1 * 3600 + mm1 * 60, hh2 * 3600 + mm2 * 60)

    def __str__(self) -> str:
        return f"{_clock_time(self.start)}-{_clock_time(self.end)}"


def check_opening_hours(
    hours: Sequence[Sequence[Interval]], working_days_only: bool, make_up_day: int
) -> None:
    """Refuse opening hours that are ill-formed or could never be used (``ValueError``).

    ``hours`` has one sequence per weekday, Monday first, each in order of the day.
    """
    if len(hours) != len(WEEKDAYS):
        raise ValueError(f"opening hours need one entry per weekday, not {len(hours)}")
    for name, intervals in zip(WEEKDAYS, hours, strict=True):
        for before, after in itertools.pairwise(intervals):
            if after.start < before.end:
                raise ValueError(f"{name}: {after} overlaps {before}")
            if after.start == before.end:
                raise ValueError(
                    f"{name}: {after} starts when {before} ends; "
                    f"write them as one interval, {Interval(before.start, after.end)}"
                )
    if not any(hours):
        raise ValueError("the schedule is never open: give at least one weekday's hours")
    if not working_days_only:
        return
    for name, intervals in zip(WEEKDAYS[5:], hours[5:], strict=True):
        if intervals:
            raise ValueError(
                f"{name}: a schedule with working_days_only opens on the calendar's working "
                "days only, and a make-up working day keeps make_up_day's hours; remove "
                f"{name} or set working_days_only = false"
            )
    if not 0 <= make_up_day < 5:
        raise ValueError("make_up_day must be a weekday from monday to friday")
    if not hours[make_up_day]:
        raise ValueError(
            f"make_up_day: {WEEKDAYS[make_up_day]} has no opening hours, so make-up working "
            "days (调休) would be closed; name a weekday with hours"
        )


@functools.lru_cache(maxsize=8192)
def _spans(
    intervals: tuple[Interval, ...], day: date, tz: ZoneInfo
) -> tuple[tuple[datetime, datetime], ...]:
    """The day's opening intervals as UTC instants, in order and never overlapping.

    Local times are turned into instants by the zone's rules, so on a daylight-saving day an
    interval lasts as long as it really does; an interval that falls into the hour a spring
    change skips is empty.
    """
    midnight = datetime.combine(day, time(0), tzinfo=tz)
    spans: list[tuple[datetime, datetime]] = []
    for interval in intervals:
        lo = (midnight + timedelta(seconds=interval.start)).astimezone(UTC)
        hi = (midnight + timedelta(seconds=interval.end)).astimezone(UTC)
        if spans and lo < spans[-1][1]:
            lo = spans[-1][1]
        if hi > lo:
            spans.append((lo, hi))
    return tuple(spans)


@dataclass(frozen=True)
class Schedule:
    """A named set of opening hours: ``hours[0]`` is Monday's intervals, ``hours[6]`` Sunday's."""

    name: str
    hours: tuple[tuple[Interval, ...], ...]
    working_days_only: bool = True
    make_up_day: int = 0

    def __post_init__(self) -> None:
        check_opening_hours(self.hours, self.working_days_only, self.make_up_day)

    def opening(self, day: date, calendar: WorkCalendar) -> tuple[tuple[Interval, ...], bool]:
        """Local ``day``'s opening hours, and True if the calendar only guessed whether it works."""
        if not self.working_days_only:
            return self.hours[day.weekday()], False
        guessed = not calendar.is_published(day.year)
        if not calendar.is_working_day(day):
            return (), guessed
        weekday = day.weekday()
        return self.hours[weekday if weekday < 5 else self.make_up_day], guessed

    def _days_from(
        self, day: date, calendar: WorkCalendar, tz: ZoneInfo
    ) -> Iterator[tuple[date, tuple[tuple[datetime, datetime], ...], bool]]:
        """Each local day from ``day`` on: its opening spans, and whether the day was guessed."""
        closed_days = 0
        while True:
            intervals, guessed = self.opening(day, calendar)
            spans = _spans(intervals, day, tz)
            closed_days = 0 if spans else closed_days + 1
            if closed_days > _LONGEST_CLOSURE_DAYS:
                raise CalendarUnavailable(
                    f"schedule {self.name!r} has no opening hours in the "
                    f"{_LONGEST_CLOSURE_DAYS} days before {day}; check the published calendars"
                )
            yield day, spans, guessed
            day += timedelta(days=1)

    def add_business_time(
        self, start: datetime, amount: timedelta, calendar: WorkCalendar, tz: ZoneInfo
    ) -> tuple[datetime, bool]:
        """The instant at which ``amount`` of open time has passed since ``start``; True if guessed.

        Counting starts at ``start`` if the schedule is open then, else at the next opening.
        A due instant that falls exactly on a closing time stays there (it does not move on to
        the next opening), so the answer is always inside opening hours or at a closing time.
        Only the days actually examined count as touched, as for working days. Adding nothing
        returns ``start`` itself, so adding ``a`` and then ``b`` always equals adding ``a + b``.
        """
        if amount < timedelta(0):
            raise ValueError(f"business time to add must not be negative, not {amount}")
        start = start.astimezone(UTC)
        if not amount:
            return start, False
        remaining = amount
        estimated = False
        for _, spans, guessed in self._days_from(local_day(start, tz), calendar, tz):
            estimated = estimated or guessed
            for opens, closes in spans:
                lo = max(opens, start)
                if closes <= lo:
                    continue
                if remaining <= closes - lo:
                    return lo + remaining, estimated
                remaining -= closes - lo
        raise AssertionError("unreachable: the days never end")  # pragma: no cover

    def business_time(
        self, start: datetime, end: datetime, calendar: WorkCalendar, tz: ZoneInfo
    ) -> tuple[timedelta, bool]:
        """Open time between ``start`` and ``end`` (zero if ``end`` is not later); True if guessed.

        This is what a pause takes out of a business-hours clock: a pause while the schedule is
        closed takes out nothing.
        """
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        total = timedelta(0)
        estimated = False
        if end <= start:
            return total, estimated
        first, last = local_day(start, tz), local_day(end - timedelta(microseconds=1), tz)
        if (last - first).days > _TABLE_AFTER_DAYS:
            # The first and last days as below; the whole days between from the year tables.
            head, head_guessed = self.business_time(start, end_of_day(first, tz), calendar, tz)
            midnight = datetime.combine(last, time(0), tzinfo=tz)
            tail, tail_guessed = self.business_time(midnight, end, calendar, tz)
            middle, guessed = self._whole_days(first + timedelta(days=1), last, calendar, tz)
            return head + middle + tail, head_guessed or tail_guessed or guessed
        for day, spans, guessed in self._days_from(local_day(start, tz), calendar, tz):
            if datetime.combine(day, time(0), tzinfo=tz) >= end:
                break
            estimated = estimated or guessed
            for opens, closes in spans:
                lo, hi = max(opens, start), min(closes, end)
                if hi > lo:
                    total += hi - lo
        return total, estimated

    def _whole_days(
        self, first: date, stop: date, calendar: WorkCalendar, tz: ZoneInfo
    ) -> tuple[timedelta, bool]:
        """Open time of the local days from ``first`` up to (not including) ``stop``."""
        total, estimated = timedelta(0), False
        for year in range(first.year, stop.year + 1):
            lo = first if year == first.year else date(year, 1, 1)
            hi = stop if year == stop.year else date(year + 1, 1, 1)
            if hi <= lo:
                continue
            table = _open_before(self, year, calendar.years.get(year), tz)
            start = lo.timetuple().tm_yday - 1
            end = len(table) - 1 if hi.year > year else hi.timetuple().tm_yday - 1
            total += table[end] - table[start]
            estimated = estimated or (self.working_days_only and not calendar.is_published(year))
        return total, estimated


@functools.lru_cache(maxsize=256)
def _open_before(
    schedule: Schedule, year: int, published: YearCalendar | None, tz: ZoneInfo
) -> tuple[timedelta, ...]:
    """``table[i]``: the open time of the year's local days before its ``i``-th (from 0), for
    every ``i`` up to the number of days; by the year as published, else as guessed."""
    calendar = WorkCalendar({year: published} if published is not None else {})
    total, table = timedelta(0), [timedelta(0)]
    day = date(year, 1, 1)
    while day.year == year:
        intervals, _ = schedule.opening(day, calendar)
        for opens, closes in _spans(intervals, day, tz):
            total += closes - opens
        table.append(total)
        day += timedelta(days=1)
    return tuple(table)
