"""Schedules in policy documents: parsing, the clocks that name them, stored copies, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.domain.errors import PolicyInvalid
from ledger.domain.policy import (
    DEFAULT_POLICY,
    ClockRule,
    Policy,
    parse_policy,
    policy_from_dict,
    policy_to_dict,
)
from ledger.domain.schedule import Interval, Schedule
from ledger.domain.values import ClockName

BUSINESS_HOURS = Path(__file__).parents[2] / "docs" / "policy-business-hours.toml"

OFFICE_DAY = (Interval.parse("09:00-12:00"), Interval.parse("13:30-18:00"))

CLOCKS = """
[clocks.intake]
limit = 1
unit = "hours"
schedule = "office"
[clocks.investigation]
limit = 24
unit = "hours"
schedule = "hotline_24x7"
[clocks.plan]
limit = 48
unit = "hours"
[clocks.execution]
limit = 7
unit = "working_days"
[clocks.summary]
limit = 15
unit = "working_days"
[clocks.regulatory]
limit = 15
unit = "days"
"""

SCHEDULES = """
[schedules.office]
monday = ["13:30-18:00", "09:00-12:00"]
friday = ["09:00-12:00"]
make_up_day = "monday"
[schedules.hotline_24x7]
working_days_only = false
saturday = ["00:00-24:00"]
sunday = ["00:00-24:00"]
"""


def document(schedules: str = SCHEDULES, clocks: str = CLOCKS, head: str = "") -> str:
    return 'version = "bh-1"\n' + head + schedules + clocks


def test_hour_clocks_name_their_schedules_and_other_clocks_count_every_hour() -> None:
    policy = parse_policy(document(), "toml")

    # The intervals of a day may be listed in any order; the schedule keeps them in order.
    assert policy.schedule(ClockName.INTAKE) == Schedule(
        "office", (OFFICE_DAY, (), (), (), (OFFICE_DAY[0],), (), ()), True, 0
    )
    assert policy.schedule(ClockName.INVESTIGATION) == Schedule(
        "hotline_24x7",
        ((), (), (), (), (), (Interval(0, 86400),), (Interval(0, 86400),)),
        working_days_only=False,
    )
    assert policy.schedule(ClockName.PLAN) is None
    assert policy.rule(ClockName.INTAKE) == ClockRule(
        ClockName.INTAKE, 1, "hours", False, (), "office"
    )


def test_a_policy_with_schedules_round_trips_through_json() -> None:
    policy = parse_policy(document(), "toml")

    stored = json.loads(json.dumps(policy_to_dict(policy)))

    assert policy_from_dict(stored) == policy
    assert stored["schedules"]["office"] == {
        "working_days_only": True,
        "make_up_day": "monday",
        "monday": ["09:00-12:00", "13:30-18:00"],
        "friday": ["09:00-12:00"],
    }
    assert stored["clocks"]["intake"]["schedule"] == "office"
    assert "schedule" not in stored["clocks"]["plan"]


def test_a_copy_stored_before_schedules_existed_reads_back_as_the_same_policy() -> None:
    stored = policy_to_dict(DEFAULT_POLICY)
    del stored["schedules"]

    result = policy_from_dict(stored)

    assert result == DEFAULT_POLICY
    assert all(result.schedule(clock) is None for clock in ClockName)
    assert all("schedule" not in rule for rule in policy_to_dict(result)["clocks"].values())


def test_the_business_hours_example_has_the_office_and_hotline_schedules() -> None:
    policy = parse_policy(BUSINESS_HOURS.read_text(encoding="utf-8"), "toml")

    office = policy.schedule(ClockName.INTAKE)
    assert office == Schedule("office", (OFFICE_DAY,) * 5 + ((), ()))
    assert [s.name for s in policy.schedules] == ["office", "hotline_24x7"]
    assert [policy.rule(c).schedule for c in ClockName] == [
        "office",
        "office",
        "office",
        None,
        None,
        None,
        "office",  # acknowledgement: the example leaves it out; counted like intake
        None,  # regulator_reply: left out too; calendar days, like the regulatory clock
    ]


def test_a_yaml_policy_names_schedules_like_toml() -> None:
    text = """
version: bh-yaml
schedules:
  office: {monday: ["09:00-12:00", "13:30-18:00"], friday: ["09:00-12:00"]}
clocks:
  intake: {limit: 1, unit: hours, schedule: office}
  investigation: {limit: 24, unit: hours}
  plan: {limit: 48, unit: hours}
  execution: {limit: 7, unit: working_days}
  summary: {limit: 15, unit: working_days}
  regulatory: {limit: 15, unit: days}
