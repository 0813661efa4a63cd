"""The time a clock counts: every second (the wall clock) or a schedule's open time (pure).

An hour clock that names a schedule counts only the schedule's opening hours: its deadline
is its start plus its limit in open time, a pause moves it by the open time paused, it is at
risk once the at-risk share of the open time from its start to its deadline has passed, and
its lateness is also measured in open time (``late_by_business_seconds``). Every other clock
(an hour clock without a schedule, a working-day or calendar-day clock) counts every second,
and its business lateness is its lateness. ``sla`` and the ``sla_clocks`` read model both
judge through this module, so they cannot count differently. docs/sla.md states the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ledger.domain.calendar import WorkCalendar
from ledger.domain.schedule import Schedule

ZERO = timedelta(0)


def whole_seconds_up(delta: timedelta) -> int:
    """Seconds rounded up, so a breach by a fraction of a second is never reported as 0."""
    return -(-delta // timedelta(seconds=1))


@dataclass(frozen=True)
class ClockTime:
    """How one clock counts: ``schedule`` None for every second."""

    schedule: Schedule | None
    calendar: WorkCalendar
    zone: ZoneInfo

    @property
    def business(self) -> bool:
        return self.schedule is not None

    def add(self, start: datetime, amount: timedelta) -> tuple[datetime, bool]:
        """The instant ``amount`` of counted time after ``start``; True if a guessed calendar
        year was looked at."""
        if self.schedule is None:
            # In UTC, so an hour is an elapsed hour even across a daylight-saving change.
            return start.astimezone(UTC) + amount, False
        return self.schedule.add_business_time(start, amount, self.calendar, self.zone)

    def between(self, start: datetime, end: datetime) -> tuple[timedelta, bool]:
        """Counted time from ``start`` to ``end`` (zero if ``end`` is not later)."""
        if self.schedule is None:
            return max(end - start, ZERO), False
        return self.schedule.business_time(start, end, self.calendar, self.zone)

    def late_seconds(self, due: datetime, end: datetime) -> int:
        """Counted seconds from ``due`` to ``end``, rounded up; 0 if ``end`` is not later."""
        return max(0, whole_seconds_up(self.between(due, end)[0]))

    def risk_at(self, start: datetime, due: datetime, share: float) -> datetime:
        """When ``share`` of the counted time from ``start`` to ``due`` has passed."""
        allowed, _ = self.between(start, due)
        moment, _ = self.add(start, allowed * share)
        return moment
