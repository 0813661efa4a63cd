"""``sla_tally`` (issue 17): the summary's breaches and overdue clocks read from groups kept by
the case projection, on both backends.

The randomised histories of ``test_sla_randomised`` (withdrawals, reopenings, pauses,
extensions, backdated actions, business-hours clocks) are applied in three parts, the read
models caught up after each. After each part, after an erasure, after a plain rebuild and
after a sharded one, at moments before, during and after the histories (at random seconds,
so the moment's own day is a part day):

* the summary's totals equal the totals of the full report, which counts its items;
* the tally equals the tally counted afresh from ``sla_clocks`` (``tally.refresh``): a
  projection that rewrote clocks without keeping the tally would fail here.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from commands.bulk import apply_in_batches
from commands.models import parse_command
from ledger.store.root import open_ledger
from projections import tally
from projections.query import open_query
from projections.runner import Runner
from projections.sla_pages import Report, sla_summary
from tests.helpers import run
from tests.integration.test_sla_randomised import BUSINESS_POLICY, histories, publish

HISTORIES = 90
KEY = "rank, clock, team, unassigned, channel, day"


def _moments() -> list[datetime]:
    rng = random.Random(7)
    start = datetime(2021, 1, 1, tzinfo=UTC)
    moments = [start + timedelta(seconds=rng.randrange(600 * 86400)) for _ in range(8)]
    return [*moments, datetime(2022, 6, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)]


def _tally_rows(url: str, afresh: bool) -> list[tuple[Any, ...]]:
    """The tally as kept, or (``afresh``) as counted from sla_clocks, in a transaction that
    is rolled back."""
    with open_ledger(url) as ledger:
        runner = Runner(ledger)
        with runner.transaction(commit=False) as cur:
            if afresh:
                tally.refresh(cur)
            return cur.tuples(f"SELECT {KEY}, n FROM {{sla_tally}} ORDER BY {KEY}")


def _check(url: str, stage: str) -> int:
    assert _tally_rows(url, afresh=False) == _tally_rows(url, afresh=True), stage
    tallied = 0
    with open_query(url, catch_up=False) as query:
        for as_of in _moments():
            full = query.sla_report(as_of)
            summary = sla_summary(query, as_of)
            assert summary["totals"] == full["totals"], (stage, as_of)
            with query.transaction() as cur:
                by_groups = Report(cur, as_of, None, None).totals(tallied=False)
            assert summary["totals"] == by_groups, (stage, as_of)
            tallied += sum(summary["totals"]["all"][s] for s in ("breached", "overdue"))
    return tallied


def _apply(url: str, commands: list[dict[str, Any]], start: int) -> None:
    numbered = [(n, parse_command(c)) for n, c in enumerate(commands, start)]
    with open_ledger(url) as ledger:
        list(apply_in_batches(ledger, numbered, batch_size=300))
    assert run(url, "projections", "run").exit_code == 0


@pytest.mark.timeout(900)
def test_the_tallied_summary_equals_the_items_through_runs_erasure_and_rebuilds(
    ledger_url: str, tmp_path: Path
) -> None:
    publish(ledger_url, tmp_path, BUSINESS_POLICY)
    lives = list(histories(HISTORIES, 23))
    # Each part holds the rest of some histories begun in an earlier part, so the
    # projection rewrites clocks it had tallied (met, withdrawn, reopened since).
    parts: list[list[dict[str, Any]]] = [[], [], []]
    for index, life in enumerate(lives):
        cut = sorted(random.Random(index).sample(range(1, len(life)), 2))
        for part, (a, b) in enumerate(zip([0, *cut], [*cut, len(life)], strict=True)):
            parts[part] += life[a:b]
    applied = 1
    counted = []
    for number, part in enumerate(parts):
        _apply(ledger_url, part, applied)
        applied += len(part)
        counted.append(_check(ledger_url, f"after part {number + 1}"))
    assert min(counted) > 0  # the tally had breaches and overdue clocks to count

    ref = lives[0][0]["ref"]
    erased = run(ledger_url, "erase", ref, "--reason", "本人要求删除",
                 "--actor", "chen", "--role", "leadership")  # fmt: skip
    assert erased.exit_code == 0, erased.output
    assert run(ledger_url, "projections", "run").exit_code == 0
    _check(ledger_url, "after an erasure")

    kept = _tally_rows(ledger_url, afresh=False)
    assert run(ledger_url, "projections", "rebuild").exit_code == 0
    assert _tally_rows(ledger_url, afresh=False) == kept
    assert run(ledger_url, "projections", "rebuild", "--workers", "2").exit_code == 0
    assert _tally_rows(ledger_url, afresh=False) == kept
    _check(ledger_url, "after a sharded rebuild")


def test_the_tallied_summary_is_exact_at_every_moment_a_clock_stores(ledger_url: str) -> None:
    """At the very moments the tally's edges fall on: each moment a clock stores (started,
    at risk, due, met, ended, exact from) and a microsecond either side of it. A clock met at
    T is breached as of T, one due at T is not yet overdue: the summary from the tally counts
    as the plain GROUP BYs (``tallied=False``) and ``sla_query.late_entries`` do."""
    from projections.sla_query import late_entries

    assert run(ledger_url, "demo", "--complaints", "12", "--db", ledger_url).exit_code == 0
    assert run(ledger_url, "projections", "run").exit_code == 0
    with open_query(ledger_url, catch_up=False) as query:
        with query.transaction() as cur:
            stored = cur.tuples(
                "SELECT started_at, risk_at, due_at, met_at, ended_at, fixed_from FROM {sla_clocks}"
            )
        stamps = sorted({moment for row in stored for moment in row if moment})
        assert stamps
        tick = timedelta(microseconds=1)
        checked = breached = 0
        for text in stamps:
            for as_of in (datetime.fromisoformat(text) + d for d in (-tick, timedelta(0), tick)):
                summary = sla_summary(query, as_of)
                with query.transaction() as cur:
                    by_groups = Report(cur, as_of, None, None).totals(tallied=False)
                    late = late_entries(cur, as_of)
                assert summary["totals"] == by_groups, as_of
                assert summary["recorded_after_due"]["all"] == sum(late.values()), as_of
                checked += 1
                breached += summary["totals"]["all"]["breached"]
    assert checked == 3 * len(stamps)
    assert breached > 0  # the demo's clocks include breaches to count
