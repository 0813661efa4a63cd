"""What the console's pages read: aggregates over the read models, worked out in SQL.

The dashboard of a ledger of 100,000 complaints must render in well under a second, so
nothing here loads every case: each figure is one ``GROUP BY`` or ``SUM(CASE …)`` over
``case_state``, ``sla_clocks`` or ``statistics``, and each list is a page (``LIMIT``).
Clock statuses follow the rules of docs/read-models.md (``sla_clocks``), judged from the
stored deadlines at the moment of reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from projections.db import Cursor
from projections.queue import QueueFilter, queue_rows
from projections.schema import CLOCKS, stamp

# A clock's status now, as a condition on sla_clocks ``s`` (three ``?``: now, now, now).
ENDED = "(s.met_at IS NOT NULL AND s.met_at <= ?) OR (s.ended_at IS NOT NULL AND s.ended_at <= ?)"
RUNNING = f"s.cancelled = 0 AND NOT ({ENDED})"
CLOCK_STATUS = {
    "breached": (f"s.late_seconds > 0 AND ({ENDED})", 2),
    "overdue": (f"{RUNNING} AND s.due_at < ?", 3),
    "at_risk": (f"{RUNNING} AND s.due_at >= ? AND s.risk_at <= ?", 4),
}
PAGE = 50
SMALL_UNIT = 1000  # open cases: see unit_queue


def open_by_stage(cur: Cursor) -> dict[str, int]:
    cur.execute(
        "SELECT stage, COUNT(*) AS n FROM {case_state} WHERE status = 'open' GROUP BY stage"
    )
    return {row["stage"]: int(row["n"]) for row in cur.fetchall()}


def clocks_now(cur: Cursor, now: datetime) -> dict[str, int]:
    """How many clocks are breached (done late, or ended late), overdue and at risk now."""
    at = stamp(now)
    parts, params = [], list[Any]()
    for status, (condition, count) in CLOCK_STATUS.items():
        parts.append(f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS {status}")
        params += [at] * count
    cur.execute(f"SELECT {', '.join(parts)} FROM {{sla_clocks}} s", params)
    row = cur.fetchone() or {}
    return {status: int(row.get(status) or 0) for status in CLOCK_STATUS}


def monthly(cur: Cursor, first: str | None = None, last: str | None = None) -> list[dict[str, Any]]:
    """Per month of receipt (``YYYY-MM``, between ``first`` and ``last``): received, closed,
    closed on time, escalated, breaches per clock and mean satisfaction, from ``statistics``."""
    breaches = ", ".join(f"SUM(breached_{c}) AS breached_{c}" for c in CLOCKS)
    sql = (
        "SELECT month, SUM(received) AS received, SUM(closed) AS closed,"
        " SUM(closed_on_time) AS closed_on_time, SUM(escalated) AS escalated,"
        " SUM(withdrawn) AS withdrawn, SUM(reopened) AS reopened,"
        " SUM(mean_satisfaction * satisfaction_count) AS satisfaction_sum,"
        f" SUM(satisfaction_count) AS satisfaction_count, {breaches}"
        " FROM {statistics} WHERE 1 = 1"
    )
    params: list[Any] = []
    if first is not None:
        sql += " AND month >= ?"
        params.append(first)
    if last is not None:
        sql += " AND month <= ?"
        params.append(last)
    cur.execute(sql + " GROUP BY month ORDER BY month", params)
    rows = []
    for row in cur.fetchall():
        count = int(row.pop("satisfaction_count") or 0)
        total = row.pop("satisfaction_sum")
        row = {k: (v if k == "month" else int(v or 0)) for k, v in row.items()}
        row["mean_satisfaction"] = round(float(total) / count, 2) if count else None
        row["breaches"] = {c: row.pop(f"breached_{c}") for c in CLOCKS}
        rows.append(row)
    return rows


def volume(cur: Cursor, by: str, first: str | None = None) -> list[dict[str, Any]]:
    """Complaints received per month and ``by`` (``channel`` or ``category``)."""
    assert by in ("channel", "category")
    sql = f"SELECT month, {by} AS key, SUM(received) AS n FROM {{statistics}}"
    params: list[Any] = []
    if first is not None:
        sql += " WHERE month >= ?"
        params.append(first)
    cur.execute(sql + f" GROUP BY month, {by} ORDER BY month, {by}", params)
    return [{"month": r["month"], "key": r["key"], "n": int(r["n"])} for r in cur.fetchall()]


@dataclass(frozen=True)
class ListFilter:
    """The console's case list: the dashboard's figures, each a filter."""

    stage: str | None = None
    status: str | None = None  # open, closed, withdrawn
    clock_status: str | None = None  # breached, overdue, at_risk (now)
    clock: str | None = None  # with clock_status: only that clock (its first run)
    month: str | None = None  # YYYY-MM of receipt
    channel: str | None = None
    category: str | None = None
    offset: int = 0


def cases(cur: Cursor, f: ListFilter, now: datetime) -> list[dict[str, Any]]:
    """A page of the complaints ``f`` lets through, newest first."""
    sql, params = "SELECT c.* FROM {case_state} c WHERE 1 = 1", list[Any]()
    for column, value in (
        ("stage", f.stage),
        ("status", f.status),
        ("month", f.month),
        ("channel", f.channel),
        ("category", f.category),
    ):
        if value is not None:
            sql += f" AND c.{column} = ?"
            params.append(value)
    if f.clock_status in CLOCK_STATUS:
        condition, count = CLOCK_STATUS[f.clock_status]
        sql += f" AND EXISTS (SELECT 1 FROM {{sla_clocks}} s WHERE s.ref = c.ref AND {condition}"
        params += [stamp(now)] * count
        if f.clock is not None:
            sql += " AND s.clock = ?"
            params.append(f.clock)
        sql += ")"
    sql += " ORDER BY c.received_at DESC, c.ref DESC LIMIT ? OFFSET ?"
    cur.execute(sql, [*params, PAGE + 1, f.offset])
    return cur.fetchall()


def clocks_of(cur: Cursor, ref: str) -> list[dict[str, Any]]:
    cur.execute("SELECT * FROM {sla_clocks} WHERE ref = ? ORDER BY started_at, due_at", (ref,))
    return cur.fetchall()


def case_row(cur: Cursor, ref: str) -> dict[str, Any] | None:
    cur.execute("SELECT * FROM {case_state} WHERE ref = ?", (ref,))
    return cur.fetchone()


def unit_queue(
    cur: Cursor, handlers: list[str], now: datetime, limit: int = 200
) -> list[dict[str, Any]]:
    """The open complaints of ``handlers``, each at its next due clock (the earliest clock
    not met), most urgent first: the rows of ``queue.queue_rows`` for a unit.

    ``queue_rows`` walks every open clock by deadline until it has ``limit`` of the unit's,
    quick for a busy unit and a scan of the whole ledger's open clocks for a unit with few
    cases; for those (up to ``SMALL_UNIT`` open cases) the queue is worked out from the
    unit's cases instead, with a window in place of the correlated ``NOT EXISTS``."""
    if not handlers:
        return []
    marks = ", ".join("?" * len(handlers))
    cur.execute(
        f"SELECT COUNT(*) AS n FROM {{case_state}} WHERE status = 'open' AND handler IN ({marks})",
        handlers,
    )
    row = cur.fetchone()
    if row is not None and int(row["n"]) > SMALL_UNIT:
        return queue_rows(cur, QueueFilter(None, handlers, limit), now)
    text = cur.binary_order
    cur.execute(
        "SELECT ref, clock, due_at, risk_at, handler, team, stage FROM (SELECT s.ref, s.clock,"
        " s.due_at, s.risk_at, c.handler, c.team, c.stage, ROW_NUMBER() OVER (PARTITION BY"
        f" s.ref ORDER BY s.due_at, s.clock{text}) AS n FROM {{case_state}} c"
        " JOIN {sla_clocks} s ON s.ref = c.ref WHERE c.status = 'open'"
        f" AND c.handler IN ({', '.join('?' * len(handlers))}) AND s.cancelled = 0"
        f" AND s.met_at IS NULL) q WHERE n = 1 ORDER BY due_at, ref{text} LIMIT ?",
        [*handlers, limit],
    )
    at = stamp(now) or ""
    return [
        {
            **{k: row[k] for k in ("ref", "clock", "due_at", "handler", "team", "stage")},
            "status": "overdue"
            if row["due_at"] < at
            else "at_risk"
            if row["risk_at"] <= at
            else "pending",
        }
        for row in cur.fetchall()
    ]
