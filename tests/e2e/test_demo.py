"""``demo``: a ledger of its own, filled once with three weeks of complaints dated when each
action happened; running it again adds nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from commands.cli.demo import DEMO_DAYS, DEMO_END
from tests.helpers import event_count, jsonl, life_cmds, run

SMALL = ["--complaints", "6"]


def refs_of(output: str) -> list[str]:
    """The references in the demo's table (the lines between its first line and the blank
    line after the table)."""
    table = output.split("\n\n", 1)[0].splitlines()[3:]
    return [line.split()[0] for line in table]


def test_demo_fills_demo_db_in_the_current_directory_and_never_ledger_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    elsewhere = f"sqlite:///{tmp_path / 'mine.db'}"

    result = run(elsewhere, "demo", *SMALL)  # run() sets LEDGER_DB to ``elsewhere``

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"demo ledger: sqlite:///demo.db (the file {tmp_path / 'demo.db'})"
    assert "Use it with --db sqlite:///demo.db, or: export LEDGER_DB=sqlite:///demo.db" in lines
    assert event_count(f"sqlite:///{tmp_path / 'demo.db'}") > 0
    assert not (tmp_path / "mine.db").exists()


def test_demo_run_again_adds_nothing_and_says_the_ledger_was_left_as_it_was(
    ledger_url: str,
) -> None:
    first = run(ledger_url, "demo", *SMALL, "--db", ledger_url)
    count = event_count(ledger_url)

    second = run(ledger_url, "demo", *SMALL, "--db", ledger_url)

    assert first.exit_code == second.exit_code == 0, first.stderr + second.stderr
    assert event_count(ledger_url) == count
    assert refs_of(second.stdout) == refs_of(first.stdout)
    assert len(set(refs_of(first.stdout))) == 6
    assert "The ledger already held this demo: nothing was added." not in first.stdout
    assert "The ledger already held this demo: nothing was added." in second.stdout
    assert (
        second.stdout.replace(
            next(line for line in second.stdout.splitlines() if line.startswith("The ledger"))
            + "\n",
            "",
        )
        == first.stdout
    )


def test_demo_leaves_what_was_added_to_its_ledger_in_place(ledger_url: str) -> None:
    run(ledger_url, "demo", *SMALL, "--db", ledger_url)
    note = {"command": "add_note", "command_id": "mine", "actor": {"id": "li",
            "role": "customer_service"}, "text": "自己加的备注"}  # fmt: skip
    ref = refs_of(run(ledger_url, "demo", *SMALL, "--db", ledger_url).stdout)[0]
    assert run(ledger_url, "apply", "-", input=jsonl([{**note, "ref": ref}])).exit_code == 0
    count = event_count(ledger_url)

    again = run(ledger_url, "demo", *SMALL, "--db", ledger_url)

    assert again.exit_code == 0, again.stderr
    assert event_count(ledger_url) == count


@pytest.mark.parametrize("other", [["--complaints", "6"], ["--complaints", "7"]])
def test_demo_refuses_a_ledger_that_holds_other_complaints(
    ledger_url: str, other: list[str]
) -> None:
    if other == SMALL:
        run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-REAL", until="triage")))
    else:  # another demo (another number of complaints) is not this one either
        run(ledger_url, "demo", *SMALL, "--db", ledger_url)
    before = event_count(ledger_url)

    result = run(ledger_url, "demo", *other, "--db", ledger_url)

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {ledger_url} already holds complaints that are not this demo's (seed 2026, "
        f"{other[1]} complaints); the demo needs a ledger of its own: give --db a new one\n"
    )
    assert event_count(ledger_url) == before


def test_demo_actions_are_dated_over_the_three_weeks_they_tell_of(ledger_url: str) -> None:
    result = run(ledger_url, "demo", *SMALL, "--db", ledger_url)
    refs = refs_of(result.stdout)

    stories = {
        ref: json.loads(run(ledger_url, "history", ref, "--format", "json").stdout)["events"]
        for ref in refs
    }
    halfway = DEMO_END - timedelta(days=DEMO_DAYS / 2)
    ref, events = next(
        (ref, events)
        for ref, events in stories.items()
        if datetime.fromisoformat(events[0]["occurred_at"]) < halfway
        and datetime.fromisoformat(events[-1]["occurred_at"]) > halfway
    )  # a complaint that was being handled halfway through
    then = run(ledger_url, "history", ref, "--as-of", halfway.isoformat(), "--format", "json")

    occurred = sorted(datetime.fromisoformat(e["occurred_at"]) for events in stories.values()
                      for e in events)  # fmt: skip
    start = DEMO_END - timedelta(days=DEMO_DAYS)
    assert start <= occurred[0] < start + timedelta(days=7)
    assert DEMO_END - timedelta(days=7) < occurred[-1] <= DEMO_END
    assert len({o.date() for o in occurred}) >= 10  # spread over the weeks, not one moment
    assert [e["version"] for e in json.loads(then.stdout)["events"]] == [
        e["version"] for e in events if datetime.fromisoformat(e["occurred_at"]) <= halfway
    ]
    assert result.stdout.count("SLA report as of 2026-11-27 18:00:00 +08:00\n") == 1
