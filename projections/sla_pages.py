"""The SLA report in pages, as a stream, and as totals only (issue 17).

``sla_query.sla_report_at`` reads every reported clock, builds every item, sorts them and
counts them: fine for thousands of items, 9.6 s and gigabytes for a million. Here each status
is read in the report's own order from an index of its own (``schema.CASES_INDEXES``):

- breached: ``late_seconds > 0`` and met (or ended) by the moment, worst first, from the
  partial index on ``late_seconds DESC, ref, clock``;
- overdue and at risk: running at the moment and past their at-risk time. A clock still open
  (``met_at`` and ``ended_at`` NULL) is found on the partial index of open clocks by
  deadline, so "overdue as of T" is ``due_at < T`` on that index rather than a walk past
  every clock ever met; a clock met or ended after the moment (only for a moment in the
  past) is found on the indexes of ``met_at`` and ``ended_at``. The two are merged.

So a page is a walk of ``limit`` index entries after the cursor (keyset pagination on the
report's sort key, never OFFSET: rows appended meanwhile do not shift it), the stream reads
the rows through a server-side cursor, and the summary is one ``GROUP BY`` per status over
the same indexes: the database counts, no item is built.

As in ``sla_rows``, the clocks whose stored deadline is not exact at the moment (their
cases) are worked out from their facts by ``ledger.sla.evaluate``: they are found on the
index of ``fixed_from``, and merged in (or counted) by the same keys.
"""

from __future__ import annotations

import base64
import binascii
import heapq
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any

import orjson

from projections import tally
from projections.cursors import BadCursor
from projections.db import Cursor, quoted
from projections.queries import received_between
from projections.schema import stamp
from projections.sla_query import (
    STATUSES,
    Reads,
    Row,
    _worked_out,
    business_lateness,
    case_rows,
    late_entries,
)
from projections.sla_report import Totals, family

if TYPE_CHECKING:
    from ledger.domain.rulebook import Rulebook

COLUMNS = (
    "s.ref, s.clock, {rank}, s.due_at, s.met_at, s.late_seconds, s.estimated, s.team,"
    " s.handler, s.channel, s.changes, s.late_business_seconds, s.schedule, s.received_at"
)
BREACHED = "s.late_seconds > 0 AND (s.met_at <= ? OR (s.met_at IS NULL AND s.ended_at <= ?))"
OPEN = "s.met_at IS NULL AND s.ended_at IS NULL"
# Running at the moment, though met or ended since (a moment in the past): met since (and
# not ended by the moment), or never met and ended since. Two conditions, each read on the
# index of its own moment (one ``OR`` of the two sent SQLite down the walk of every clock
# never met).
LATER_MET = "s.met_at > ? AND (s.ended_at IS NULL OR s.ended_at > ?)"
LATER_ENDED = "s.met_at IS NULL AND s.ended_at > ?"
# ``{C}``: the deadline compared as the index of open clocks orders it (by code point on
# PostgreSQL), so that index can be read for it.
OVERDUE = "s.risk_at <= ? AND s.due_at{C} < ?"
AT_RISK = "s.risk_at <= ? AND s.due_at{C} >= ?"
# Each status's sort key after its rank, as SQL order, keyset condition and Python key.
ORDER = {
    0: "s.late_seconds DESC, s.ref{C}, s.clock{C}",
    1: "s.due_at{C}, s.ref{C}, s.clock{C}",
    2: "s.ref{C}, s.clock{C}",
}
AFTER = {
    0: "(s.late_seconds < ? OR (s.late_seconds = ? AND (s.ref{C} > ?"
    " OR (s.ref = ? AND s.clock{C} > ?))))",
    1: "(s.due_at{C} > ? OR (s.due_at = ? AND (s.ref{C} > ? OR (s.ref = ? AND s.clock{C} > ?))))",
    2: "(s.ref{C} > ? OR (s.ref = ? AND s.clock{C} > ?))",
}
Key = tuple[Any, ...]  # the sort key of an item within its status
# The indexed columns each condition is read by (``schema.CASES_INDEXES``): the partial
# index of breaches, that of open clocks by deadline, those of met_at and ended_at.
INDEXED = {
    BREACHED: ("late_seconds", "ref", "clock"),
    f"{OPEN} AND {OVERDUE}": ("met_at", "ended_at", "due_at", "ref", "clock"),
    f"{OPEN} AND {AT_RISK}": ("met_at", "ended_at", "due_at", "ref", "clock"),
    f"{LATER_MET} AND {OVERDUE}": ("met_at",),
    f"{LATER_MET} AND {AT_RISK}": ("met_at",),
    f"{LATER_ENDED} AND {OVERDUE}": ("ended_at",),
    f"{LATER_ENDED} AND {AT_RISK}": ("ended_at",),
}
# The partial index of open clocks by deadline (``schema.CASES_INDEXES``), as SQLite names
# it: named in the query, since SQLite would rather walk every clock not ended.
OPEN_INDEX = "%(due_at, ref, clock) WHERE met_at IS NULL AND ended_at IS NULL"
# The partial index of open clocks by deadline and warning moment, as each backend writes it
# (``sqlite_master.sql``, ``pg_get_indexdef``); read models built before it lack it.
RISK_INDEX = {
    False: "%(due_at, risk_at) WHERE met_at IS NULL AND ended_at IS NULL",
    True: '%(due_at COLLATE "C", risk_at) WHERE ((met_at IS NULL) AND (ended_at IS NULL))',
}
OPEN_AT_RISK = f"{OPEN} AND {AT_RISK}"


