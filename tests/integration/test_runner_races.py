"""A runner that finds another runner has applied its batch first: not an error. A runner goes
on after the other's work, a reader catching up on its way leaves the rest to the other, and
no event is applied twice."""

from __future__ import annotations

from typing import Any

import pytest

from commands.handlers import handle
from commands.models import parse_command
from ledger.store.root import open_ledger
from projections.runner import Runner
from tests.helpers import jsonl, life_cmds, run


def audit_positions(runner: Runner) -> list[int]:
    with runner.transaction(commit=False) as cur:
        rows = cur.execute("SELECT position FROM {audit_trail} ORDER BY position").fetchall()
    return [row["position"] for row in rows]


@pytest.mark.parametrize("give_way", [False, True], ids=["runner", "reader"])
def test_a_runner_overtaken_by_another_goes_on_or_gives_way_and_applies_nothing_twice(
    ledger_url: str, give_way: bool
) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-A")))
    with open_ledger(ledger_url) as a, open_ledger(ledger_url) as b:
        slow, fast = Runner(a, batch_size=3), Runner(b)
        first = fast.head()
        select = a.recorder.select_notifications

        def overtaken(*args: Any, **kwargs: Any) -> Any:
            """The slow runner's first read of the log; before it can claim the batch, the
            fast runner applies everything, and two more events are appended."""
            a.recorder.select_notifications = select  # type: ignore[method-assign]
            batch = select(*args, **kwargs)
            fast.catch_up_all(names=("audit_trail",))
            for command in life_cmds("TS-B", until="triage"):
                handle(b, parse_command(command))
            return batch

        a.recorder.select_notifications = overtaken  # type: ignore[method-assign]
        applied = slow.catch_up_all(names=("audit_trail",), give_way=give_way)
        head = fast.head()
        trail = audit_positions(slow)

    assert head == first + 2
    if give_way:
        assert applied == 0
        assert trail == list(range(1, first + 1))  # the rest is left to the other runner
    else:
        assert applied == 2
        assert trail == list(range(1, head + 1))  # each event once
