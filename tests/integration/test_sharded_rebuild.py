"""``projections rebuild --workers N``: the same read models, byte for byte, for any N."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import NAMESPACE_URL, uuid5

import psycopg
import pytest

from ledger.store.root import Ledger, open_ledger
from projections import merge
from projections.merge import WRITTEN
from projections.runner import UNITS, Runner
from projections.schema import CASES_SHAPE, SHAPE_KEY
from projections.sharded import _fresh_tables, shard_of
from tests.audit_helpers import pg_schema
from tests.helpers import event_count, run
from tests.integration.test_projections import TABLES

ALL = ("cases", "audit_trail", "statistics")
# Beyond the canonical dump of the other rebuild tests: the folds a later catch-up resumes
# from, and the rules the query side judges clocks by.
MORE = {"case_folds": "case_id", "publications": "label"}
THIS_RELEASE = ("--addressed-escalations", "--cause-codes", "--improvements",
                "--regulator-replies", "--readiness")  # fmt: skip


def canonical(url: str) -> bytes:
    """Every read-model table, rows in key order, as one byte string."""
    with open_ledger(url) as ledger:
        runner = Runner(ledger)
        runner.ensure()
        with runner.transaction(commit=False) as cur:
            tables = {
                table: cur.execute(f"SELECT * FROM {{{table}}} ORDER BY {key}").fetchall()
                for table, key in {**TABLES, **MORE}.items()
            }
    return json.dumps(tables, sort_keys=True, ensure_ascii=False, default=str).encode()


def positions(url: str) -> dict[str, int]:
    with open_ledger(url) as ledger:
        runner = Runner(ledger)
        with runner.transaction(commit=False) as cur:
            rows = cur.execute("SELECT name, position FROM {positions}").fetchall()
    return {r["name"]: int(r["position"]) for r in rows}


@pytest.fixture
def generated(ledger_url: str, tmp_path: Path) -> str:
    """A ledger of 150 generated complaints with this release's events."""
    commands = run(ledger_url, "generate", "--complaints", "150", "--seed", "17", *THIS_RELEASE)
    path = tmp_path / "load.jsonl"
    path.write_text(commands.stdout, encoding="utf-8")
    applied = run(ledger_url, "apply", "--bulk", str(path))
    assert applied.exit_code == 0, applied.stderr
    return ledger_url


def test_two_and_three_workers_give_the_read_models_of_one_worker_and_of_the_log_order_rebuild(
    generated: str,
) -> None:
    with open_ledger(generated) as ledger:  # the rebuild of before this release, in log order
        Runner(ledger, url=generated).rebuild(ALL)
    in_log_order = canonical(generated)
    dumps: dict[str, bytes] = {}
    for workers in ("1", "2", "3"):
        rebuilt = run(generated, "projections", "rebuild", "--workers", workers)
        assert rebuilt.exit_code == 0, rebuilt.stderr
        dumps[workers] = canonical(generated)
    head = event_count(generated)

    assert rebuilt.stdout == (
        f"rebuilt case_state, sla_clocks, audit_trail, statistics from {head} event(s)\n"
    )
    assert dumps["1"] == in_log_order
    assert dumps["2"] == in_log_order
    assert dumps["3"] == in_log_order
    assert b"EscalationAddressed" in in_log_order
    assert b"ImprovementAdded" in in_log_order
    # The regulator's business type and channel the coded lifecycles give (case_state's).
    assert b'"regulator_business_type": "03"' in in_log_order
    assert b'"regulator_business_channel": "04"' in in_log_order
    kept = positions(generated)
    assert (kept["cases"], kept["audit_trail"], kept[SHAPE_KEY]) == (head, head, CASES_SHAPE)
    assert [name for name in kept if name.endswith("__rebuild")] == []


