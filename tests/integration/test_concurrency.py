"""Two processes writing to the same complaint at once.

Conflicts are retried transparently: the loser of a race reloads the complaint
and decides again, for as long as the other writers make progress; only a
writer kept out for ``RETRY_SECONDS`` gives up, with a clear error.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from typing import Any

import pytest

from commands.handlers import handle
from commands.models import parse_command
from ledger.domain.complaint import Complaint
from ledger.domain.errors import ConcurrentChange
from ledger.store.root import Ledger, open_ledger
from tests.helpers import actor, jsonl, life_cmds, run


def notes(prefix: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "command": "add_note",
            "command_id": f"{prefix}-{i}",
            "ref": "TS-RACE",
            "actor": actor("customer_service"),
            "text": f"{prefix} note {i}",
            "occurred_at": "2026-09-24T17:00:00+08:00",
        }
        for i in range(count)
    ]


def writer(url: str, commands: list[dict[str, Any]], start: Any) -> tuple[list[str], int]:
    """Apply the commands once both writers are ready; return ids given up on, and retries."""
    given_up, retries = [], 0
    with open_ledger(url) as ledger:
        start.wait(timeout=120)
        for data in commands:
            try:
                retries += handle(ledger, parse_command(data)).retries
            except ConcurrentChange:
                given_up.append(data["command_id"])
    return given_up, retries


def test_concurrent_writers_lose_and_duplicate_nothing(ledger_url: str) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-RACE", until="receive")))
    shared = notes("shared", 40)  # both processes submit these: each must land once
    batches = {name: notes(name, 150) + shared for name in ("a", "b")}
    context = multiprocessing.get_context("spawn")
    start = context.Manager().Barrier(2)

    with context.Pool(2) as pool:
        results = pool.starmap(writer, [(ledger_url, batch, start) for batch in batches.values()])
    given_up = [ids for ids, _ in results]
    retries = sum(n for _, n in results)

    with open_ledger(ledger_url) as ledger:
        events = ledger.complaint_events("TS-RACE")
    recorded = Counter(getattr(e, "command_id", None) for e in events[1:])
    submitted = {c["command_id"] for batch in batches.values() for c in batch}
    applied = {
        cid
        for cid in submitted
        if any(
            cid in {c["command_id"] for c in batch} and cid not in gave_up
            for batch, gave_up in zip(batches.values(), map(set, given_up), strict=True)
        )
    }
    assert set(recorded) == applied
    assert max(recorded.values()) == 1
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
    assert retries > 0, "the writers never collided; the test proved nothing"
    assert given_up == [[], []]
    assert applied == submitted


class Rival:
    """A ledger whose every load of a complaint is followed, ``times`` times, by another
    writer's note to that complaint (through a connection of its own): each decision made
    on the load then loses its race, while the other writer makes progress."""

    def __init__(self, ledger: Ledger, other: Ledger, times: int) -> None:
        self.ledger, self.other, self.times, self.notes = ledger, other, times, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ledger, name)

    def get_complaint(self, ref: str, version: int | None = None) -> Complaint:
        complaint = self.ledger.get_complaint(ref, version)
        if self.notes < self.times:
            self.notes += 1
            handle(self.other, parse_command(notes(f"rival-{self.notes}", 1)[0]))
        return complaint


@pytest.fixture
def race(ledger_url: str) -> str:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-RACE", until="receive")))
    return ledger_url


def test_a_command_keeps_retrying_while_other_writers_make_progress(race: str) -> None:
    mine = parse_command(notes("mine", 1)[0])

    with open_ledger(race) as ledger, open_ledger(race) as other:
        rival = Rival(ledger, other, times=30)  # more races lost than any fixed count allowed
        outcome = handle(rival, mine)  # type: ignore[arg-type]
        events = ledger.complaint_events("TS-RACE")

    assert outcome.retries == 30
    assert (outcome.version, outcome.duplicate) == (32, False)
    assert [getattr(e, "command_id", None) for e in events[1:]] == [
        *[f"rival-{n}-0" for n in range(1, 31)],
        "mine-0",
    ]


def test_a_command_kept_out_past_the_time_bound_gives_up_and_saves_nothing(
    race: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("commands.handlers.RETRY_SECONDS", 0.5)
    mine = parse_command(notes("mine", 1)[0])

    with open_ledger(race) as ledger, open_ledger(race) as other:
        rival = Rival(ledger, other, times=10**6)
        with pytest.raises(ConcurrentChange, match="other writers kept changing it"):
            handle(rival, mine)  # type: ignore[arg-type]
        recorded = {getattr(e, "command_id", None) for e in ledger.complaint_events("TS-RACE")}

    assert "mine-0" not in recorded
    assert len(recorded) == rival.notes + 1  # the receipt and each of the rival's notes
