"""The ``publications`` read model holds the rulebook the runner judged clocks by: the query
side rebuilds from it the very policies and calendars the log holds, after catching up and
after a rebuild alike."""

from __future__ import annotations

from pathlib import Path

from ledger.store.books import load_rulebook
from ledger.store.root import open_ledger
from projections.publications import stored_rulebook
from projections.runner import Runner
from tests.helpers import jsonl, life_cmds, run

POLICY = Path(__file__).resolve().parents[2] / "docs" / "policy-business-hours.toml"
LEAD = ["--actor", "chen", "--role", "leadership"]


def test_the_stored_rulebook_is_the_logs(ledger_url: str) -> None:
    assert run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-1"))).exit_code == 0
    assert run(ledger_url, "policy", "publish", str(POLICY), "--effective-from",
               "2026-01-01T00:00:00+08:00", *LEAD).exit_code == 0  # fmt: skip
    assert run(ledger_url, "calendar", "publish", "2026", *LEAD).exit_code == 0

    with open_ledger(ledger_url) as ledger:
        runner = Runner(ledger)
        runner.catch_up_all()
        with runner.transaction() as cur:
            caught_up = stored_rulebook(cur).publications
        runner.rebuild(("cases",))
        with runner.transaction() as cur:
            rebuilt = stored_rulebook(cur).publications
        logged = load_rulebook(ledger).publications

    assert [p.label for p in logged] == ["@policies v2", "@calendars v2"]
    assert caught_up == logged
    assert rebuilt == logged
