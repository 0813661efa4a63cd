"""Read models built by the release before business-hours clocks (shape 2) are never read as
they stand: a read that may not catch up refuses with one line, and the first run rebuilds
them with the new columns (issue 18)."""

from __future__ import annotations

import json

import pytest

from commands.http.problems import Problem
from commands.http.readside import ReadSide
from ledger.store.root import open_ledger
from projections.runner import Runner
from projections.schema import CASES_SHAPE, SHAPE_KEY
from tests.helpers import event_count, jsonl, life_cmds, run

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
