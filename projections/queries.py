"""Queries over the read models: case lists, the SLA report, statistics, one case's trail.

Statuses that depend on the moment are worked out here from stored deadlines:
breached (met after due), overdue (open past due), at_risk (open past ``risk_at``, the
policy's threshold share of the clock's time), as of the moment asked for.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from projections.db import Cursor
from projections.schema import stamp
from projections.sla_report import REPORTED, Totals

LOCAL = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class CaseFilter:
    open_only: bool = False
    stage: str | None = None
    severity: str | None = None
    team: str | None = None
    breached: bool = False
    limit: int | None = None


def day_bounds(first: date | None, last: date | None) -> tuple[str | None, str | None]:
    """Local days (Asia/Shanghai), inclusive, as stored-time bounds [start, end)."""
    start = None if first is None else stamp(datetime.combine(first, time(0), LOCAL))
    end = (
        None if last is None else stamp(datetime.combine(last + timedelta(days=1), time(0), LOCAL))
    )
    return start, end


def _received_between(alias: str, first: date | None, last: date | None) -> tuple[str, list[Any]]:
    start, end = day_bounds(first, last)
    sql, params = "", []
    if start is not None:
        sql += f" AND {alias}.received_at >= ?"
        params.append(start)
    if end is not None:
        sql += f" AND {alias}.received_at < ?"
        params.append(end)
    return sql, params


def list_cases(
    cur: Cursor, f: CaseFilter, as_of: datetime, after: tuple[str, str] | None = None
) -> list[dict[str, Any]]:
    """The complaints ``f`` lets through, by received time and reference; with ``after`` (the
    received time and reference of the last row of the previous page), those after it."""
    sql, params = "SELECT * FROM {case_state} c WHERE 1 = 1", list[Any]()
    if after is not None:
        sql += " AND (c.received_at, c.ref) > (?, ?)"
        params += list(after)
    if f.open_only:
        sql += " AND c.status = 'open'"
    for column, value in (("stage", f.stage), ("severity", f.severity), ("team", f.team)):
        if value is not None:
            sql += f" AND c.{column} = ?"
            params.append(value)
    if f.breached:
        now = stamp(as_of)
        sql += (
            " AND EXISTS (SELECT 1 FROM {sla_clocks} s WHERE s.ref = c.ref AND s.cancelled = 0"
            " AND ((s.met_at IS NOT NULL AND s.met_at <= ? AND s.met_at > s.due_at)"
            " OR ((s.met_at IS NULL OR s.met_at > ?) AND s.due_at < ?)))"
        )
        params += [now, now, now]
    sql += " ORDER BY c.received_at, c.ref"
    if f.limit is not None:
        sql += " LIMIT ?"
        params.append(f.limit)
    cur.execute(sql, params)
    rows = cur.fetchall()
    for row in rows:
        row["escalated"] = bool(row["escalated"])
    return rows


def sla_rows(
    cur: Cursor, as_of: datetime, first: date | None = None, last: date | None = None
) -> list[tuple[Any, ...]]:
    """The rows of the SLA report as of ``as_of`` (see ``sla_report``), in reference order.

    Only the query runs in the caller's transaction: building a report of a million clocks
    takes longer than PostgreSQL lets a transaction sit idle.
    """
    now = stamp(as_of)
    between, params = _received_between("s", first, last)
    rank = (
        "CASE WHEN s.met_at <= ? AND s.late_seconds > 0 THEN 0 WHEN s.due_at < ? THEN 1 ELSE 2 END"
    )
    text = cur.binary_order  # sort text by code point, as SQLite does, whatever the locale
    return cur.tuples(
        f"SELECT s.ref, s.clock, {rank} AS rank, s.due_at, s.met_at, s.late_seconds,"
        " s.estimated, s.team, s.handler, s.channel FROM {sla_clocks} s"
        " WHERE s.cancelled = 0 AND s.started_at <= ?"
        " AND ((s.met_at <= ? AND s.late_seconds > 0)"
        " OR ((s.met_at IS NULL OR s.met_at > ?) AND s.risk_at <= ?))" + between +
        f" ORDER BY s.ref{text}, s.clock{text}",
        [now, now, now, now, now, now, *params],
    )  # fmt: skip


def sla_report(rows: list[tuple[Any, ...]], as_of: datetime) -> dict[str, Any]:
    """The SLA report: every breached, overdue and at-risk clock as of ``as_of``.

    Worst first: breaches by lateness, then overdue clocks by how long overdue (the oldest
    deadline first), then those at risk; ties by reference and clock. Times are given as the
    read model stores them (fixed-width UTC). One table is read (``sla_clocks`` carries each
    case's owner) in reference order; the rest of the order is two stable sorts here, which
    costs less than the database sorting on computed keys. Each pass over the rows is a
    comprehension or a C-level map: at 100,000s of rows a Python loop body is the cost.
    """
    second = timedelta(seconds=1)
    parse = datetime.fromisoformat
    breached = [
        {"ref": ref, "clock": clock, "due_at": due_at, "met_at": met_at,
         "estimated": bool(estimated), "team": team, "handler": handler, "channel": channel,
         "status": "breached", "late_by_seconds": late}
        for ref, clock, rank_, due_at, met_at, late, estimated, team, handler, channel in rows
        if rank_ == 0
    ]  # fmt: skip
    # Overdue: late by the time since the deadline, in whole seconds rounded up.
    overdue = [
        {"ref": ref, "clock": clock, "due_at": due_at, "met_at": None,
         "estimated": bool(estimated), "team": team, "handler": handler, "channel": channel,
         "status": "overdue", "late_by_seconds": -((parse(due_at) - as_of) // second)}
        for ref, clock, rank_, due_at, _met, _late, estimated, team, handler, channel in rows
        if rank_ == 1
    ]  # fmt: skip
    at_risk = [
        {"ref": ref, "clock": clock, "due_at": due_at, "met_at": None,
         "estimated": bool(estimated), "team": team, "handler": handler, "channel": channel,
         "status": "at_risk", "late_by_seconds": 0}
        for ref, clock, rank_, due_at, _met, _late, estimated, team, handler, channel in rows
        if rank_ == 2
    ]  # fmt: skip
    # Sorting is stable: within equal lateness or deadline, the order by ref and clock stays.
    breached.sort(key=itemgetter("late_by_seconds"), reverse=True)
    overdue.sort(key=itemgetter("due_at"))
    counts = Totals()
    for (rank_, clock, team, channel), n in Counter(map(itemgetter(2, 1, 7, 9), rows)).items():
        counts.add(STATUSES[rank_], clock, team, channel, n)
    return {
        "as_of": as_of.isoformat(),
        "items": breached + overdue + at_risk,
        "totals": counts.as_dict(),
    }


STATUSES = REPORTED  # in rank order


def statistics_rows(cur: Cursor, first: date | None, last: date | None) -> list[dict[str, Any]]:
    sql, params = "SELECT * FROM {statistics} WHERE 1 = 1", list[Any]()
    if first is not None:
        sql += " AND month >= ?"
        params.append(first.strftime("%Y-%m"))
    if last is not None:
        sql += " AND month <= ?"
        params.append(last.strftime("%Y-%m"))
    cur.execute(sql + " ORDER BY month, channel, category, severity", params)
    return cur.fetchall()


def audit_rows(cur: Cursor, ref: str) -> list[dict[str, Any]]:
    cur.execute("SELECT * FROM {audit_trail} WHERE ref = ? ORDER BY position", (ref,))
    rows = cur.fetchall()
    for row in rows:
        row["backdated"] = bool(row["backdated"])
        if row["actor_id"] is not None and row.get("actor_method") is None:
            row["actor_method"] = "asserted"  # projected before methods were recorded
    return rows
