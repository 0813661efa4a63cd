"""Ledgers written before issue 12 keep working: their events are read as they were stored
(never rewritten), and read models of the older shape are rebuilt before they are used.

``tests/fixtures/ledgers/before-issue-12/ledger.db`` was written by the code before issue 12
(see ``make.py`` beside it): histories its rules accepted and today's refuse,
and read models of the old shape.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from ledger.store.root import open_ledger
from projections.runner import Runner
from tests.helpers import event_count, run
from tests.integration.test_projections import dump, fill

FIXTURE = Path(__file__).parents[1] / "fixtures" / "ledgers" / "before-issue-12" / "ledger.db"
AS_OF = "2026-10-20T00:00:00+08:00"
REFS = ("OLD-PAUSE", "OLD-WD", "OLD-TRIAGE", "OLD-EXT", "OLD-REOPEN")
# The sla_clocks table as the code before issue 12 created it.
OLD_SLA_CLOCKS = """CREATE TABLE {sla_clocks} (
    ref TEXT NOT NULL, clock TEXT NOT NULL, started_at TEXT NOT NULL, due_at TEXT NOT NULL,
    risk_at TEXT NOT NULL, met_at TEXT, late_seconds BIGINT, cancelled INTEGER NOT NULL,
    estimated INTEGER NOT NULL, received_at TEXT NOT NULL, team TEXT, handler TEXT,
    channel TEXT NOT NULL, PRIMARY KEY (ref, clock))"""


def columns(db: Path, table: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]


def json_of(url: str, *args: str) -> Any:
    result = run(url, *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_a_ledger_written_before_issue_12_is_read_as_stored_and_its_read_models_rebuilt(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.db"
    shutil.copy(FIXTURE, db)
    url = f"sqlite:///{db}"
    events = event_count(url)
    assert "fixed_from" not in columns(db, "sla_clocks")

    report = json_of(url, "report", "sla", "--as-of", AS_OF)
    verdicts = {ref: json_of(url, "sla", ref, "--as-of", AS_OF) for ref in REFS}
    verified = run(url, "verify", "--no-anchor")

    assert "fixed_from" in columns(db, "sla_clocks")
    assert verified.exit_code == 0, verified.stdout
    assert event_count(url) == events  # reads wrote no event
    for ref, clocks in verdicts.items():
        by_sla = sorted((v["clock"], v["status"], v["late_by_seconds"]) for v in clocks
                        if v["status"] in ("breached", "overdue", "at_risk"))  # fmt: skip
        by_report = sorted((i["clock"], i["status"], i["late_by_seconds"])
                           for i in report["items"] if i["ref"] == ref)  # fmt: skip
        assert by_report == by_sla, ref
    pause = {v["clock"]: v for v in verdicts["OLD-PAUSE"]}
    # 24 h from 10 Sept 09:00, moved by the 48 h paused (10th 10:00 to 12th 10:00) once,
    # though a second pause overlapped it: the old code moved it by 72 h (14th 09:00).
    assert pause["investigation"]["due_at"] == "2026-09-13T01:00:00+00:00"
    reopened = {v["clock"] for v in verdicts["OLD-REOPEN"]}
    assert "execution#2" in reopened  # the new plan after the execution got its own clock
    assert "intake#2" not in reopened  # the old reopening restarted no intake clock


def test_new_actions_on_a_complaint_with_an_old_breach_of_the_time_rule_are_judged_alone(
    tmp_path: Path,
) -> None:
    """OLD-TRIAGE holds a second triage dated before the first (the old rules allowed it):
    the time rule judges each new action, not the history already on record."""
    db = tmp_path / "old.db"
    shutil.copy(FIXTURE, db)
    url = f"sqlite:///{db}"
    team = ["--actor", "wang", "--role", "handling_team"]

    noted = run(url, "add-note", "OLD-TRIAGE", "--text", "x", "--actor", "li", "--role",
                "customer_service")  # fmt: skip
    found = run(url, "record-findings", "OLD-TRIAGE", "--substantiated", "no", "--findings",
                "x", "--occurred-at", "2026-09-11T09:00:00+08:00", *team)  # fmt: skip

    assert (noted.exit_code, found.exit_code) == (0, 0), found.stderr


def test_case_read_models_of_an_older_shape_are_rebuilt_before_anything_is_applied(
    ledger_url: str, tmp_path: Path
) -> None:
    fill(ledger_url, tmp_path, 40, seed=3)
    assert run(ledger_url, "projections", "run").exit_code == 0
    before = dump(ledger_url)
    with open_ledger(ledger_url) as ledger:
        runner = Runner(ledger)
        with runner.transaction() as cur:
            # As the code before issue 12 left them: no shape mark, folds with the old facts,
            # sla_clocks without the new columns.
            cur.execute("DELETE FROM {positions} WHERE name = 'shape:cases'")
            cur.execute("SELECT case_id, state FROM {case_folds}")
            for row in cur.fetchall():
                state = json.loads(row["state"])
                state["facts"] = {"received_at": state["received_at"], "rounds": []}
                cur.execute("UPDATE {case_folds} SET state = ? WHERE case_id = ?",
                            (json.dumps(state), row["case_id"]))  # fmt: skip
            cur.execute("DROP TABLE {sla_clocks}")
            cur.execute(OLD_SLA_CLOCKS)

    listed = run(ledger_url, "report", "sla", "--format", "json")
    after = dump(ledger_url)

    assert listed.exit_code == 0, listed.stderr
    assert after == before
