"""``history``: every event replayed from the store, and the state as it stood at a moment
(by recorded time) or at a version."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.helpers import event_count, jsonl, life_cmds, run


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


def test_history_as_of_three_moments_shows_the_state_at_each(
    lived: tuple[str, list[str]],
) -> None:
    url, (after_triage, after_plan, after_close) = lived

    moments = (after_triage, after_plan, after_close)
    first, second, third = (history(url, "--as-of", m) for m in moments)

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
        del shown["history"]
        assert story["state"] == shown
        assert story["events"][-1]["state_after"] == story["state"]
        assert all(e["recorded_at"] <= at for e in story["events"])


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
        "fields": {"severity": "normal", "category": "harassment", "assessment": "一般投诉"},
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

    assert history(url, "--version", "5") == {**history(url, "--as-of", moments[1]), "as_of": None}


def test_history_as_a_table_lists_events_then_the_state(lived: tuple[str, list[str]]) -> None:
    url, _ = lived

    out = run(url, "history", "TS-H", "--version", "2").stdout.splitlines()

    assert out[0] == "TS-H: 2 events (version 2)"
    assert out[1].startswith("v1   Received             li (customer_service)  occurred ")
    assert out[3].startswith("v2   Triaged              wang (handling_team)  occurred ")
    assert out[4] == "      set: severity=normal, category=harassment, assessment=一般投诉"
    assert out[5].startswith("      now: stage=investigation, severity=normal, ")
    assert "State at version 2:" in out
    assert "               stage: investigation" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--as-of", "2000-01-01T00:00:00+08:00"], 1, "Error: TS-H had not been received by "),
        (["--version", "99"], 1, "Error: TS-H has versions 1 to 8, not 99"),
        (["--as-of", "yesterday"], 1, "Error: --as-of: 'yesterday' is not an ISO 8601 time"),
        (["--version", "2", "--as-of", "2026-01-01T00:00:00Z"], 2, "Usage: "),
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
    result = run(ledger_url, "history", "TS-NOPE")

    assert (result.exit_code, result.stderr) == (1, "Error: no complaint has reference 'TS-NOPE'\n")
