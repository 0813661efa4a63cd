"""The fields of the improvement commands (issue 15): ``action`` (sealed), ``due`` as a date or
a time, ``improvement_id`` as a number or a string."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from commands.errors import describe_validation_error
from commands.models import AddImprovement, CompleteImprovement, parse_command
from tests.helpers import actor

SH = ZoneInfo("Asia/Shanghai")


def add(**fields: Any) -> dict[str, Any]:
    return {"command": "add_improvement", "command_id": "i-1", "ref": "TS-1",
            "actor": actor("handling_team", "wang"), "action": "修订话术", "owner": "wang",
            "due": "2026-10-31", **fields}  # fmt: skip


def test_a_date_is_due_at_the_end_of_that_day_in_shanghai() -> None:
    command = parse_command(add())

    assert isinstance(command, AddImprovement)
    assert command.due == datetime(2026, 11, 1, 0, 0, tzinfo=SH)
    assert command.measure == "修订话术"  # the JSON field "action"
    assert command.sealed_fields == frozenset({"measure"})


def test_a_time_with_an_offset_is_taken_as_it_is() -> None:
    command = parse_command(add(due="2026-10-31T17:30:00+08:00"))

    assert isinstance(command, AddImprovement)
    assert command.due == datetime(2026, 10, 31, 17, 30, tzinfo=SH)


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        ("2026-02-30", "due: '2026-02-30' is not a date: day is out of range for month"),
        ("2026-10-31T17:30:00", "due: Input should have timezone info"),
        (20261031, "due: must be an ISO 8601 time in a string, e.g. 2026-09-24T16:00:00+08:00, "
                   "not a number"),
        # The day after 9999-12-31 is no date: it raised OverflowError, a traceback.
        ("9999-12-31", "due: '9999-12-31' is after 2100-12-31 (Shanghai time), the latest time "
                       "the ledger records"),
    ],
)  # fmt: skip
def test_a_due_time_that_is_no_date_or_aware_time_is_refused(due: Any, expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_command(add(due=due))

    assert describe_validation_error(caught.value) == expected


@pytest.mark.parametrize("given", [1, "1", " 12 "])
def test_an_improvement_id_is_a_number_given_either_way(given: Any) -> None:
    command = parse_command({"command": "complete_improvement", "command_id": "d-1",
                             "ref": "TS-1", "actor": actor("handling_team", "wang"),
                             "improvement_id": given})  # fmt: skip

    assert isinstance(command, CompleteImprovement)
    assert command.improvement_id == str(given).strip()


@pytest.mark.parametrize("given", [0, "0", "imp-1", "", True, -1])
def test_an_improvement_id_that_is_no_positive_number_is_refused(given: Any) -> None:
    data = {"command": "complete_improvement", "command_id": "d-1", "ref": "TS-1",
            "actor": actor("handling_team", "wang"), "improvement_id": given}  # fmt: skip

    with pytest.raises(ValidationError):
        parse_command(data)
