"""``history``: every event replayed from the store, and the state as it stood at a moment
(``--as-of``: what had happened by then; ``--known-at``: what had been recorded by then) or at
a version."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.helpers import actor, event_count, jsonl, life_cmds, run


def moment() -> str:
    time.sleep(0.02)  # recorded times on either side of a moment differ
    now = datetime.now(UTC).isoformat()
    time.sleep(0.02)
    return now


@pytest.fixture
def lived(ledger_url: str) -> tuple[str, list[str]]:
    """TS-H applied in three steps, with a moment taken after each."""
    steps = life_cmds("TS-H")
    moments = []
    for part in (steps[:2], steps[2:5], steps[5:]):
        assert run(ledger_url, "apply", "-", input=jsonl(part)).exit_code == 0
        moments.append(moment())
    return ledger_url, moments


def history(url: str, *args: str) -> dict[str, Any]:
    result = run(url, "history", "TS-H", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_history_known_at_three_moments_shows_what_was_recorded_by_each(
    lived: tuple[str, list[str]],
) -> None:
    url, (after_triage, after_plan, after_close) = lived

    moments = (after_triage, after_plan, after_close)
    first, second, third = (history(url, "--known-at", m) for m in moments)

    assert [e["event"] for e in first["events"]] == ["Received", "Triaged"]
    assert (first["version"], first["state"]["stage"], first["state"]["severity"]) == (
        2,
        "investigation",
        "normal",
    )
    assert (first["state"]["findings"], first["state"]["remedies"]) == (None, [])
    assert [e["event"] for e in second["events"]][2:] == [
        "Assigned",
        "FindingsRecorded",
        "ResolutionPlanned",
    ]
    assert (second["version"], second["state"]["stage"], second["state"]["handler"]) == (
        5,
        "execution",
        "zhao",
    )
    assert second["state"]["refund_total"] == "120.50"
    assert (third["version"], third["state"]["status"], third["state"]["root_cause"]) == (
        8,
        "closed",
        "违规",
    )
    for story, at in zip((first, second, third), moments, strict=True):
        shown = json.loads(run(url, "show", "TS-H", "--known-at", at, "--format", "json").stdout)
        # show adds what the ledger's tables say now of the complainant's other complaints
        # and the links (docs/repeats.md); history is the complaint's own state.
        del shown["history"], shown["links"], shown["same_complainant"]
        assert story["state"] == shown
        assert story["events"][-1]["state_after"] == story["state"]
        assert all(e["recorded_at"] <= at for e in story["events"])
        assert (story["known_at"], story["as_of"]) == (at, None)
    shown = json.loads(run(url, "show", "TS-H", "--format", "json").stdout)
    del shown["history"], shown["links"], shown["same_complainant"]
    assert third["state"] == shown


def test_history_as_of_keeps_what_had_happened_by_then_whenever_it_was_recorded(
    lived: tuple[str, list[str]],
) -> None:
    url, _ = lived  # every event was recorded today, weeks after it happened

    story = history(url, "--as-of", "2026-09-25T12:00:00+08:00")

    assert [e["event"] for e in story["events"]] == [
        "Received",
        "Triaged",
        "Assigned",
        "FindingsRecorded",
    ]
    assert (story["version"], story["state"]["stage"], story["state"]["remedies"]) == (
        4,
        "plan",
        [],
    )
    assert (story["as_of"], story["known_at"]) == ("2026-09-25T12:00:00+08:00", None)


def test_history_as_of_and_known_at_together_keep_what_was_known_of_what_had_happened(
    lived: tuple[str, list[str]],
) -> None:
    url, (after_triage, _, _) = lived

    story = history(url, "--as-of", "2026-09-24T16:30:00+08:00", "--known-at", after_triage)
    everything_by_then = history(url, "--as-of", "2026-09-29T12:00:00+08:00", "--known-at",
                                 after_triage)  # fmt: skip

    assert [e["event"] for e in story["events"]] == ["Received"]
    assert [e["event"] for e in everything_by_then["events"]] == ["Received", "Triaged"]


def test_history_as_of_replays_an_action_recorded_late_before_one_recorded_earlier(
    ledger_url: str,
) -> None:
    team = actor("handling_team", "wang")
    steps = [
        *life_cmds("TS-B", until="triage"),
        {"command": "add_note", "command_id": "TS-B-note", "ref": "TS-B", "actor": team,
         "occurred_at": "2026-09-25T10:00:00+08:00", "text": "客户来电询问进度"},
        # Recorded after the note, but it happened the day before.
        {"command": "assign", "command_id": "TS-B-assign", "ref": "TS-B", "actor": team,
         "occurred_at": "2026-09-24T17:00:00+08:00", "handler": "zhao", "team": "处置一组"},
    ]  # fmt: skip
    assert run(ledger_url, "apply", "-", input=jsonl(steps)).exit_code == 0

    result = run(ledger_url, "history", "TS-B", "--as-of", "2026-09-24T18:00:00+08:00",
                 "--format", "json")  # fmt: skip

    assert result.exit_code == 0, result.stderr
    story = json.loads(result.stdout)
    assert [(e["version"], e["event"]) for e in story["events"]] == [
        (1, "Received"),
        (2, "Triaged"),
        (4, "Assigned"),
    ]
    assert (story["state"]["handler"], story["state"]["notes"]) == ("zhao", 0)


def test_each_event_shows_who_when_and_the_fields_it_set(lived: tuple[str, list[str]]) -> None:
    url, _ = lived

    events = history(url)["events"]

    assert events[1] == {
        **events[1],
        "version": 2,
        "event": "Triaged",
        "actor_id": "wang",
        "actor_role": "handling_team",
        "occurred_at": "2026-09-24T16:40:00+08:00",
        "command_id": "TS-H-triage",
        "fields": {
            "severity": "normal",
            "category": "harassment",
            "assessment": "一般投诉",
            "cause": None,
            "codes_version": None,
            "business_type": None,
            "business_channel": None,
        },
    }
    assert events[4]["fields"]["remedies"] == [
        {"kind": "refund", "amount": "120.50", "detail": None},
        {"kind": "apology", "amount": None, "detail": None},
    ]
    assert [e["state_after"]["stage"] for e in events] == [
        "intake",
        "investigation",
        "investigation",
        "plan",
        "execution",
        "summary",
        "summary",
        "closed",
    ]


def test_history_at_a_version_matches_history_at_the_moment_it_was_recorded(
    lived: tuple[str, list[str]],
) -> None:
    url, moments = lived

    assert history(url, "--version", "5") == {
        **history(url, "--known-at", moments[1]),
        "known_at": None,
    }


def test_history_as_a_table_lists_events_then_the_state(lived: tuple[str, list[str]]) -> None:
    url, _ = lived

    out = run(url, "history", "TS-H", "--version", "2").stdout.splitlines()

    assert out[0] == "TS-H: 2 events (version 2)"
    assert out[1].startswith("v1   Received             li (customer_service, asserted)  occurred ")
    assert out[3].startswith("v2   Triaged              wang (handling_team, asserted)  occurred ")
    assert out[4] == (
        "      set: severity=normal, category=harassment, assessment=一般投诉, cause=-, "
        "codes_version=-, business_type=-, business_channel=-"
    )
    assert out[5].startswith("      now: stage=investigation, severity=normal, ")
    assert "State at version 2:" in out
    assert "               stage: investigation" in out


def test_history_table_shows_every_time_in_the_plans_zone_with_its_offset(
    lived: tuple[str, list[str]],
) -> None:
    url, _ = lived

    out = run(url, "history", "TS-H", "--as-of", "2026-09-24T16:40:00+08:00").stdout.splitlines()

    assert out[0] == "TS-H: 2 events (happened by 2026-09-24 16:40:00 +08:00, version 2)"
    assert out[1].startswith(
        "v1   Received             li (customer_service, asserted)  "
        "occurred 2026-09-24 16:20:00 +08:00  recorded 20"
    )
    assert out[1].endswith(" +08:00")
    assert ", received_at=2026-09-24 16:00:00 +08:00, " in out[2]  # stored in UTC
    assert out[5].endswith(", triaged_at=2026-09-24 16:40:00 +08:00")
    assert "          triaged_at: 2026-09-24 16:40:00 +08:00" in out
    assert "State at version 2 (happened by 2026-09-24 16:40:00 +08:00):" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--as-of", "2000-01-01T00:00:00+08:00"],
            1,
            "Error: nothing had happened to TS-H by 2000-01-01T00:00:00+08:00\n",
        ),
        (
            ["--known-at", "2026-09-29T12:00:00+08:00"],  # after it all happened, before today
            1,
            "Error: TS-H had not been recorded by 2026-09-29T12:00:00+08:00\n",
        ),
        (["--version", "99"], 1, "Error: TS-H has versions 1 to 8, not 99"),
        (["--as-of", "yesterday"], 1, "Error: --as-of: 'yesterday' is not an ISO 8601 time"),
        (["--known-at", "soon"], 1, "Error: --known-at: 'soon' is not an ISO 8601 time"),
        (
            ["--version", "2", "--as-of", "2026-01-01T00:00:00Z"],
            2,
            "Error: give --as-of and --known-at, or --version, not both\nUsage: ",
        ),
    ],
)
def test_bad_history_requests_are_refused_in_one_line(
    lived: tuple[str, list[str]], args: list[str], code: int, message: str
) -> None:
    url, _ = lived
    before = event_count(url)

    result = run(url, "history", "TS-H", *args)

    assert result.exit_code == code
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.output
    assert event_count(url) == before


def test_history_of_an_unknown_reference_is_refused(ledger_url: str) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-1", until="receive")))

    result = run(ledger_url, "history", "TS-NOPE")

    assert (result.exit_code, result.stderr) == (1, "Error: no complaint has reference 'TS-NOPE'\n")
