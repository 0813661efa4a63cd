"""The ``publications`` read model holds the rulebook the runner judged clocks by: the query
side rebuilds from it the very policies and calendars the log holds, after catching up and
after a rebuild alike."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from ledger.store.books import load_policy_book, load_rulebook
from ledger.store.codelists import published_code_lists
from ledger.store.root import open_ledger
from projections.publications import stored_code_lists, stored_policy_list, stored_rulebook
from projections.runner import Runner
from projections.schema import CASES_SHAPE, SHAPE_KEY
from tests.helpers import jsonl, life_cmds, run

POLICY = Path(__file__).resolve().parents[2] / "docs" / "policy-business-hours.toml"
CODES = Path(__file__).resolve().parents[2] / "docs" / "codes-example.toml"
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


def test_read_models_of_an_earlier_shape_are_rebuilt_with_their_publications(
    ledger_url: str,
) -> None:
    assert run(ledger_url, "policy", "publish", str(POLICY), *LEAD).exit_code == 0
    assert run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-1"))).exit_code == 0
    assert run(ledger_url, "projections", "run").exit_code == 0
    with open_ledger(ledger_url) as ledger, Runner(ledger).transaction() as cur:
        cur.execute("DROP TABLE {publications}")
        cur.execute("UPDATE {positions} SET position = 3 WHERE name = ?", (SHAPE_KEY,))
        # A mark only this older shape held: the rebuild works the clocks out afresh.
        cur.execute("UPDATE {sla_clocks} SET changes = 'old' WHERE clock = 'intake'")

    ran = run(ledger_url, "projections", "run")

    assert ran.exit_code == 0, ran.stderr
    with open_ledger(ledger_url) as ledger:
        runner = Runner(ledger)
        with runner.transaction() as cur:
            stored = stored_rulebook(cur).publications
            cur.execute("SELECT position FROM {positions} WHERE name = ?", (SHAPE_KEY,))
            shape = cur.fetchone()
            cur.execute("SELECT changes FROM {sla_clocks} WHERE clock = 'intake'")
            marks = cur.fetchall()
        assert stored == load_rulebook(ledger).publications
    assert [p.label for p in stored] == ["@policies v2"]
    assert shape == {"position": CASES_SHAPE}
    assert marks != [{"changes": "old"}]


def _revised(tmp_path: Path, version: str) -> Path:
    path = tmp_path / f"{version}.toml"
    path.write_text(CODES.read_text(encoding="utf-8").replace("codes-2026.1", version))
    return path


def test_the_stored_code_lists_are_the_logs(ledger_url: str, tmp_path: Path) -> None:
    """Kept by the runner as it catches up (a list published between two runs too), by a
    rebuild in one process and in two, each in the form codes list gives."""
    published = [(CODES, "2026-09-01T00:00:00+08:00"),
                 (_revised(tmp_path, "codes-2026.0"), "2026-09-01T00:00:00+08:00"),
                 (_revised(tmp_path, "codes-2025.9"), "2026-01-01T00:00:00Z")]  # fmt: skip
    assert run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-1"))).exit_code == 0
    for path, effective_from in published[:2]:
        assert run(ledger_url, "codes", "publish", str(path), "--effective-from",
                   effective_from, *LEAD).exit_code == 0  # fmt: skip
    assert run(ledger_url, "projections", "run").exit_code == 0
    path, effective_from = published[2]
    assert run(ledger_url, "codes", "publish", str(path), "--effective-from", effective_from,
               *LEAD).exit_code == 0  # fmt: skip

    with open_ledger(ledger_url) as ledger:
        runner = Runner(ledger)
        runner.catch_up_all()
        with runner.transaction() as cur:
            caught_up = stored_code_lists(cur)
            rulebook = stored_rulebook(cur).publications
        logged = published_code_lists(ledger)
    rebuilt = {}
    for workers in ("1", "2"):
        done = run(ledger_url, "projections", "rebuild", "cases", "--workers", workers)
        assert done.exit_code == 0, done.output
        with open_ledger(ledger_url) as ledger, Runner(ledger).transaction() as cur:
            rebuilt[workers] = stored_code_lists(cur)

    assert [c["version"] for c in logged] == ["codes-2025.9", "codes-2026.1", "codes-2026.0"]
    assert caught_up == logged
    assert rebuilt == {"1": logged, "2": logged}
    assert rulebook == ()  # code lists are no policy or calendar


def test_read_models_of_shape_6_are_rebuilt_with_the_code_lists(ledger_url: str) -> None:
    assert run(ledger_url, "codes", "publish", str(CODES), *LEAD).exit_code == 0
    assert run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-1"))).exit_code == 0
    assert run(ledger_url, "projections", "run").exit_code == 0
    with open_ledger(ledger_url) as ledger, Runner(ledger).transaction() as cur:
        # As shape 6 left them: no code list among the publications.
        cur.execute("DELETE FROM {publications} WHERE kind = 'codes'")
        cur.execute("UPDATE {positions} SET position = 6 WHERE name = ?", (SHAPE_KEY,))

    ran = run(ledger_url, "projections", "run")

    assert ran.exit_code == 0, ran.stderr
    with open_ledger(ledger_url) as ledger:
        with Runner(ledger).transaction() as cur:
            stored = stored_code_lists(cur)
            cur.execute("SELECT position FROM {positions} WHERE name = ?", (SHAPE_KEY,))
            shape = cur.fetchone()
        assert stored == published_code_lists(ledger)
    assert [c["version"] for c in stored] == ["codes-2026.1"]
    assert shape == {"position": CASES_SHAPE}


def _entries_dropped(ledger_url: str, commands: str = "") -> list[dict[str, Any]]:
    """A policy published, ``commands`` (JSON Lines) applied and the read models run; then the
    policy's row stripped of its entry, as a runner of an earlier release keeps it. Returns
    the list as it was before."""
    assert run(ledger_url, "policy", "publish", str(POLICY), "--effective-from",
               "2026-01-01T00:00:00+08:00", "--reason", "修订", *LEAD).exit_code == 0  # fmt: skip
    if commands:
        assert run(ledger_url, "apply", "-", input=commands).exit_code == 0
    assert run(ledger_url, "projections", "run").exit_code == 0
    with open_ledger(ledger_url) as ledger, Runner(ledger).transaction() as cur:
        listed = stored_policy_list(cur)
        cur.execute("UPDATE {publications} SET entry = NULL WHERE kind = 'policy'")
    return listed


def test_the_policies_listed_from_the_read_model_are_the_logs(ledger_url: str) -> None:
    """``policy list`` for a login that may not read the log: each policy's entry as the log
    gives it; a row kept without one (a runner of an earlier release still following) gives
    its version and effective time, with no reason or drill, rather than fail."""
    listed = _entries_dropped(ledger_url, jsonl(life_cmds("TS-1")))
    with open_ledger(ledger_url) as ledger:
        with Runner(ledger).transaction() as cur:
            bare = stored_policy_list(cur)
        book = load_policy_book(ledger)
    assert book is not None
    ((effective_from, version),) = book.effective
    assert listed == [{"version": version, "effective_from": effective_from.isoformat(),
                       "reason": "修订", "drill": None}]  # fmt: skip
    assert [(p["version"], p["reason"]) for p in bare] == [(version, None)]
    assert datetime.fromisoformat(bare[0]["effective_from"]) == effective_from


def test_rows_an_earlier_release_kept_without_their_entries_get_them_on_the_next_run(
    ledger_url: str,
) -> None:
    """A runner of an earlier release still following after the upgrade to shape 8 writes the
    policies it meets without their entries (it knows no such column). The next run of this
    release writes them in, so a login that may not read the log lists the reason and the
    effective time as published, as the owner does, and not a bare row for ever."""
    listed = _entries_dropped(ledger_url)
    assert run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-2"))).exit_code == 0
    assert run(ledger_url, "projections", "run").exit_code == 0
    with open_ledger(ledger_url) as ledger, Runner(ledger).transaction() as cur:
        again = stored_policy_list(cur)
    assert listed[0]["reason"] == "修订"
    assert again == listed
