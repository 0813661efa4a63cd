"""Business-hours schedules through the command line: publishing them and ``policy show``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import event_count, jsonl, life_cmds, run

LEAD = ["--actor", "chen", "--role", "leadership"]
DOCS = Path(__file__).parents[2] / "docs"


def test_policy_show_prints_the_schedules_and_the_clocks_that_follow_them(
    ledger_url: str,
) -> None:
    published = run(
        ledger_url, "policy", "publish", str(DOCS / "policy-business-hours.toml"), *LEAD
    )

    shown = run(ledger_url, "policy", "show", "business-hours-2026.1")

    assert published.exit_code == 0, published.stderr
    assert shown.exit_code == 0, shown.stderr
    document = json.loads(shown.stdout)
    office_day = ["09:00-12:00", "13:30-18:00"]
    every_hour = ["00:00-24:00"]
    assert document["schedules"] == {
        "office": {
            "working_days_only": True,
            "make_up_day": "monday",
            "monday": office_day,
            "tuesday": office_day,
            "wednesday": office_day,
            "thursday": office_day,
            "friday": office_day,
        },
        "hotline_24x7": {
            "working_days_only": False,
            "make_up_day": "monday",
            "monday": every_hour,
            "tuesday": every_hour,
            "wednesday": every_hour,
            "thursday": every_hour,
            "friday": every_hour,
            "saturday": every_hour,
            "sunday": every_hour,
        },
    }
    assert {name: clock.get("schedule") for name, clock in document["clocks"].items()} == {
        "intake": "office",
        "investigation": "office",
        "plan": "office",
        "execution": None,
        "summary": None,
        "regulatory": None,
        "acknowledgement": "office",  # left out of the document: counted like intake
        "regulator_reply": None,  # left out too: 15 calendar days
    }
    assert '    "office": {\n      "working_days_only": true,\n' in shown.stdout


def test_policy_show_of_the_default_policy_has_no_schedules(ledger_url: str) -> None:
    # A ledger to read (reading creates none): the built-in policy is shown from any ledger.
    assert (
        run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-1", until="receive"))).exit_code
        == 0
    )
    shown = run(ledger_url, "policy", "show", "default-2026.1")

    assert shown.exit_code == 0, shown.stderr

    document = json.loads(shown.stdout)
    assert document["schedules"] == {}
    assert document["clocks"]["intake"] == {
        "limit": 1,
        "unit": "hours",
        "pausable": False,
        "extension_steps": [],
    }


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'tuesday = ["09:00-12:00", "13:30-18:00"]',
            'tuesday = ["09:00-12:00", "11:30-18:00"]',
            "Error: policy invalid: schedules.office: tuesday: 11:30-18:00 overlaps 09:00-12:00\n",
        ),
        (
            'unit = "working_days"\n',
            'unit = "working_days"\nschedule = "office"\n',
            "Error: policy invalid: clocks.execution: only an hour clock can count business "
            "hours; a clock in working_days already counts whole days, so remove schedule\n",
        ),
        (
            'limit = 24\nunit = "hours"\nschedule = "office"',
            'limit = 24\nunit = "hours"\nschedule = "night_shift"',
            "Error: policy invalid: clocks: the investigation clock names schedule "
            "'night_shift', which the policy does not define (schedules defined: office, "
            "hotline_24x7)\n",
        ),
        (
            'timezone = "Asia/Shanghai"',
            'timezone = "+05:30"',
            "Error: policy invalid: timezone: fixed offset '+05:30' is not supported: an offset "
            "must be whole hours from -12:00 to +14:00; give the zone's IANA name instead\n",
        ),
    ],
    ids=["overlapping intervals", "day clock with a schedule", "unknown schedule", "offset"],
)
def test_a_policy_with_an_invalid_schedule_is_refused_on_one_line_and_nothing_is_published(
    ledger_url: str, tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = (DOCS / "policy-business-hours.toml").read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    before = event_count(ledger_url)

    result = run(ledger_url, "policy", "publish", str(bad), *LEAD)

    assert result.exit_code == 1
    assert result.stderr == message
    assert event_count(ledger_url) == before
