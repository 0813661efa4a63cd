"""The query side: the read models read as they stand, and how far behind the log they are.

Querying never writes and never runs DDL: every read here is a transaction that is rolled
back, so a login that may only read, a ``default_transaction_read_only`` session, a hot
standby and a read-only SQLite file can all query. Catching up is the runner's work;
``open_query`` asks it to run first only where the connection may write the read models,
and a reader that finds another process catching up reads what is there.

Every answer comes with its ``Lag``: the read models' position in the log and the log's
head. The two are read before the rows, so the rows are at most ``lag`` events behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ledger.domain.errors import LedgerError
from ledger.store.root import Ledger, open_reader
from projections import queries
from projections.db import Cursor, ReadStore
from projections.lean import Lag
from projections.queries import CaseFilter
from projections.schema import (
    AUDIT_SHAPE,
    AUDIT_SHAPE_KEY,
    CASES_SHAPE,
    DDL,
    HEAD_FUNCTION,
    POSITIONS,
    SHAPE_KEY,
    stamp,
)

if TYPE_CHECKING:
    from projections.regulator import Quarter

# What each read needs: the tables it reads, and the projection whose position it reflects
# (statistics are worked out from case_state and sla_clocks after each of their batches).
READS = {
    "cases": (("case_state", "sla_clocks"), "cases"),
    "audit_trail": (("audit_trail",), "audit_trail"),
    "statistics": (("statistics",), "cases"),
}


class ReadModelsMissing(LedgerError):
    """The read models have not been built in this database yet."""


class ReadModelsBehind(LedgerError):
    """The read models are further behind the log than the reader accepts."""


class ReadModelsOutdated(LedgerError):
    """The case read models were built by an earlier release, in a shape this one cannot
    read; the runner rebuilds them (``projections run``)."""


# Each unit's shape key, the shape this release reads, and what to call it in a refusal.
SHAPES = {
    "cases": (SHAPE_KEY, CASES_SHAPE, "the case read models were"),
    "audit_trail": (AUDIT_SHAPE_KEY, AUDIT_SHAPE, "the audit trail was"),
}


class Query:
    """The read models of one ledger, read as they stand."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.store = ReadStore(ledger)
        self.names = {t: self.store.name(t) for t in (*DDL, POSITIONS)}

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """A read: rolled back at the end, whatever it did."""
        with self.store.transaction(self.names, commit=False) as cur:
            yield cur

    # ------------------------------------------------------------------ freshness

    def may_write(self) -> bool:
        """Whether this connection may catch the read models up: write them, create those
        missing, and read the log."""
        if not self.store.postgres:
            return not self.ledger.read_only
        events, tables = self._events_table(), list(self.names.values())
        with self.transaction() as cur:
            cur.execute(
                "SELECT current_setting('transaction_read_only') = 'off'"
                " AND has_table_privilege(?, 'SELECT')"
                " AND has_database_privilege(current_database(), 'TEMP')"
                " AND (SELECT bool_and(CASE WHEN to_regclass(t) IS NULL"
                "  THEN has_schema_privilege(?, 'CREATE')"
                "  ELSE has_table_privilege(t, 'SELECT') AND has_table_privilege(t, 'INSERT')"
                "  AND has_table_privilege(t, 'UPDATE') AND has_table_privilege(t, 'DELETE')"
                "  END) FROM unnest(?::text[]) AS t) AS ok",
                (events, self.store.schema, tables),
            )
            row = cur.fetchone()
        return bool(row and row["ok"])

    def reads_log(self) -> bool:
        """Whether this login may read the log (on SQLite, whoever opens the file may)."""
        if not self.store.postgres:
            return True
        with self.transaction() as cur:
            cur.execute("SELECT has_table_privilege(?, 'SELECT') AS log", (self._events_table(),))
            row = cur.fetchone()
        return bool(row and row["log"])

    def head(self) -> int | None:
        """The log's last position; None if this login may read neither the log nor the
        function that tells its head."""
        if not self.store.postgres:
            return self.ledger.count_events()
        function = f"{self.store.name(HEAD_FUNCTION)}()"
        with self.transaction() as cur:
            cur.execute(
                "SELECT has_table_privilege(?, 'SELECT') AS log, CASE WHEN to_regprocedure(?)"
                " IS NULL THEN false ELSE has_function_privilege(?, 'EXECUTE') END AS function",
                (self._events_table(), function, function),
            )
            row = cur.fetchone()
            assert row is not None
            if row["log"] or not row["function"]:
                found = None
            else:
                cur.execute(f"SELECT {function} AS head")
                found = cur.fetchone()
        if row["log"]:
            return self.ledger.count_events()
        return None if found is None else int(found["head"])

    def lag(self, read: str, max_lag: int | None = None) -> Lag:
        """How far behind the log the read ``read`` (a key of ``READS``) would be; refused
        when its tables do not exist, or when it is further behind than ``max_lag``."""
        tables, unit = READS[read]
        with self.transaction() as cur:
            missing = [t for t in (*tables, POSITIONS) if not self.store.table_exists(cur, t)]
            if missing:
                raise ReadModelsMissing(
                    f"the read models have not been built yet (no table {missing[0]}): run "
                    "complaint-ledger projections run, as a login that may write them"
                )
            cur.execute("SELECT position FROM {projection_positions} WHERE name = ?", (unit,))
            row = cur.fetchone()
            self._check_shape(cur, unit)
        lag = Lag(0 if row is None else int(row["position"]), self.head())
        if max_lag is not None:
            if lag.events is None:
                raise ReadModelsBehind(
                    "cannot tell how far behind the log the read models are: this login may "
                    f"not read the log (run sql/roles.sql to give it {HEAD_FUNCTION}), so "
                    "--max-lag cannot be met"
                )
            if lag.events > max_lag:
                events = f"{lag.events} event{'' if lag.events == 1 else 's'}"
                raise ReadModelsBehind(
                    f"the read models are {events} behind the log (position "
                    f"{lag.position} of {lag.head}), more than --max-lag {max_lag}: run "
                    "complaint-ledger projections run, or keep projections follow running"
                )
        return lag

    def outdated(
        self, cur: Cursor, units: tuple[str, ...] = ("cases", "audit_trail")
    ) -> str | None:
        """Why the read models of ``units`` cannot be read as they stand (None if they can):
        built by an earlier release, their columns or their meaning differ; reading them would
        fail or, worse, be silently wrong (an old audit trail holds reasons copied in plain,
        which an erasure could not reach)."""
        for unit in units:
            key, current, what = SHAPES[unit]
            cur.execute("SELECT position FROM {projection_positions} WHERE name = ?", (key,))
            row = cur.fetchone()
            shape = 1 if row is None else int(row["position"])
            if shape < current:
                return (
                    f"{what} built by an earlier release (shape {shape}; this release reads "
                    f"shape {current}): run complaint-ledger projections run, as a login that "
                    "may write them, to rebuild them"
                )
        return None

    def _check_shape(self, cur: Cursor, unit: str) -> None:
        problem = self.outdated(cur, (unit,))
        if problem is not None:
            raise ReadModelsOutdated(problem)

    def status(self) -> list[dict[str, Any]]:
        """Each projection's position and lag, and the statistics groups still to work out
        (nothing yet where the read models have not been built)."""
        head = self.head()
        with self.transaction() as cur:
            built = self.store.table_exists(cur, POSITIONS)
            found: dict[str, int] = {}
            if built:
                cur.execute("SELECT name, position FROM {projection_positions}")
                found = {row["name"]: int(row["position"]) for row in cur.fetchall()}
            dirty = 0
            if self.store.table_exists(cur, "statistics_dirty"):
                cur.execute("SELECT COUNT(*) AS n FROM {statistics_dirty}")
                row = cur.fetchone()
                dirty = 0 if row is None else int(row["n"])
        rows: list[dict[str, Any]] = []
        for name in ("cases", "audit_trail"):
            lag = Lag(found.get(name, 0), head)
            rows.append({"projection": name, "position": lag.position, "head": head,
                         "lag": lag.events})  # fmt: skip
        rows.append({"projection": "statistics", "position": None, "head": head, "lag": dirty})
        return rows

    def _events_table(self) -> str:
        return self.store.name(self.ledger.ledger_recorder.events_table_name)

    # ------------------------------------------------------------------ reads

    def cases(
        self, f: CaseFilter, as_of: datetime, after: tuple[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Complaints by received time and reference (see ``queries.list_cases``)."""
        with self.transaction() as cur:
            return queries.list_cases(cur, f, as_of, after)

    def sla_report(
        self,
        as_of: datetime,
        first: date | None = None,
        last: date | None = None,
        known_at: datetime | None = None,
    ) -> dict[str, Any]:
        """The SLA report as of ``as_of`` (see ``projections.sla_query``); with ``known_at``,
        replayed from the events recorded by then, whatever the read models hold."""
        from projections.sla_query import sla_report_at

        return sla_report_at(self, as_of, first, last, known_at)

    def regulator_report(
        self, quarter: Quarter, as_of: datetime, from_log: bool = False
    ) -> dict[str, Any]:
        """The regulator's quarterly report (``projections.regulator``): from the read models,
        or, ``from_log``, from the events recorded by ``as_of``."""
        from projections import regulator

        with self.transaction() as cur:
            if not from_log:
                return regulator.regulator_report(cur, quarter, as_of)
            refs = regulator.quarter_refs(cur, quarter)
        return regulator.regulator_report_known(self.ledger, refs, quarter, as_of)

    def statistics(self, first: date | None, last: date | None) -> list[dict[str, Any]]:
        with self.transaction() as cur:
            return queries.statistics_rows(cur, first, last)

    def accountability(self, staff: str | None, team: str | None) -> list[dict[str, Any]]:
        with self.transaction() as cur:
            return queries.accountability_rows(cur, staff, team)

    def breaches(self, by: str, now: datetime) -> list[dict[str, Any]]:
        with self.transaction() as cur:
            return queries.breach_rows(cur, by, str(stamp(now)))

    def related(self, ref: str) -> dict[str, Any]:
        """The same complainant's other complaints and the complaints linked to ``ref``
        (``projections.repeats``), with their status where the case read model has them."""
        from projections import repeats

        names = {**self.names, **{t: self.store.name(t) for t in repeats.TABLES}}
        with self.store.transaction(names, commit=False) as cur:
            if not self.store.table_exists(cur, repeats.TABLES[0]):
                return {"ref": ref, "same_complainant": [], "links": []}  # an older ledger
            same = repeats.same_complainant(cur, ref)
            links = repeats.links_of(cur, ref)
            refs = sorted({r["ref"] for r in [*same, *links]})
            known = (
                repeats.statuses(cur, refs) if self.store.table_exists(cur, "case_state") else {}
            )
        for row in [*same, *links]:
            row["status"] = known.get(row["ref"])
        return {"ref": ref, "same_complainant": same, "links": links}

    def known(self, ref: str) -> bool:
        """Whether the case read model holds ``ref`` (a read of a reference it lacks is
        refused, as ``audit`` refuses one its trail lacks)."""
        from projections import repeats

        with self.transaction() as cur:
            if not self.store.table_exists(cur, "case_state"):
                return False
            return bool(repeats.statuses(cur, [ref]))

    def repeats(self, first: date | None, last: date | None) -> dict[str, int]:
        from projections import repeats

        names = {**self.names, **{t: self.store.name(t) for t in repeats.TABLES}}
        with self.store.transaction(names, commit=False) as cur:
            if not self.store.table_exists(cur, repeats.TABLES[0]):
                return repeats.repeat_figures_of([])  # an older ledger: nothing indexed
            return repeats.repeat_figures(cur, first, last)

    def audit(self, ref: str) -> list[dict[str, Any]]:
        """One stream's audit trail, in log order."""
        with self.transaction() as cur:
            return queries.audit_rows(cur, ref)


@contextmanager
def open_query(
    url: str, *, catch_up: bool = True, units: tuple[str, ...] = ("cases", "audit_trail")
) -> Iterator[Query]:
    """The read models of the ledger at ``url``, opened to read (``open_reader``: nothing is
    created). With ``catch_up``, and only where the connection may write them, the runner
    first brings ``units`` up to the log; it gives way to another process doing the same."""
    with open_reader(url) as ledger:
        query = Query(ledger)
        if catch_up and query.may_write():
            from projections.runner import Runner

            Runner(ledger).catch_up_all(names=units, give_way=True)
        yield query