def row_key(rank: int, row: Row) -> Key:
    """The order of a row of ``sla_rows``/``case_rows`` within its status, as the full
    report sorts it (stable sorts over reference order)."""
    if rank == 0:
        return (-int(row[5]), row[0], row[1])
    if rank == 1:
        return (row[3], row[0], row[1])
    return (row[0], row[1])


class Position:
    """Where a page starts: the moment and period of the report the cursor was given out
    for, and the rank and sort key of the last item served. Opaque to clients: base64url of
    JSON."""

    def __init__(
        self, as_of: datetime, first: date | None, last: date | None, rank: int, key: Key
    ) -> None:
        self.as_of, self.first, self.last, self.rank, self.key = as_of, first, last, rank, key

    def encode(self) -> str:
        data = [self.as_of.isoformat(), _day(self.first), _day(self.last), self.rank, *self.key]
        return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Position:
        """The position ``text`` holds, or ``BadCursor``."""
        try:
            data = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            moment, first, last, rank, *key = data
            as_of = datetime.fromisoformat(moment)
            period = [None if d == "" else date.fromisoformat(d) for d in (first, last)]
            kinds = {0: (int, str, str), 1: (str, str, str), 2: (str, str)}[rank]
            valid = (
                as_of.tzinfo is not None
                and type(rank) is int
                and len(key) == len(kinds)
                and all(type(k) is kind for k, kind in zip(key, kinds, strict=True))
            )
        except (binascii.Error, ValueError, TypeError, KeyError, AttributeError):
            valid = False
        if not valid:
            raise BadCursor(
                f"--after: {text[:40]!r} is not a cursor of this report; start again without it"
            )
        return cls(as_of, period[0], period[1], rank, tuple(key))

    def agrees(self, as_of: datetime | None, first: date | None, last: date | None) -> None:
        """Refuse a cursor given out for another moment or period than the one asked for."""
        if as_of is not None and as_of != self.as_of:
            raise BadCursor(
                f"--after: the cursor is of the report as of {self.as_of.isoformat()}, not "
                f"{as_of.isoformat()}; leave --as-of out to go on with it"
            )
        for given, kept, option in ((first, self.first, "--from"), (last, self.last, "--to")):
            if given is not None and given != kept:
                raise BadCursor(f"--after: the cursor is of another period than {option} {given}")


def _day(day: date | None) -> str:
    return "" if day is None else day.isoformat()


def item_key(item: dict[str, Any]) -> tuple[int, Key]:
    """The rank and sort key of an item of the report (what a cursor keeps)."""
    rank = STATUSES.index(item["status"])
    if rank == 0:
        return rank, (item["late_by_seconds"], item["ref"], item["clock"])
    if rank == 1:
        return rank, (item["due_at"], item["ref"], item["clock"])
    return rank, (item["ref"], item["clock"])


def _cursor_key(rank: int, key: Key) -> Key:
    """A cursor's key in the order of ``row_key``."""
    return (-key[0], *key[1:]) if rank == 0 else key


# ---------------------------------------------------------------------- items