def test_a_rebuild_of_one_read_model_with_workers_equals_the_whole_rebuild(generated: str) -> None:
    assert run(generated, "projections", "rebuild", "--workers", "1").exit_code == 0
    whole = canonical(generated)

    cases = run(generated, "projections", "rebuild", "sla_clocks", "--workers", "2")
    audit = run(generated, "projections", "rebuild", "audit_trail", "--workers", "3")

    assert cases.exit_code == 0, cases.stderr
    assert audit.exit_code == 0, audit.stderr
    assert canonical(generated) == whole


def test_events_appended_after_a_rebuild_are_caught_up_as_after_any_other(
    generated: str, tmp_path: Path
) -> None:
    assert run(generated, "projections", "rebuild", "--workers", "2").exit_code == 0
    more = run(generated, "generate", "--complaints", "20", "--seed", "3", "--prefix", "MORE")
    path = tmp_path / "more.jsonl"
    path.write_text(more.stdout, encoding="utf-8")
    assert run(generated, "apply", "--bulk", str(path)).exit_code == 0
    assert run(generated, "projections", "run").exit_code == 0
    incremental = canonical(generated)

    assert run(generated, "projections", "rebuild", "--workers", "2").exit_code == 0

    assert canonical(generated) == incremental


@pytest.mark.parametrize("workers", ["0", "-2"])
def test_no_workers_or_fewer_is_refused_with_one_error_line_and_nothing_changes(
    generated: str, workers: str
) -> None:
    before, count = canonical(generated), event_count(generated)

    refused = run(generated, "projections", "rebuild", "--workers", workers)

    assert refused.exit_code == 2
    errors = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: Invalid value for '--workers': {workers} is not in the range x>=1."]
    assert refused.stderr.startswith("Error:")
    assert "Traceback" not in refused.stderr
    assert canonical(generated) == before
    assert event_count(generated) == count


def test_streams_split_evenly_and_always_to_the_same_worker() -> None:
    streams = [uuid5(NAMESPACE_URL, f"TS-{n}") for n in range(3000)]

    shares = [sum(1 for s in streams if shard_of(s, 3) == k) for k in range(3)]

    assert all(900 < share < 1100 for share in shares), shares
    assert [shard_of(s, 3) for s in streams] == [shard_of(s, 3) for s in streams]


def index_counts(url: str) -> dict[str, int]:
    """How many indexes each read-model table has (their names are fresh at every build)."""
    with open_ledger(url) as ledger:
        runner = Runner(ledger)
        with runner.transaction(commit=False) as cur:
            if cur.postgres:
                found = cur.execute(
                    "SELECT tablename AS t, COUNT(*) AS n FROM pg_indexes "
                    "WHERE schemaname = ? GROUP BY tablename", (pg_schema(url),)
                ).fetchall()  # fmt: skip
            else:
                found = cur.execute(
                    "SELECT tbl_name AS t, COUNT(*) AS n FROM sqlite_master "
                    "WHERE type = 'index' GROUP BY tbl_name"
                ).fetchall()
    counts = {r["t"]: int(r["n"]) for r in found}
    return {table: counts.get(table, 0) for table in {**TABLES, **MORE}}


def test_a_log_order_rebuild_after_a_fold_killed_early_keeps_every_index(generated: str) -> None:
    """A fold killed before its position was set leaves its staging tables without their
    indexes (built once the workers are done); the rebuild the first run after an upgrade
    does, in log order, must not swap those in as they are."""
    with open_ledger(generated) as ledger:
        Runner(ledger, url=generated).rebuild(ALL)
    whole = index_counts(generated)
    with open_ledger(generated) as ledger:  # what a fold killed before its first chunk leaves
        runner = Runner(ledger, url=generated)
        runner.ensure()
        _fresh_tables(runner, [UNITS["cases"], UNITS["audit_trail"]])

    with open_ledger(generated) as ledger:
        Runner(ledger, url=generated).rebuild(ALL)

    assert index_counts(generated) == whole
    assert whole["sla_clocks"] > 1


