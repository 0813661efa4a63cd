"""Queries over the read models: case lists, statistics, one case's trail (the SLA report
is in ``projections.sla_query``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from projections.db import Cursor
from projections.schema import stamp

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


def received_between(alias: str, first: date | None, last: date | None) -> tuple[str, list[Any]]:
    start, end = day_bounds(first, last)
    sql, params = "", []
    if start is not None:
        sql += f" AND {alias}.received_at >= ?"
        params.append(start)
    if end is not None:
        sql += f" AND {alias}.received_at < ?"
        params.append(end)
    return sql, params


def _cases_where(
    f: CaseFilter, as_of: datetime, after: tuple[str, str] | None = None
) -> tuple[str, list[Any]]:
    """The ``FROM … WHERE`` of the complaints ``f`` lets through (after ``after``)."""
    sql, params = " FROM {case_state} c WHERE 1 = 1", list[Any]()
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
    return sql, params


def list_cases(
    cur: Cursor, f: CaseFilter, as_of: datetime, after: tuple[str, str] | None = None
) -> list[dict[str, Any]]:
    """The complaints ``f`` lets through, by received time and reference; with ``after`` (the
    received time and reference of the last row of the previous page), those after it."""
    where, params = _cases_where(f, as_of, after)
    sql = "SELECT *" + where + " ORDER BY c.received_at, c.ref"
    if f.limit is not None:
        sql += " LIMIT ?"
        params.append(f.limit)
    cur.execute(sql, params)
    rows = cur.fetchall()
    for row in rows:
        row["escalated"] = bool(row["escalated"])
    return rows


def cases_summary(cur: Cursor, f: CaseFilter, as_of: datetime) -> dict[str, Any]:
    """How many complaints ``f`` lets through, in all and per status and stage: one
    ``GROUP BY`` in the database (``list --summary``), no row read out."""
    where, params = _cases_where(f, as_of)
    rows = cur.tuples("SELECT c.status, c.stage, COUNT(*)" + where + " GROUP BY c.status, c.stage",
                      params)  # fmt: skip
    status: dict[str, int] = {}
    stage: dict[str, int] = {}
    for state, step, n in rows:
        status[state] = status.get(state, 0) + int(n)
        stage[step] = stage.get(step, 0) + int(n)
    return {"all": sum(status.values()), "status": dict(sorted(status.items())),
            "stage": dict(sorted(stage.items()))}  # fmt: skip


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


def audit_rows(
    cur: Cursor, ref: str, limit: int | None = None, after: int | None = None
) -> list[dict[str, Any]]:
    """One stream's audit trail in log order; ``limit`` rows after position ``after``."""
    sql, params = "SELECT * FROM {audit_trail} WHERE ref = ?", list[Any]([ref])
    if after is not None:
        sql += " AND position > ?"
        params.append(after)
    sql += " ORDER BY position"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    cur.execute(sql, params)
    rows = cur.fetchall()
    for row in rows:
        row["backdated"] = bool(row["backdated"])
        if row["actor_id"] is not None and row.get("actor_method") is None:
            row["actor_method"] = "asserted"  # projected before methods were recorded
    return rows


def accountability_rows(
    cur: Cursor, staff: str | None = None, team: str | None = None
) -> list[dict[str, Any]]:
    """Accountability records (issue 15), by staff member then complaint and version; only
    those of ``staff`` or ``team`` when given."""
    cur.execute(
        "SELECT ref, accountability FROM {case_state} WHERE accountability IS NOT NULL ORDER BY ref"
    )
    rows = [
        {"ref": row["ref"], **record}
        for row in cur.fetchall()
        for record in json.loads(row["accountability"])
    ]
    rows = [
        r for r in rows
        if (staff is None or r["staff"] == staff) and (team is None or r["team"] == team)
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (r["staff"], r["ref"], r["version"]))


BREACH_KEYS = ("handler", "team", "collector", "agency")


def breach_rows(cur: Cursor, by: str, now: str) -> list[dict[str, Any]]:
    """Clocks breached (met, or ended by a withdrawal, after their deadline: the read
    model's rule, docs/read-models.md) and overdue (still running past it at ``now``, a
    stamp), per ``by`` (one of ``BREACH_KEYS``), most first; cases without one
    count under None."""
    if by not in BREACH_KEYS:
        raise ValueError(f"breaches are counted by {', '.join(BREACH_KEYS)}, not {by!r}")
    cur.execute(
        f"SELECT c.{by} AS key, "
        "SUM(CASE WHEN s.late_seconds > 0 AND (s.met_at IS NOT NULL OR s.cancelled = 0) "
        "THEN 1 ELSE 0 END) AS breached, "
        "SUM(CASE WHEN s.met_at IS NULL AND s.ended_at IS NULL AND s.due_at < ? "
        "THEN 1 ELSE 0 END) AS overdue, "
        "COUNT(*) AS clocks, COUNT(DISTINCT c.ref) AS complaints "
        "FROM {sla_clocks} s JOIN {case_state} c ON c.ref = s.ref GROUP BY c." + by,
        (now,),
    )
    rows = [
        {by: r["key"], "breached": int(r["breached"] or 0), "overdue": int(r["overdue"] or 0),
         "clocks": int(r["clocks"]), "complaints": int(r["complaints"])}
        for r in cur.fetchall()
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (-(r["breached"] + r["overdue"]), str(r[by] or "")))


def audit_summary(cur: Cursor, ref: str) -> dict[str, Any]:
    """How many entries one stream's audit trail holds, in all and per action (``audit
    --summary``): a ``GROUP BY`` on the trail's index of references."""
    rows = cur.tuples(
        "SELECT action, COUNT(*) FROM {audit_trail} WHERE ref = ? GROUP BY action", (ref,)
    )
    actions = {action: int(n) for action, n in sorted(rows)}
    return {"ref": ref, "all": sum(actions.values()), "action": actions}