def to_item(row: Row, as_of: datetime) -> dict[str, Any]:
    """One item of the report from a row with its business lateness (``business_lateness``),
    exactly as ``sla_query.sla_report`` writes it."""
    ref, clock, rank, due_at, met_at, late, estimated, team, handler, channel, changes, bus = row
    status = STATUSES[rank]
    if rank == 0:
        late_by, business = late, late if bus is None else bus
    elif rank == 1:
        met_at = None
        late_by = -((datetime.fromisoformat(due_at) - as_of) // timedelta(seconds=1))
        business = late_by if bus is None else bus
    else:
        met_at, late_by, business = None, 0, 0
    return {
        "ref": ref, "clock": clock, "due_at": due_at, "met_at": met_at,
        "estimated": bool(estimated), "team": team, "handler": handler, "channel": channel,
        "status": status, "late_by_seconds": late_by, "late_by_business_seconds": business,
        "changes": orjson.loads(changes) if changes else [],
    }  # fmt: skip


class Report:
    """One report's reads, in the caller's transaction: the moment, the period, and the
    cases whose clocks are worked out from their facts."""

    def __init__(self, cur: Cursor, as_of: datetime, first: date | None, last: date | None) -> None:
        self.cur, self.as_of, self.now = cur, as_of, stamp(as_of)
        self.between, self.period = received_between("s", first, last)
        self._book: Rulebook | None = None
        self._tally: list[tuple[int, str, str | None, str, int]] | None = None
        now = self.now
        self.inexact = {
            ref
            for (ref,) in cur.tuples(
                "SELECT s.ref FROM {sla_clocks} s WHERE (s.started_at || '') <= ?"
                " AND s.fixed_from IS NULL" + self.between + " UNION SELECT s.ref FROM"
                " {sla_clocks} s WHERE (s.started_at || '') <= ? AND s.fixed_from > ?"
                + self.between,
                [now, *self.period, now, now, *self.period],
            )
        }  # fmt: skip
        self.open_index: str | None = None
        self.risk_index: str | None = None
        if not cur.postgres:
            found = cur.tuples(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                " AND sql LIKE ?",
                [cur.names["sla_clocks"].strip('"'), OPEN_INDEX],
            )
            self.open_index = found[0][0] if found else None
        found = cur.tuples(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = to_regclass(?) AND pg_get_indexdef(i.indexrelid) LIKE ?"
            if cur.postgres
            else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
            " AND sql LIKE ?",
            [
                cur.names["sla_clocks"] if cur.postgres else cur.names["sla_clocks"].strip('"'),
                RISK_INDEX[cur.postgres],
            ],
        )
        self.risk_index = found[0][0] if found else None

    def sql(self, text: str) -> str:
        return text.replace("{C}", self.cur.binary_order)

    def book(self) -> Rulebook:
        if self._book is None:
            from projections.publications import stored_rulebook

            self._book = stored_rulebook(self.cur)
        return self._book

    def _parts(self, rank: int) -> list[tuple[str, list[Any]]]:
        """The conditions (and their parameters) whose rows make up status ``rank``."""
        now = self.now
        if rank == 0:
            return [(BREACHED, [now, now])]
        when = OVERDUE if rank == 1 else AT_RISK
        return [
            (f"{OPEN} AND {when}", [now, now]),
            (f"{LATER_MET} AND {when}", [now] * 4),
            (f"{LATER_ENDED} AND {when}", [now] * 3),
        ]

    def _where(
        self, condition: str, params: list[Any], keep: tuple[str, ...] | None = None
    ) -> tuple[str, list[Any]]:
        """``FROM … WHERE`` of the clocks ``condition`` picks, started and exact at the
        moment, in the period. Only the columns of the index meant to be read (``keep``;
        by default the condition's own, ``INDEXED``, else ``ref``) are left where the
        planner may use them (``tally.plain``)."""
        now = self.now
        if keep is None:
            keep = INDEXED.get(condition, ("ref",))
            if condition == OPEN_AT_RISK and self.risk_index:
                keep = (*keep, "risk_at")  # read on the index of deadline and warning moment
        where = f"{condition} AND s.started_at <= ? AND s.fixed_from <= ?"
        table = "{sla_clocks} s"
        if condition.startswith(OPEN) and {"met_at", "due_at"} <= set(keep) and self.open_index:
            index = self.risk_index if "risk_at" in keep and not self.cur.postgres else None
            table = "{sla_clocks} AS s INDEXED BY " + quoted(index or self.open_index)
        return (
            self.sql(f" FROM {table} WHERE " + tally.plain(where, *keep, "received_at"))
            + self.between,
            [*params, now, now, *self.period],
        )  # fmt: skip

    # ------------------------------------------------------------------ items

    def items(self, after: Position | None = None) -> Iterator[dict[str, Any]]:
        """Every item after ``after`` in the report's order, read as they are asked for."""
        worked = self._worked_rows()
        for rank in range(len(STATUSES)):
            if after is not None and rank < after.rank:
                continue
            start = None if after is None or rank > after.rank else after
            streams = [self._stream(rank, c, p, start) for c, p in self._parts(rank)]
            mine = sorted((r for r in worked if r[2] == rank), key=lambda r: row_key(rank, r))
            if start is not None:
                bound = _cursor_key(rank, start.key)
                mine = [r for r in mine if row_key(rank, r) > bound]
            streams.append(iter(mine))
            merged = heapq.merge(*streams, key=lambda r, k=rank: row_key(k, r))  # type: ignore[misc]
            for row in merged:
                yield to_item(row, self.as_of)

    def _stream(
        self, rank: int, condition: str, params: list[Any], after: Position | None
    ) -> Iterator[Row]:
        tail, args = self._where(condition, params)
        if after is not None:
            key = after.key
            tail += " AND " + AFTER[rank]
            # the first column twice, then (for breaches and overdue clocks) the reference twice
            args += [key[0], key[0], key[1], key[1], key[2]] if rank < 2 else [*key[:1], *key]
        select = "SELECT " + COLUMNS.format(rank=f"{rank} AS rank")
        rows = self.cur.stream(self.sql(select + tail + " ORDER BY " + ORDER[rank]), args)
        inexact, as_of = self.inexact, self.as_of
        for row in rows:
            if row[0] not in inexact:
                yield business_lateness([row], as_of, self.book)[0]

    def _worked_rows(self) -> list[Row]:
        """The reported rows of the cases worked out from their facts."""
        if not self.inexact:
            return []
        states, marks = _worked_out(self.cur, self.inexact)
        book = self.book()
        rows: list[Row] = []
        for ref in sorted(self.inexact):
            rows += case_rows(states[ref], book, self.as_of, marks.get(ref, {}))[0]
        return rows

    # ------------------------------------------------------------------ totals

    def totals(self, tallied: bool = True) -> dict[str, Any]:
        """The report's totals, counted by the database, then the cases worked out from
        their facts in place of their stored rows. For a report of every complaint (and
        ``tallied``), the breaches and the clocks still open and overdue come from the tally
        (``_tallied``); the rest, one GROUP BY per status and part."""
        counts: Counter[tuple[int, str, str | None, str]] = Counter()
        tally_ranks = (0, 1) if tallied and not self.period else ()
        if tally_ranks:
            for rank, clock, team, channel, n in self._tallied():
                if rank in tally_ranks:
                    counts[(rank, clock, team, channel)] += n
        for rank in range(len(STATUSES)):
            for condition, params in self._parts(rank):
                if rank in tally_ranks and (rank == 0 or condition.startswith(OPEN)):
                    continue  # tallied: breaches, and the open clocks overdue
                tail, args = self._where(condition, params)
                found = self.cur.tuples(
                    "SELECT s.clock, s.team, s.channel, COUNT(*)" + tail
                    + " GROUP BY s.clock, s.team, s.channel",
                    args,
                )  # fmt: skip
                for clock, team, channel, n in found:
                    counts[(rank, clock, team, channel)] += int(n)
        if self.inexact:
            for rank, clock, team, channel in self._stored_rows_of_inexact():
                counts[(rank, clock, team, channel)] -= 1
            for row in self._worked_rows():
                counts[(row[2], row[1], row[7], row[9])] += 1
        totals = Totals()
        for (rank, clock, team, channel), n in counts.items():
            if n:
                totals.add(STATUSES[rank], clock, team, channel, n)
        return totals.as_dict()

    def _tallied(self) -> Iterator[tuple[int, str, str | None, str, int]]:
        """The clocks breached at the moment and those still open and overdue at it, as
        ``_parts`` and ``_where`` count them: the tally's days before the moment's (UTC)
        day, then the clocks counted from that day up to the moment, found on the indexes
        of the moments whose latest they count from (``tally.counted``; each range at most
        one day long; an end counts only for a clock never met)."""
        now = str(self.now)
        day = now[:10]
        yield from self._tally_before(day)
        moments = {
            0: (BREACHED, ("met_at", "ended_at", "started_at", "fixed_from")),
            1: (f"{OPEN} AND {OVERDUE}", ("started_at", "fixed_from", "risk_at", "due_at")),
        }
        for rank, (condition, columns) in moments.items():
            found = " UNION ".join(
                f"SELECT s.ref, s.clock, s.team, s.channel{self._where(condition, [], (m,))[0]}"
                f" AND s.{m} >= ? AND s.{m} <= ?"
                + (" AND (s.met_at || '') IS NULL" if m == "ended_at" else "")
                for m in columns
            )
            args = [now, now, now, now]
            rows = self.cur.tuples(
                "SELECT clock, team, channel, COUNT(*) FROM (" + found + ") d"
                " GROUP BY clock, team, channel",
                [*args, day, now] * len(columns),
            )
            for clock, team, channel, n in rows:
                yield rank, clock, team, channel, int(n)

    def _tally_before(self, day: str) -> list[tuple[int, str, str | None, str, int]]:
        """The tally's counts before ``day``, read once for the totals and late entries."""
        if self._tally is None:
            self._tally = tally.counts_before(self.cur, day)
        return self._tally

    def late_entries(self) -> Counter[str]:
        """``sla_query.late_entries`` of a report of every complaint, from the tally: the
        days before the moment's, then the moment's own day up to it."""
        now = str(self.now)
        day = now[:10]
        counts: Counter[str] = Counter()
        for rank, clock, _, _, n in self._tally_before(day):
            if rank == tally.LATE_ENTRY:
                counts[family(clock)] += n
        rows = self.cur.tuples(
            "SELECT s.clock, COUNT(*) FROM {sla_clocks} s WHERE s.recorded_after_due = 1"
            " AND s.met_at >= ? AND s.met_at <= ? GROUP BY s.clock",
            [day, now],
        )
        for clock, n in rows:
            counts[family(clock)] += int(n)
        return +counts

    def _stored_rows_of_inexact(self) -> Iterator[tuple[int, str, str | None, str]]:
        """The exact rows the GROUP BYs above counted for cases worked out from facts."""
        refs = sorted(self.inexact)
        for start in range(0, len(refs), 500):
            chunk = refs[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for rank in range(len(STATUSES)):
                for condition, params in self._parts(rank):
                    tail, args = self._where(
                        f"s.ref IN ({marks}) AND {condition}", [*chunk, *params]
                    )
                    for clock, team, channel in self.cur.tuples(
                        "SELECT s.clock, s.team, s.channel" + tail, args
                    ):
                        yield rank, clock, team, channel


def sla_summary(
    runner: Reads, as_of: datetime, first: date | None = None, last: date | None = None
) -> dict[str, Any]:
    """The report's totals and late entries without its items (``report sla --summary``)."""
    with runner.transaction() as cur:
        report = Report(cur, as_of, first, last)
        totals = report.totals()
        late = late_entries(cur, as_of, first, last) if report.period else report.late_entries()
    return {
        "as_of": as_of.isoformat(),
        "totals": totals,
        "recorded_after_due": {"all": sum(late.values()), "clock": dict(sorted(late.items()))},
    }


def sla_page(
    runner: Reads,
    as_of: datetime,
    first: date | None,
    last: date | None,
    limit: int,
    after: Position | None = None,
) -> dict[str, Any]:
    """``limit`` items after ``after`` and the cursor of the next page (None on the last)."""
    with runner.transaction() as cur:
        items = list(islice(Report(cur, as_of, first, last).items(after), limit + 1))
    more = len(items) > limit
    items = items[:limit]
    next_cursor = None
    if more:
        rank, key = item_key(items[-1])
        next_cursor = Position(as_of, first, last, rank, key).encode()
    return {"as_of": as_of.isoformat(), "items": items, "next_cursor": next_cursor}


def sla_stream(
    runner: Reads,
    as_of: datetime,
    first: date | None,
    last: date | None,
    write: Callable[[dict[str, Any]], object],
    after: Position | None = None,
) -> int:
    """Every item (after ``after``) handed to ``write`` as it is read, in one transaction:
    memory for one batch of rows, however long the report. Returns how many."""
    written = 0
    with runner.transaction() as cur:
        for item in Report(cur, as_of, first, last).items(after):
            write(item)
            written += 1
    return written
