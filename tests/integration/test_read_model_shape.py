"""Read models built by the release before business-hours clocks (shape 2) are never read as
they stand: a read that may not catch up refuses with one line, and the first run rebuilds
them with the new columns (issue 18)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from commands.http.problems import Problem
from commands.http.readside import ReadSide
from ledger.store.root import open_ledger
from projections.runner import Runner
from projections.schema import AUDIT_SHAPE, AUDIT_SHAPE_KEY, CASES_SHAPE, SHAPE_KEY
from tests.audit_helpers import sqlite_path
from tests.helpers import actor, event_count, jsonl, life_cmds, run

BEFORE_BUSINESS_HOURS = 2  # shape 3 to 4 only added a table: the upgrade from 2 rebuilds


def _shape(url: str, shape: int | None = None) -> int:
    """The case read models' shape; with ``shape``, first pretend an earlier release wrote them."""
    with open_ledger(url) as ledger:
        runner = Runner(ledger)
        with runner.transaction() as cur:
            if shape is not None:
                cur.execute(
                    "UPDATE {positions} SET position = ? WHERE name = ?", (shape, SHAPE_KEY)
                )
            cur.execute("SELECT position FROM {positions} WHERE name = ?", (SHAPE_KEY,))
            row = cur.fetchone()
            assert row is not None
            return int(row["position"])


def test_read_models_of_the_previous_shape_are_refused_then_rebuilt(ledger_url: str) -> None:
    assert run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-1"))).exit_code == 0
    assert run(ledger_url, "projections", "run").exit_code == 0
    assert _shape(ledger_url, BEFORE_BUSINESS_HOURS) == BEFORE_BUSINESS_HOURS
    events = event_count(ledger_url)

    refused = run(ledger_url, "report", "sla", "--no-catch-up", "--format", "json")
    ran = run(ledger_url, "projections", "run")
    report = run(ledger_url, "report", "sla", "--no-catch-up", "--format", "json",
                 "--as-of", "2026-12-31T00:00:00+08:00")  # fmt: skip

    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        f"Error: the case read models were built by an earlier release (shape "
        f"{BEFORE_BUSINESS_HOURS}; this release reads shape {CASES_SHAPE}): run complaint-ledger "
        "projections run, as a login that may write them, to rebuild them"
    )
    assert "Traceback" not in refused.output
    assert ran.exit_code == 0, ran.stderr
    assert _shape(ledger_url) == CASES_SHAPE
    assert report.exit_code == 0, report.stderr
    assert all("late_by_business_seconds" in i for i in json.loads(report.stdout)["items"])
    assert event_count(ledger_url) == events
    with open_ledger(ledger_url) as ledger, Runner(ledger).transaction() as cur:
        cur.execute("SELECT late_business_seconds, schedule FROM {sla_clocks} WHERE clock = ?",
                    ("intake",))  # fmt: skip
        rows = cur.fetchall()
    assert rows == [{"late_business_seconds": 0, "schedule": None}]


def test_the_api_answers_503_on_read_models_of_the_previous_shape(ledger_url: str) -> None:
    assert run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-1"))).exit_code == 0
    assert run(ledger_url, "projections", "run").exit_code == 0
    _shape(ledger_url, CASES_SHAPE - 1)

    with open_ledger(ledger_url) as ledger:
        side = ReadSide(ledger)
        with pytest.raises(Problem) as refused, side.query():
            pass

    assert refused.value.status == 503
    assert "built by an earlier release" in refused.value.detail


def test_an_audit_trail_of_the_shape_that_copied_reasons_is_refused_until_rebuilt(
    ledger_url: str,
) -> None:
    """An audit trail of shape 1 copied reasons in plain, which an erasure cannot reach: a read
    that may not catch up refuses it, rather than showing what was erased (issue 13)."""
    _shape_1_trail(ledger_url, "媒体关注 private words")

    refused = run(ledger_url, "audit", "TS-1", "--no-catch-up")
    ran = run(ledger_url, "projections", "run")
    shown = run(ledger_url, "audit", "TS-1", "--no-catch-up", "--format", "json")

    assert (refused.exit_code, refused.stdout) == (1, "")
    assert refused.stderr == (
        f"Error: the audit trail was built by an earlier release (shape 1; this release reads "
        f"shape {AUDIT_SHAPE}): run complaint-ledger projections run, as a login that may "
        "write them, to rebuild them\n"
    )
    assert ran.exit_code == 0, ran.stderr
    assert shown.exit_code == 0, shown.stderr
    assert "Escalated" in shown.stdout
    assert "private words" not in shown.stdout


def test_the_upgrade_of_an_audit_trail_that_copied_reasons_leaves_no_copy_in_the_file(
    tmp_path: Path,
) -> None:
    """SQLite (PostgreSQL removes a dropped table's files): the rebuild that replaces an audit
    trail of shape 1 zeroes the old table's pages as it drops it, so the reasons it copied in
    plain are gone from the file, not only from the table (a rebuild of read models of the
    current shape may leave freed pages as they are)."""
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    secret = "媒体关注 private words"
    _shape_1_trail(ledger_url, secret, padding="。" * 500)
    path = Path(sqlite_path(ledger_url))
    assert secret.encode() in _checkpointed(path)  # the old trail's copy, in the file

    ran = run(ledger_url, "projections", "run")

    assert ran.exit_code == 0, ran.stderr
    assert secret.encode() not in _checkpointed(path)


def _shape_1_trail(ledger_url: str, reason: str, padding: str = "") -> None:
    """A complaint escalated with ``reason``, projected, and its audit trail made as a release
    of shape 1 wrote it: the reason copied into the summary. ``padding`` lengthens every row's
    Chinese summary, so that the trail spans pages of its own below its root, as a real one does."""
    escalate = {"command": "escalate", "command_id": "TS-1-escalate", "ref": "TS-1",
                "actor": actor("handling_team", "wang"), "reason": reason,
                "occurred_at": "2026-09-24T16:50:00+08:00"}  # fmt: skip
    cmds = [*life_cmds("TS-1", until="assign"), escalate]
    assert run(ledger_url, "apply", "-", input=jsonl(cmds)).exit_code == 0
    assert run(ledger_url, "projections", "run").exit_code == 0
    with open_ledger(ledger_url) as ledger, Runner(ledger).transaction() as cur:
        cur.execute("UPDATE {positions} SET position = 1 WHERE name = ?", (AUDIT_SHAPE_KEY,))
        cur.execute("UPDATE {audit_trail} SET summary_en = ? WHERE action = ?",
                    (f"Escalated to leadership: {reason}", "Escalated"))  # fmt: skip
        if padding:
            cur.execute("UPDATE {audit_trail} SET summary_zh = summary_zh || ?", (padding,))


def _checkpointed(path: Path) -> bytes:
    """The file as it rests once the write-ahead log is moved into it (as ``erase`` leaves it)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
