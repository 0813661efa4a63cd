"""Working days in China: weekends, public holidays and make-up working days (调休).

Calendars are published into the ledger one year at a time; this module receives them as
values and never reads a clock, a file or a database. A year nobody has published is
counted from the ``holidays`` package's best guess, and every answer whose counting touched
such a year says so (``estimated``), so a guess is never mistaken for the State Council's word.
"""

from __future__ import annotations

import bisect
import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ledger.domain.errors import CalendarUnavailable, LedgerError
from ledger.domain.text import control_problem


@functools.cache
def package_source() -> str:
    """The ``holidays`` package and its version (imported on first use: a read of the
    read models needs no calendar, and the package takes 50 ms to import)."""
    from holidays.version import __version__

    return f"holidays {__version__}"


Format = Literal["toml", "yaml"]

# The years the ledger keeps calendars for; times it records lie within them too.
FIRST_YEAR = 2000
LAST_YEAR = 2100


@dataclass(frozen=True)
class YearCalendar:
    """One year's exceptions to the Monday–Friday week.

    ``days_off`` holds only weekdays (holidays and 调休 days off) and ``working_days`` only
    weekend dates (make-up working days), so the two can never contradict each other.
    """

    year: int
    days_off: frozenset[date]
    working_days: frozenset[date]
    source: str

    def __post_init__(self) -> None:
        for field, dates, weekend in (
            ("days_off", self.days_off, False),
            ("working_days", self.working_days, True),
        ):
            for d in sorted(dates):
                if d.year != self.year:
                    raise CalendarUnavailable(
                        f"calendar for {self.year}: {field} has {d}, which is not in {self.year}"
                    )
                if (d.weekday() >= 5) is not weekend:
                    kind = "a weekday" if weekend else "a weekend day"
                    raise CalendarUnavailable(
                        f"calendar for {self.year}: {field} has {d}, {kind}; "
                        "days_off lists weekdays, working_days lists weekend days"
                    )


@functools.cache
def _package_calendar(year: int) -> YearCalendar:
    """The package's view of a year; built once per process because projections ask often."""
    from holidays.utils import country_holidays

    china = country_holidays("CN", years=year)  # holidays.China, typed
    off = frozenset(d for d in china if d.year == year and d.weekday() < 5)
    work = frozenset(d for d in china.weekend_workdays if d.year == year)
    return YearCalendar(year, off, work, package_source())


def package_year(year: int) -> YearCalendar:
    """China's calendar for ``year`` as the ``holidays`` package knows it.

    The package always returns rule-based holidays, even for years whose State Council
    notice it has never seen. Every notice since 2001 has moved at least one working day
    onto a weekend, so a year with no make-up working day is taken as "notice unknown".
    """
    calendar = _package_calendar(year)
    if not calendar.working_days:
        raise CalendarUnavailable(
            f"{package_source()} has no State Council holiday notice for {year} "
            "(it lists no make-up working day that year); publish a calendar file for "
            f'{year} with base = "none"'
        )
    return calendar


def company_year(
    base: YearCalendar, days_off: Iterable[date], working_days: Iterable[date], source: str
) -> YearCalendar:
    """``base`` with the company's own days off and working days laid on top.

    A company day off on a make-up weekend day cancels it; a company working day on a
    holiday cancels the holiday. Days off on a plain weekend change nothing.
    """
    off, work = set(days_off), set(working_days)
    clash = sorted(off & work)
    if clash:
        raise CalendarUnavailable(
            f"calendar for {base.year}: {clash[0]} is listed both as a day off and a working day"
        )
    return YearCalendar(
        year=base.year,
        days_off=frozenset((base.days_off - work) | {d for d in off if d.weekday() < 5}),
        working_days=frozenset((base.working_days - off) | {d for d in work if d.weekday() >= 5}),
        source=source,
    )


def _syntax_problem(e: Exception) -> str:
    if isinstance(e, yaml.MarkedYAMLError) and e.problem and e.problem_mark:
        return f"{e.problem} (line {e.problem_mark.line + 1})"
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def load_document(text: str, fmt: Format, what: str, error: type[LedgerError]) -> dict[str, Any]:
    """Parse a TOML or YAML document that must be a mapping, raising ``error`` otherwise."""
    try:
        data: object = tomllib.loads(text) if fmt == "toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        raise error(f"{what} is not valid {fmt.upper()}: {_syntax_problem(e)}") from e
    except RecursionError:
        raise error(f"{what} is not valid {fmt.upper()}: it is nested too deeply") from None
    if data is None:
        raise error(f"{what} is empty")
    if not isinstance(data, dict):
        raise error(f"{what} must be a mapping of settings, not {type(data).__name__}")
    return data


def explain(e: ValidationError) -> str:
    """The first problem of a pydantic error on one line, naming the field by its path."""
    problems = e.errors()
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"] if part != "[key]") or "document"
    message = first["msg"].removeprefix("Value error, ")
    more = len(problems) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{where}: {message}{suffix}"


class _CalendarFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int | None = None
    base: Literal["package", "none"] = "package"
    source: str | None = None
    days_off: list[date] = []
    working_days: list[date] = []


