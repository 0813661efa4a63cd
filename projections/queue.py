"""The work queue: each open complaint once, at its next deadline (the earliest clock not yet
met), most urgent first, from ``case_state`` and ``sla_clocks``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from projections.db import Cursor
from projections.schema import stamp


@dataclass(frozen=True)
class QueueFilter:
    team: str | None = None
    handlers: Sequence[str] | None = None  # None: anyone's; a unit's members otherwise
    limit: int = 100
    after: tuple[str, str] | None = None  # (due_at, ref) of the last item of the page before


def queue_rows(cur: Cursor, f: QueueFilter, as_of: datetime) -> list[dict[str, Any]]:
    """``ref, clock, due_at, status, handler, team`` of open complaints by next due clock."""
    now = stamp(as_of)
    text = cur.binary_order
    sql = (
        "SELECT s.ref, s.clock, s.due_at, s.risk_at, c.handler, c.team, c.stage"
        " FROM {sla_clocks} s JOIN {case_state} c ON c.ref = s.ref"
        " WHERE c.status = 'open' AND s.cancelled = 0 AND s.met_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM {sla_clocks} o WHERE o.ref = s.ref AND o.cancelled = 0"
        f" AND o.met_at IS NULL AND (o.due_at < s.due_at OR (o.due_at = s.due_at"
        f" AND o.clock{text} < s.clock{text})))"
    )
    params: list[Any] = []
    if f.team is not None:
        sql += " AND c.team = ?"
        params.append(f.team)
    if f.handlers is not None:
        if not f.handlers:
            return []
        sql += f" AND c.handler IN ({', '.join('?' * len(f.handlers))})"
        params += list(f.handlers)
    if f.after is not None:
        sql += f" AND (s.due_at, s.ref{text}) > (?, ?)"
        params += list(f.after)
    sql += f" ORDER BY s.due_at, s.ref{text} LIMIT ?"
    params.append(f.limit)
    cur.execute(sql, params)
    return [
        {
            "ref": row["ref"],
            "clock": row["clock"],
            "due_at": row["due_at"],
            "status": _status(row, now),
            "handler": row["handler"],
            "team": row["team"],
            "stage": row["stage"],
        }
        for row in cur.fetchall()
    ]


def _status(row: dict[str, Any], now: str | None) -> str:
    assert now is not None
    if row["due_at"] < now:
        return "overdue"
    return "at_risk" if row["risk_at"] <= now else "pending"
