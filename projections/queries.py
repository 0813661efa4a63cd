"""Queries over the read models: case lists, the SLA report, statistics, one case's trail.

Statuses that depend on the moment are worked out here from stored deadlines:
breached (met after due), overdue (open past due), at_risk (open past ``risk_at``, the
policy's threshold share of the clock's time), as of the moment asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from projections.cases import stamp
from projections.db import Cursor
from projections.sla_report import report_from_items

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


def list_cases(cur: Cursor, f: CaseFilter, as_of: datetime) -> list[dict[str, Any]]:
    sql, params = "SELECT * FROM {case_state} c WHERE 1 = 1", list[Any]()
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


def sla_items(
    cur: Cursor, as_of: datetime, first: date | None = None, last: date | None = None
) -> dict[str, Any]:
    """The SLA report: every breached, overdue and at-risk clock as of ``as_of``."""
    now = stamp(as_of)
    between, params = _received_between("c", first, last)
    cur.execute(
        "SELECT s.ref, s.clock, s.due_at, s.risk_at, s.met_at, s.estimated, c.team, c.handler,"
        " c.channel FROM {sla_clocks} s JOIN {case_state} c ON c.ref = s.ref"
        " WHERE s.cancelled = 0 AND s.started_at <= ?"
        " AND ((s.met_at IS NOT NULL AND s.met_at <= ? AND s.met_at > s.due_at)"
        " OR ((s.met_at IS NULL OR s.met_at > ?) AND s.risk_at <= ?))" + between,
        [now, now, now, now, *params],
    )
    items = []
    for row in cur.fetchall():
        due = datetime.fromisoformat(row["due_at"])
        met = None if row["met_at"] is None or row["met_at"] > now else row["met_at"]
        if met is not None:
            status, late = "breached", datetime.fromisoformat(met) - due
        elif as_of > due:
            status, late = "overdue", as_of - due
        else:
            status, late = "at_risk", timedelta(0)
        items.append(
            {
                "ref": row["ref"],
                "clock": row["clock"],
                "status": status,
                "due_at": due.isoformat(),
                "met_at": None if met is None else datetime.fromisoformat(met).isoformat(),
                "late_by_seconds": -(-late // timedelta(seconds=1)),
                "team": row["team"],
                "handler": row["handler"],
                "channel": row["channel"],
                "estimated": bool(row["estimated"]),
            }
        )
    return report_from_items(items, as_of)


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
    return rows