def parse_calendar_file(year: int, text: str, fmt: Format) -> YearCalendar:
    """A company's calendar file for ``year``: additions on the package's year, or on bare weekends.

    Every problem raises ``CalendarUnavailable``: a bad file means no trustworthy calendar.
    """
    what = f"calendar file for {year}"
    data = load_document(text, fmt, what, CalendarUnavailable)
    try:
        doc = _CalendarFile.model_validate(data)
    except ValidationError as e:
        raise CalendarUnavailable(f"{what}: {explain(e)}") from e
    if doc.year is not None and doc.year != year:
        raise CalendarUnavailable(f"{what}: year: the file says {doc.year}")
    problem = None if doc.source is None else control_problem(doc.source)
    if problem:
        raise CalendarUnavailable(f"{what}: source: {problem}")
    for field, dates in (("days_off", doc.days_off), ("working_days", doc.working_days)):
        outside = [d for d in dates if d.year != year]
        if outside:
            raise CalendarUnavailable(f"{what}: {field}: {outside[0]} is not in {year}")
    if doc.base == "package":
        base = package_year(year)
    else:
        base = YearCalendar(year, frozenset(), frozenset(), "weekends only")
    source = doc.source or f"{fmt} calendar file on {base.source}"
    return company_year(base, doc.days_off, doc.working_days, source)


def calendar_to_dict(calendar: YearCalendar) -> dict[str, Any]:
    """JSON-safe plain data (dates as ISO strings, sorted) for storing in an event."""
    return {
        "year": calendar.year,
        "days_off": [d.isoformat() for d in sorted(calendar.days_off)],
        "working_days": [d.isoformat() for d in sorted(calendar.working_days)],
        "source": calendar.source,
    }


def calendar_from_dict(data: Mapping[str, Any]) -> YearCalendar:
    """Inverse of ``calendar_to_dict``; raises ``CalendarUnavailable`` on malformed data."""
    try:
        return YearCalendar(
            year=int(data["year"]),
            days_off=frozenset(date.fromisoformat(s) for s in data["days_off"]),
            working_days=frozenset(date.fromisoformat(s) for s in data["working_days"]),
            source=str(data["source"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise CalendarUnavailable(f"stored calendar is malformed: {e!r}") from e


@functools.lru_cache(maxsize=1024)
def _working_ordinals(calendar: YearCalendar) -> tuple[int, ...]:
    """Every working day of the year as a sorted ordinal, so counting is a bisection."""
    first = date(calendar.year, 1, 1).toordinal()
    last = date(calendar.year, 12, 31).toordinal()
    days = (date.fromordinal(n) for n in range(first, last + 1))
    return tuple(
        d.toordinal()
        for d in days
        if d in calendar.working_days or (d.weekday() < 5 and d not in calendar.days_off)
    )


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The end of local ``day``: the local midnight that starts the next day, as a UTC instant."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; the ledger needs aware times")
    return moment.astimezone(tz).date()


@dataclass(frozen=True)
class WorkCalendar:
    """The published years, and the package's guess for every other year."""

    years: Mapping[int, YearCalendar]

    def __post_init__(self) -> None:
        for year, calendar in self.years.items():
            if calendar.year != year:
                raise CalendarUnavailable(f"calendar for {calendar.year} is filed under {year}")

    def _year(self, year: int) -> YearCalendar:
        published = self.years.get(year)
        return published if published is not None else _package_calendar(year)

    def is_published(self, year: int) -> bool:
        return year in self.years

    def is_working_day(self, d: date) -> bool:
        calendar = self._year(d.year)
        if d in calendar.working_days:
            return True
        return d.weekday() < 5 and d not in calendar.days_off

    def add_working_days(self, start: datetime, n: int, tz: ZoneInfo) -> tuple[datetime, bool]:
        """The end of the ``n``-th working day after ``start``'s local day; True if guessed.

        Only the days actually examined count as touched: a deadline that ends on
        31 December is not estimated because next year is unpublished.
        """
        if n < 1:
            raise ValueError(f"count working days from 1, not {n}")
        after = local_day(start, tz).toordinal()
        year = date.fromordinal(after).year
        estimated = False
        while True:
            if after < date(year, 12, 31).toordinal() and not self.is_published(year):
                estimated = True
            ordinals = _working_ordinals(self._year(year))
            i = bisect.bisect_right(ordinals, after)
            if n <= len(ordinals) - i:
                return end_of_day(date.fromordinal(ordinals[i + n - 1]), tz), estimated
            n -= len(ordinals) - i
            year += 1
            after = date(year, 1, 1).toordinal() - 1

    def add_days(
        self, start: datetime, n: int, tz: ZoneInfo, working: bool
    ) -> tuple[datetime, bool]:
        """The end of the ``n``-th (working or calendar) day after ``start``'s local day."""
        if working:
            return self.add_working_days(start, n, tz)
        if n < 1:
            raise ValueError(f"count days from 1, not {n}")
        return end_of_day(local_day(start, tz) + timedelta(days=n), tz), False
