"""The projection runner: read the notification log in order, apply it in batches, exactly once.

Each batch's read-model rows and the projection's new position commit in one transaction,
after the runner has checked (holding a lock on its position row) that nobody else moved
the position meanwhile — so every event is applied exactly once, by one runner, and a crash
at any moment resumes where the last commit left off.

A rebuild writes into fresh ``*__rebuild`` tables under a position of its own, then swaps
them in for the live ones in one transaction: readers never see a half-built model, a
failed or killed rebuild leaves the old one in place, and running it again resumes it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger.domain.errors import LedgerError
from ledger.store.root import Ledger
from projections.db import Cursor, ReadStore, quoted
from projections.decoding import decode
from projections.rebuild_lock import rebuild_lock
from projections.schema import (
    ADDED_COLUMNS,
    AUDIT_SHAPE,
    AUDIT_SHAPE_KEY,
    CASES_SHAPE,
    DDL,
    INDEXES,
    POSITIONS,
    SHAPE_KEY,
)

if TYPE_CHECKING:
    from projections.cases import Rules
    from projections.sharded import Folded

# The projections themselves (and the policy, calendar and SLA engine they judge clocks by)
# are imported when there are events to apply: a read command whose models are up to date
# does without them.

REBUILD = "__rebuild"
POSITIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS {positions} (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
)

Batch = list[tuple[int, Any]]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Unit:
    """Read models built together: from the log by one position, or derived from others."""

    name: str
    own: tuple[str, ...]  # rebuilt and swapped together
    uses: tuple[str, ...]  # other units' tables it writes or reads
    apply: Callable[[Cursor, Batch, Rules], None] | None  # None: derived, not from the log


def _apply_cases(cur: Cursor, batch: Batch, rules: Rules) -> None:
    from projections import cases

    cases.apply_events(cur, (e for _, e in batch), rules)


def _apply_audit(cur: Cursor, batch: Batch, rules: Rules) -> None:
    from projections import audit

    audit.apply_events(cur, batch, rules)


UNITS = {
    "cases": Unit(
        "cases",
        ("case_state", "sla_clocks", "case_folds", "publications", "sla_tally"),
        ("statistics_dirty",),
        _apply_cases,
    ),
    "audit_trail": Unit("audit_trail", ("audit_trail", "audit_streams"), (), _apply_audit),
    "statistics": Unit(
        "statistics", ("statistics",), ("statistics_dirty", "case_state", "sla_clocks"), None
    ),
}
READ_MODELS = {"case_state": "cases", "sla_clocks": "cases", "audit_trail": "audit_trail",
               "statistics": "statistics"}  # fmt: skip


def current_rules(ledger: Ledger) -> Rules:
    """Every policy, calendar and code list published so far, with when each was recorded
    (those the log brings later are learnt as they come)."""
    from ledger.store.books import load_rulebook
    from ledger.store.codelists import load_code_lists, load_codes_publications
    from projections.cases import Rules

    return Rules(load_rulebook(ledger), load_code_lists(ledger), load_codes_publications(ledger))


class Runner:
    """Runs the read models of one ledger."""

    def __init__(self, ledger: Ledger, batch_size: int = 5000, url: str | None = None) -> None:
        """``url`` (the ledger's) lets a rebuild of several read models use several processes."""
        self.ledger = ledger
        self.url = url
        self.store = ReadStore(ledger)
        self.batch_size = batch_size
        self._ready = False
        self.folded: list[Folded] = []  # each worker's part of the last sharded rebuild
        self.phases: dict[str, float] = {}  # the last rebuild's steps, in seconds each

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a step of a rebuild into ``phases`` (what bench/rebuild_workers.py prints)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - started

    # ------------------------------------------------------------------ tables

    def names(self, unit: Unit | None = None, rebuild: bool = False) -> dict[str, str]:
        names = {table: self.store.name(table) for table in DDL}
        if unit is not None and rebuild:
            names.update({t: self.store.name(t + REBUILD) for t in unit.own})
        names["positions"] = self.store.name(POSITIONS)
        return names

    @contextmanager
    def transaction(
        self, unit: Unit | None = None, rebuild: bool = False, commit: bool = True
    ) -> Iterator[Cursor]:
        with self.store.transaction(self.names(unit, rebuild), commit=commit) as cur:
            yield cur

    def ensure(self) -> None:
        """Create every read-model table that does not exist yet (the schema on first use)."""
        if self._ready:
            return
        with self.transaction(commit=False) as cur:  # most of the time, all there: no lock
            tables = [*DDL, POSITIONS]
            self._ready = all(self.store.table_exists(cur, t) for t in tables)
        if self._ready:
            return
        with self.transaction() as cur:
            if self.store.postgres:
                # Processes that start together on a new schema take turns: two concurrent
                # CREATE TABLE IF NOT EXISTS of one table can fail on the catalogue's keys.
                cur.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(?))", (self.store.name(POSITIONS),)
                )
            cur.execute(POSITIONS_DDL)
            for table, ddl in DDL.items():
                if not self.store.table_exists(cur, table):
                    cur.execute(ddl)
                    self._index(cur, table, table)
                    if table == "case_folds":  # new read models have the current shape
                        self._set_shape(cur)
                    if table == "audit_trail":
                        self._set_shape(cur, AUDIT_SHAPE_KEY, AUDIT_SHAPE)
            for table, column, kind in ADDED_COLUMNS:
                if not self.store.has_column(cur, table, column):
                    cur.execute(f"ALTER TABLE {{{table}}} ADD COLUMN {column} {kind}")
        self._ready = True

    @staticmethod
    def _set_shape(cur: Cursor, key: str = SHAPE_KEY, shape: int = CASES_SHAPE) -> None:
        cur.execute(
            "INSERT INTO {positions} VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            (key, shape),
        )

    def _shape(self, key: str) -> int:
        with self.transaction() as cur:
            cur.execute("SELECT position FROM {positions} WHERE name = ?", (key,))
            row = cur.fetchone()
        return 0 if row is None else int(row["position"])

    def _upgrade(self, progress: Progress | None) -> None:
        """Rebuild case read models kept in an older shape (tables or folds written before an
        upgrade of the ledger) before applying anything to them: they cannot be patched. Policy
        rows of ``publications`` a runner of an earlier release (shape 7), still following,
        kept without their entries are written in place."""
        shape = self._shape(SHAPE_KEY)
        if shape < CASES_SHAPE:
            with rebuild_lock(self.store):
                # Another runner may have rebuilt them while this one waited for the lock.
                if self._shape(SHAPE_KEY) < CASES_SHAPE:
                    self._rebuild(("cases", "statistics"), progress)
        elif self._entries_missing():
            self._keep_entries()

    def _entries_missing(self) -> bool:
        """Whether a policy's row of ``publications`` lacks its entry (kept by a runner of an
        earlier release, which knows no such column)."""
        with self.transaction(commit=False) as cur:
            if not self.store.has_column(cur, "publications", "entry"):
                return True
            cur.execute(
                "SELECT 1 AS missing FROM {publications} WHERE kind = 'policy' AND entry IS NULL"
                " LIMIT 1"
            )
            return cur.fetchone() is not None

    def _keep_entries(self) -> None:
        """Policy rows of ``publications`` kept by an earlier release's runner lack their
        entries: written from the log, and the shape marked, in one transaction."""
        from ledger.store.books import load_rulebook
        from projections.publications import keep_entries

        rulebook = load_rulebook(self.ledger)
        with self.transaction() as cur:
            if self.store.postgres:  # two runners upgrading at once: one after the other
                cur.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(?))", (self.store.name(POSITIONS),)
                )
            if not self.store.has_column(cur, "publications", "entry"):
                cur.execute("ALTER TABLE {publications} ADD COLUMN entry TEXT")
            keep_entries(cur, rulebook)
            self._set_shape(cur)

    def _upgrade_audit(self, progress: Progress | None) -> None:
        """Rebuild an audit trail written before its summaries left sealed text out: its
        rows may hold reasons copied in plain, which an erasure could not reach."""
        if self._shape(AUDIT_SHAPE_KEY) < AUDIT_SHAPE:
            with rebuild_lock(self.store):
                if self._shape(AUDIT_SHAPE_KEY) < AUDIT_SHAPE:  # not done while this one waited
                    self._rebuild(("audit_trail",), progress)

    def _index(self, cur: Cursor, table: str, placeholder: str) -> None:
        for statement in index_statements(cur, table, placeholder):
            cur.execute(statement)

    # ------------------------------------------------------------------ positions

    def position(self, name: str) -> int:
        self.ensure()
        with self.transaction(commit=False) as cur:
            cur.execute("SELECT position FROM {positions} WHERE name = ?", (name,))
            row = cur.fetchone()
        return 0 if row is None else int(row["position"])

    def head(self) -> int:
        return self.ledger.count_events()

    @staticmethod
    def _claim(cur: Cursor, name: str, expected: int, new: int) -> bool:
        """Move ``name`` from ``expected`` to ``new``; False if another runner moved it first."""
        cur.execute("INSERT INTO {positions} VALUES (?, 0) ON CONFLICT (name) DO NOTHING", (name,))
        cur.execute(
            "UPDATE {positions} SET position = ? WHERE name = ? AND position = ?",
            (new, name, expected),
        )
        return cur.rowcount == 1

    # ------------------------------------------------------------------ running

    def catch_up(self, name: str, progress: Progress | None = None) -> int:
        """Apply every event after the unit's position; returns how many were applied."""
        return self.catch_up_all(progress, names=(name,))

    def catch_up_all(
        self,
        progress: Progress | None = None,
        names: tuple[str, ...] = ("cases", "audit_trail"),
        *,
        give_way: bool = False,
    ) -> int:
        """Catch the named units up in one pass over the log, then refresh the statistics.

        Another runner moving a unit's position first is not an error: it applied those
        events. This one carries on after them, or, with ``give_way`` (a read command
        catching up on its way), stops and leaves the rest to the other."""
        self.ensure()
        if any(n in ("cases", "statistics") for n in names):
            self._upgrade(progress)
        if "audit_trail" in names:
            self._upgrade_audit(progress)
        units = [UNITS[n] for n in names if UNITS[n].apply is not None]
        work = [(u, u.name) for u in units]
        try:
            applied = self._run(work, rebuild=False, progress=progress, resume=not give_way)
        except ProjectionBusy:
            applied = 0
        if any(n in ("cases", "statistics") for n in names):
            self._refresh_statistics()
        return applied

    def _run(
        self,
        work: list[tuple[Unit, str]],
        rebuild: bool,
        progress: Progress | None,
        resume: bool = False,
    ) -> int:
        """One pass over the log for every (unit, position key); each batch in one transaction.

        A batch whose position another runner moved first is not applied for that unit;
        with ``resume`` the pass goes on from the positions as they now stand, otherwise it
        ends with ``ProjectionBusy`` (the other units' claimed batches are kept)."""
        if not work:
            return 0
        rules: Rules | None = None
        positions = {key: self.position(key) for _, key in work}
        start, head, applied = min(positions.values()), self.head(), 0
        while True:
            notifications = self.ledger.recorder.select_notifications(
                start=start + 1, limit=self.batch_size
            )
            if not notifications:
                return applied
            if rules is None:
                rules = current_rules(self.ledger)
            batch = [(n.id, decode(self.ledger.mapper, n)) for n in notifications]
            end = notifications[-1].id
            lost, done = [], False
            with self.store.transaction(self._names(work, rebuild)) as cur:
                for unit, key in work:
                    assert unit.apply is not None
                    mine = [(p, e) for p, e in batch if p > positions[key]]
                    if not mine:
                        continue
                    if not self._claim(cur, key, positions[key], end):
                        lost.append(unit.name)
                        continue
                    # Learning a publication twice (once per unit) is harmless: it is idempotent.
                    unit.apply(cur, mine, rules)
                    done = True
            applied += len(batch) if done else 0
            if lost and not resume:
                raise ProjectionBusy(f"another runner is updating {', '.join(lost)}")
            if lost:  # the other runner's batches may have published rules: learn them again
                positions, rules = {key: self.position(key) for _, key in work}, None
            else:
                positions = {key: max(p, end) for key, p in positions.items()}
            start = min(positions.values())
            if progress is not None:
                progress(end, max(head, end))

    def _names(self, work: list[tuple[Unit, str]], rebuild: bool) -> dict[str, str]:
        names = self.names()
        if rebuild:
            for unit, _ in work:
                names.update({t: self.store.name(t + REBUILD) for t in unit.own})
        return names

    def _refresh_statistics(self) -> int:
        from projections import statistics

        with self.transaction(commit=False) as cur:  # nothing marked: no need to take turns
            if cur.execute("SELECT 1 FROM {statistics_dirty} LIMIT 1").fetchone() is None:
                return 0
        with self.transaction() as cur:
            return statistics.refresh(cur)

    # ------------------------------------------------------------------ rebuilding

    def rebuild(
        self, names: tuple[str, ...], progress: Progress | None = None, workers: int | None = None
    ) -> int:
        """Build the named units afresh beside the live tables (one pass over the log for all
        of them), then swap every rebuilt table in, in one transaction.

        With ``workers`` (and the ledger's ``url``), a rebuild not yet under way folds the
        log's streams in that many processes first (``projections.sharded``); the pass over
        the log then only applies what was appended meanwhile.

        One rebuild at a time (``projections.rebuild_lock``): a second one waits for the
        first to swap its tables in, then builds afresh."""
        with rebuild_lock(self.store):
            return self._rebuild(names, progress, workers)

    def _rebuild(
        self, names: tuple[str, ...], progress: Progress | None = None, workers: int | None = None
    ) -> int:
        """``rebuild``, with the rebuild lock held."""
        self.ensure()
        self.phases = {}
        units = [UNITS[n] for n in dict.fromkeys(names)]
        folded = 0
        sharded = [u for u in units if u.apply is not None]
        under_way = any(self.position(u.name + REBUILD) > 0 for u in sharded)
        fold_now = workers is not None and self.url is not None and bool(sharded) and not under_way
        # A fold of the cases works the statistics out beside the staged tables' indexes,
        # on a core that would otherwise wait: kept if nothing is applied after the fold.
        staged_statistics = fold_now and {"cases", "statistics"} <= set(names)
        if fold_now:
            from projections import sharded as shards

            assert workers is not None
            self.folded = shards.fold(self, sharded, workers, staged_statistics)
            folded = sum(f.events for f in self.folded)
        with (
            self.phase("tables"),
            self.store.transaction(self._names([(u, "") for u in units], True)) as cur,
        ):
            for unit in units:
                for table in unit.own:
                    exists = self.store.table_exists(cur, table + REBUILD)
                    if exists and unit in sharded and not (under_way or fold_now):
                        # Nothing to resume: what a fold killed before its position left
                        # (rows of some streams, and no indexes but the keys) goes.
                        cur.execute(f"DROP TABLE {self.store.name(table + REBUILD)}")
                        exists = False
                    if exists and unit.apply is None and not staged_statistics:
                        # Statistics a killed fold worked out: the refresh after the swap
                        # writes only the groups the cases have, so none may be left over.
                        cur.execute(f"DROP TABLE {self.store.name(table + REBUILD)}")
                        exists = False
                    if not exists:
                        cur.execute(DDL[table])
                        self._index(cur, table, table)
        from_log = [(u, u.name + REBUILD) for u in units if u.apply is not None]
        with self.phase("from_log"):
            if self.url is not None and len(from_log) > 1 and workers is None:
                applied = self._run_in_parallel([u.name for u, _ in from_log], progress)
            else:
                applied = folded + self._run(from_log, rebuild=True, progress=progress)
        # Staged statistics hold if the pass above applied nothing after the fold; else
        # they go, and every group is worked out after the swap, as without a fold.
        keep_statistics = staged_statistics and applied == folded
        # An audit trail of an older shape may hold reasons copied in plain: its pages are
        # zeroed as it is dropped (``secure_delete``), as the ledger's own are (erase's promise
        # holds for the file, not only the table); read models of the current shape hold no
        # such text, and their pages are left as they are.
        copied = "audit_trail" in names and self._shape(AUDIT_SHAPE_KEY) < AUDIT_SHAPE
        with (
            self.phase("swap"),
            self.store.transaction(self._names([(u, "") for u in units], True)) as cur,
            self.store.fast_drops(cur, "ON" if copied else "FAST"),
        ):
            for unit in units:
                self._swap(cur, unit)
            if any(u.name == "cases" for u in units):
                self._set_shape(cur)
            if any(u.name == "audit_trail" for u in units):
                self._set_shape(cur, AUDIT_SHAPE_KEY, AUDIT_SHAPE)
            live = Cursor(cur.raw, cur.postgres, self.names())  # the swapped-in tables
            if staged_statistics and not keep_statistics:
                live.execute("DELETE FROM {statistics}")
            if any(u.name in ("cases", "statistics") for u in units) and not keep_statistics:
                live.execute("INSERT INTO {statistics_dirty} SELECT DISTINCT month, channel, "
                            "category, COALESCE(severity, 'untriaged') FROM {case_state} "
                            "WHERE true ON CONFLICT DO NOTHING")  # fmt: skip
        if any(u.name in ("cases", "statistics") for u in units):
            with self.phase("statistics"):
                self._refresh_statistics()
        return applied

    def _run_in_parallel(self, names: list[str], progress: Progress | None) -> int:
        """Rebuild each unit in a process of its own (the machine's cores share the work)."""
        from projections.parallel import rebuild_in_processes

        assert self.url is not None
        counts = rebuild_in_processes(self.url, names, self.batch_size)
        if progress is not None:
            head = self.head()
            progress(head, head)
        return max(counts)

    def _swap(self, cur: Cursor, unit: Unit) -> None:
        """Replace the live tables with the rebuilt ones (inside the caller's transaction)."""
        key = unit.name + REBUILD
        cur.execute("SELECT position FROM {positions} WHERE name = ?", (key,))
        row = cur.fetchone()
        for table in unit.own:
            cur.execute(f"DROP TABLE IF EXISTS {self.store.name(table)}")
            cur.execute(f"ALTER TABLE {{{table}}} RENAME TO {quoted(table)}")
        if unit.apply is not None:
            position = 0 if row is None else int(row["position"])
            cur.execute("DELETE FROM {positions} WHERE name = ?", (key,))
            cur.execute(
                "INSERT INTO {positions} VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                (unit.name, position),
            )


def index_statements(cur: Cursor, table: str, placeholder: str) -> list[str]:
    """The ``CREATE INDEX`` statements of ``table``'s indexes (other than its key), on the
    table ``{placeholder}`` names."""
    statements = []
    for indexed, spec in INDEXES:
        if indexed == table:
            # ``columns [WHERE condition]``: a partial index; ``{C}``, text by code point.
            columns, _, where = spec.replace("{C}", cur.binary_order).partition(" WHERE ")
            key = re.sub(r"\W+", "_", spec.partition(" WHERE ")[0].replace("{C}", ""))
            # A fresh name each time: a rebuilt table keeps its indexes when renamed.
            name = f"ix_{table}_{key.strip('_')[:32]}_{uuid.uuid4().hex[:8]}"
            statements.append(
                f"CREATE INDEX {quoted(name)} ON {{{placeholder}}} ({columns})"
                + (f" WHERE {where}" if where else "")
            )
    return statements


class ProjectionBusy(LedgerError):
    """Another runner moved the projection's position while this one was working."""