"""
    policy = parse_policy(text, "yaml")

    assert policy.schedule(ClockName.INTAKE) == parse_policy(document(), "toml").schedule(
        ClockName.INTAKE
    )


@pytest.mark.parametrize(
    ("timezone", "zone"),
    [("+08:00", "Etc/GMT-8"), ("-05:00", "Etc/GMT+5"), ("+00:00", "Etc/GMT"), ("UTC", "UTC")],
)
def test_a_timezone_may_be_a_whole_hour_offset(timezone: str, zone: str) -> None:
    policy = parse_policy(document(head=f'timezone = "{timezone}"\n'), "toml")

    assert policy.timezone == timezone
    assert policy.zone.key == zone
    assert policy_from_dict(policy_to_dict(policy)) == policy


def test_a_policy_built_in_code_may_not_name_a_missing_schedule() -> None:
    rules = tuple(
        ClockRule(r.clock, r.limit, r.unit, r.pausable, r.extension_steps, "office")
        if r.clock == ClockName.INTAKE
        else r
        for r in DEFAULT_POLICY.rules
    )

    with pytest.raises(PolicyInvalid, match="has no schedule named 'office'"):
        Policy("v", "Asia/Shanghai", 0.75, 24.0, rules)


def swap(old: str, new: str) -> str:
    assert old in SCHEDULES + CLOCKS
    return document(SCHEDULES.replace(old, new), CLOCKS.replace(old, new))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            swap('"09:00-12:00"]', '"9-12"]'),
            "schedules.office.monday.1: '9-12' is not an opening interval; write it as HH:MM-HH:MM",
        ),
        (swap('"09:00-12:00"]', '"09:00-25:00"]'), "'09:00-25:00': 25:00 is not a time of day"),
        (swap('"09:00-12:00"]', '"09:75-12:00"]'), "09:75 is not a time of day"),
        (swap('"09:00-12:00"]', '"24:00-24:00"]'), "cannot open at 24:00"),
        (swap('"09:00-12:00"]', '"12:00-09:00"]'), "12:00-09:00 is not an opening interval"),
        (swap('"09:00-12:00"]', "900]"), "schedules.office.monday.1: 900 is not an opening"),
        (
            swap('"09:00-12:00"]', '"09:00-14:00"]'),
            "schedules.office: monday: 13:30-18:00 overlaps 09:00-14:00",
        ),
        (
            swap('"09:00-12:00"]', '"09:00-13:30"]'),
            "monday: 13:30-18:00 starts when 09:00-13:30 ends; write them as one interval, "
            "09:00-18:00",
        ),
        (
            swap('friday = ["09:00-12:00"]', 'saturday = ["09:00-12:00"]'),
            "schedules.office: saturday: a schedule with working_days_only opens on the "
            "calendar's working days only",
        ),
        (
            swap('make_up_day = "monday"', 'make_up_day = "saturday"'),
            "schedules.office.make_up_day: Input should be 'monday'",
        ),
        (
            swap('make_up_day = "monday"', 'make_up_day = "tuesday"'),
            "make_up_day: tuesday has no opening hours, so make-up working days (调休) would be "
            "closed",
        ),
        (
            swap('saturday = ["00:00-24:00"]\nsunday = ["00:00-24:00"]', ""),
            "schedules.hotline_24x7: the schedule is never open",
        ),
        (swap("friday = ", "fridays = "), "schedules.office.fridays: Extra inputs are not"),
        (
            swap('schedule = "office"', 'schedule = "ofice"'),
            "clocks: the intake clock names schedule 'ofice', which the policy does not define "
            "(schedules defined: office, hotline_24x7)",
        ),
        (
            document(schedules="", clocks=CLOCKS.replace('schedule = "hotline_24x7"\n', "")),
            "clocks: the intake clock names schedule 'office', which the policy does not define "
            "(schedules defined: none)",
        ),
        (
            swap('unit = "working_days"\n', 'unit = "working_days"\nschedule = "office"\n'),
            "clocks.execution: only an hour clock can count business hours",
        ),
        (swap('schedule = "office"', 'schedule = ""'), "clocks.intake.schedule: String should"),
        (
            document(head='timezone = "+05:30"\n'),
            "timezone: fixed offset '+05:30' is not supported: an offset must be whole hours",
        ),
        (
            document(head='timezone = "+15:00"\n'),
            "timezone: fixed offset '+15:00' is not supported",
        ),
        (document(head='timezone = "+8"\n'), "timezone: unknown time zone '+8': write a fixed"),
        (document(head='timezone = "08:00"\n'), "timezone: unknown time zone '08:00'"),
    ],
)
def test_an_invalid_schedule_is_refused_on_one_line_naming_the_field(
    text: str, message: str
) -> None:
    with pytest.raises(PolicyInvalid) as refused:
        parse_policy(text, "toml")

    assert message in str(refused.value)
    assert str(refused.value).startswith("policy invalid: ")
    assert "\n" not in str(refused.value)
