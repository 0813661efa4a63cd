"""A drill's scenario (docs/drills.md): relative times, the header, and every malformed line
named by its number before anything runs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from commands.drill_scenario import offset, parse_scenario
from ledger.domain.errors import ReadinessRefused

HEADER = {"scenario": "t", "start": "2026-11-02T09:00:00+08:00"}
ACK = {"command": "acknowledge", "ref": "X", "actor": {"id": "chen", "role": "leadership"}}


def scenario(*lines: object) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("+20m", timedelta(minutes=20)), ("+3h", timedelta(hours=3)),
     ("+1d2h30m", timedelta(days=1, hours=2, minutes=30)), ("+0m", timedelta(0))],
)  # fmt: skip
def test_a_relative_time_counts_days_hours_and_minutes(text: str, expected: timedelta) -> None:
    assert offset(text) == expected


@pytest.mark.parametrize("text", ["+", "2h", "+2h1d", "+1.5h", "+-1h"])
def test_a_malformed_relative_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a relative time like"):
        offset(text)


def test_times_default_to_the_line_and_ids_to_the_line_number() -> None:
    receive = {"at": "+5m", "command": "receive", "ref": "X", "channel": "phone",
               "content": "c", "category": "k",
               "actor": {"id": "li", "role": "customer_service"}}  # fmt: skip

    parsed = parse_scenario(scenario(HEADER, receive, {**ACK, "at": "+1h"}))

    first, second = parsed.steps
    assert first.command.received_at.isoformat() == "2026-11-02T09:05:00+08:00"  # type: ignore[attr-defined]
    assert (first.command.command_id, second.line) == ("drill-line-2", 3)
    assert parsed.end == second.at
    assert parsed.title == "t"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([HEADER, {**ACK, "at": "+1h", "occurred_at": "2026-11-02T10:00:00+08:00"}],
         "line 2: give either at or occurred_at, not both"),
        ([{**ACK, "at": "+1h"}, HEADER], "line 1: at '+1h' is relative"),
        ([{**ACK, "occurred_at": "2026-11-02T10:00:00+08:00"}, HEADER],
         "line 2: the header"),
        ([{**HEADER, "owner": "x"}, {**ACK, "at": "+1h"}], "line 1: the header has unknown fields"),
        ([{**HEADER, "end": "+30m"}, {**ACK, "at": "+1h"}], "header: end lies before"),
        ([HEADER], "the scenario has no commands"),
    ],
    ids=["at-and-occurred_at", "no-start", "late-header", "header-field", "early-end", "empty"],
)  # fmt: skip
def test_a_malformed_scenario_is_refused_naming_the_line(lines: list[object], message: str) -> None:
    with pytest.raises(ReadinessRefused) as refused:
        parse_scenario(scenario(*lines))

    assert str(refused.value).startswith(message), str(refused.value)


@pytest.mark.parametrize("text", ["+999999999d", "+99999999999999999999h"])
def test_a_relative_time_beyond_the_calendar_is_refused_by_its_line(text: str) -> None:
    """They raised OverflowError (a traceback from drill run), not the line's refusal."""
    with pytest.raises(ReadinessRefused, match=r"^line 2: at '\+9+[dh]' lies beyond"):
        parse_scenario(scenario(HEADER, {**ACK, "at": text}))


def test_a_relative_end_is_held_to_the_ledger_years_like_a_full_time() -> None:
    """A relative end of +99999d (the year 2300) judged every clock in 2300; now refused."""
    with pytest.raises(ReadinessRefused, match=r"^header: end: 2300-.* is after 2100-12-31"):
        parse_scenario(scenario({**HEADER, "end": "+99999d"}, {**ACK, "at": "+1h"}))