class AppendingAfterTheFold(Runner):
    """A runner through whose sharded rebuild complaints are appended once the workers'
    fold is done (the pass over the log then catches the staged tables up), and a runner
    beside it catches the live read models up just before the swap (refreshing the
    statistics groups the appended events marked)."""

    def __init__(self, ledger: Ledger, url: str, commands: Path) -> None:
        super().__init__(ledger, url=url)
        self.commands, self.done = commands, []

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        assert self.url is not None
        if name == "tables" and not self.done:
            applied = run(self.url, "apply", "--bulk", str(self.commands))
            assert applied.exit_code == 0, applied.stderr
            self.done.append(name)
        if name == "swap" and self.done == ["tables"]:
            assert run(self.url, "projections", "run").exit_code == 0
            self.done.append(name)
        with super().phase(name):
            yield


def test_complaints_appended_after_the_fold_are_counted_in_the_statistics(
    generated: str, tmp_path: Path
) -> None:
    more = run(generated, "generate", "--complaints", "20", "--seed", "3", "--prefix", "MORE")
    path = tmp_path / "more.jsonl"
    path.write_text(more.stdout, encoding="utf-8")

    with open_ledger(generated) as ledger:
        runner = AppendingAfterTheFold(ledger, generated, path)
        applied = runner.rebuild(ALL, workers=2)
    sharded = canonical(generated)
    with open_ledger(generated) as ledger:
        Runner(ledger, url=generated).rebuild(ALL)

    assert runner.done == ["tables", "swap"]
    assert applied == event_count(generated)
    assert sharded == canonical(generated)


def test_statistics_a_killed_fold_worked_out_are_not_swapped_in_by_the_next_rebuild(
    generated: str,
) -> None:
    with open_ledger(generated) as ledger:
        Runner(ledger, url=generated).rebuild(ALL)
    whole = canonical(generated)
    with open_ledger(generated) as ledger:  # killed after its statistics, before its positions
        runner = Runner(ledger, url=generated)
        _fresh_tables(runner, [UNITS["cases"], UNITS["audit_trail"], UNITS["statistics"]])
        staged = runner.store.name("statistics__rebuild")
        with runner.transaction() as cur:
            cur.execute(f"INSERT INTO {staged} SELECT * FROM {{statistics}} LIMIT 1")
            cur.execute(f"UPDATE {staged} SET month = '1999-01'")

    with open_ledger(generated) as ledger:
        Runner(ledger, url=generated).rebuild(ALL)

    assert canonical(generated) == whole
    assert b"1999-01" not in whole


class StagedTablesHeld(Runner):
    """A runner whose staged tables another session holds locked for 7 s as the jobs that
    complete them begin: every job waits, holding its connection all that time."""

    def __init__(self, ledger: Ledger, url: str) -> None:
        super().__init__(ledger, url=url)
        self.held = False

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if name == "indexes" and self.store.postgres and not self.held:
            self.held = True
            pool = self.store.datastore.pool  # the ledger's own connection settings
            holder = psycopg.connect(pool.conninfo, **pool.kwargs)  # type: ignore[union-attr]
            staged = ", ".join(self.store.name(t + "__rebuild") for t in WRITTEN["cases"])
            holder.execute(f"LOCK TABLE {staged} IN ACCESS EXCLUSIVE MODE")
            threading.Timer(7, holder.close).start()  # closing ends its transaction
        with super().phase(name):
            yield


@pytest.mark.parametrize("ledger_url", ["postgres"], indirect=True)
def test_more_cores_than_the_pool_has_connections_wait_for_one_without_failing(
    generated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A machine of 64 cores: more jobs at once than the ledger's pool has connections.
    monkeypatch.setattr(merge, "usable_cores", lambda: 64)
    with open_ledger(generated) as ledger:
        StagedTablesHeld(ledger, generated).rebuild(ALL, workers=2)
    sharded = canonical(generated)
    with open_ledger(generated) as ledger:
        Runner(ledger, url=generated).rebuild(ALL)

    assert sharded == canonical(generated)
