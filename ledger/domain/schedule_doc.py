"""Schedules as a policy document writes them: weekday names and "HH:MM-HH:MM" intervals.

```toml
[schedules.office]
monday = ["09:00-12:00", "13:30-18:00"]
make_up_day = "monday"      # the hours a make-up working day (调休) keeps
working_days_only = true    # closed on public holidays and 调休 days off
```
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, PlainValidator, model_validator

from ledger.domain.schedule import WEEKDAYS, Interval, Schedule, check_opening_hours

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday"]
Hours = list[Annotated[Interval, PlainValidator(Interval.parse)]]


class ScheduleDoc(BaseModel):
    """One ``[schedules.<name>]`` table; the intervals of a day may be listed in any order."""

    model_config = ConfigDict(extra="forbid")

    working_days_only: bool = True
    make_up_day: Weekday = "monday"
    monday: Hours = []
    tuesday: Hours = []
    wednesday: Hours = []
    thursday: Hours = []
    friday: Hours = []
    saturday: Hours = []
    sunday: Hours = []

    def hours(self) -> tuple[tuple[Interval, ...], ...]:
        return tuple(tuple(sorted(getattr(self, day))) for day in WEEKDAYS)

    @model_validator(mode="after")
    def _usable(self) -> ScheduleDoc:
        check_opening_hours(self.hours(), self.working_days_only, WEEKDAYS.index(self.make_up_day))
        return self

    def build(self, name: str) -> Schedule:
        return Schedule(
            name=name,
            hours=self.hours(),
            working_days_only=self.working_days_only,
            make_up_day=WEEKDAYS.index(self.make_up_day),
        )


def schedule_to_dict(schedule: Schedule) -> dict[str, Any]:
    """The document form of ``schedule``; closed weekdays are left out."""
    data: dict[str, Any] = {
        "working_days_only": schedule.working_days_only,
        "make_up_day": WEEKDAYS[schedule.make_up_day],
    }
    for day, intervals in zip(WEEKDAYS, schedule.hours, strict=True):
        if intervals:
            data[day] = [str(interval) for interval in intervals]
    return data
