"""Read model ``statistics``: per month × channel × category × severity.

Derived from ``case_state`` and ``sla_clocks``: the case projection marks the groups it
changed in ``statistics_dirty`` (in the same transaction), and ``refresh`` works out those
groups again and clears the marks in one transaction, so a crash in between only means the
work is done on the next run. Only facts that do not depend on the moment of reading are
counted: a breach is a clock completed late (open overdue clocks are in the SLA report).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from projections.db import Cursor
from projections.schema import CLOCKS

COLUMNS = (
    "month", "channel", "category", "severity", "received", "closed", "closed_on_time",
    "withdrawn", "escalated", "reopened", *(f"breached_{c}" for c in CLOCKS),
    "median_handling_hours", "remedies", "refunds", "refund_total", "mean_satisfaction",
    "satisfaction_count",
)  # fmt: skip


_KEY = "(c.month, c.channel, c.category, COALESCE(c.severity, 'untriaged'))"
HELD_CASES = 5_000  # case rows held at once, about
MAX_GROUPS = 200  # groups in one query


def refresh(cur: Cursor) -> int:
    """Work out every marked group again, a chunk of groups at a time; returns how many.

    Each group's cases are counted first, and a chunk holds about ``HELD_CASES`` cases
    (at least one group), however many a group has: memory stays flat as the log grows
    (chunks of 100 groups held some 6,000 cases for 100,000 complaints, and ten times as
    many for a million).

    Refreshes take turns (on SQLite the write lock does it). Two at once could both work out
    a group whose mark a runner set again between them, and the second to write it would
    either fail on the table's key or replace the newer figures with older ones.
    """
    if cur.postgres:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('{statistics}'))")
    cur.execute(
        "SELECT d.month, d.channel, d.category, d.severity, COUNT(c.ref) AS n"
        " FROM {statistics_dirty} d LEFT JOIN {case_state} c ON c.month = d.month"
        " AND c.channel = d.channel AND c.category = d.category"
        " AND COALESCE(c.severity, 'untriaged') = d.severity"
        " GROUP BY d.month, d.channel, d.category, d.severity"
        " ORDER BY d.month, d.channel, d.category, d.severity"
    )
    sized = [(tuple(r.values())[:4], int(r["n"])) for r in cur.fetchall()]
    chunk: list[tuple[Any, ...]] = []
    held = 0
    for group, cases in sized:
        if chunk and (held + cases > HELD_CASES or len(chunk) >= MAX_GROUPS):
            _refresh_groups(cur, chunk)
            chunk, held = [], 0
        chunk.append(group)
        held += cases
    if chunk:
        _refresh_groups(cur, chunk)
    return len(sized)


def _refresh_groups(cur: Cursor, groups: list[tuple[Any, ...]]) -> None:
    """Work out ``groups`` again. Their marks are cleared before their cases are read: a
    runner that marks one of them meanwhile waits for this transaction and then marks it
    afresh, and a group marked after the marks were counted keeps its mark, so no change is
    left both uncounted and unmarked."""
    values = ", ".join(["(?, ?, ?, ?)"] * len(groups))
    params = [v for g in groups for v in g]
    cur.execute(
        "DELETE FROM {statistics_dirty} WHERE (month, channel, category, severity)"
        f" IN (VALUES {values})",
        params,
    )
    cur.execute(
        "SELECT c.ref, c.status, c.escalated, c.reopened_count, c.remedies, c.refund_total,"
        " c.satisfaction, c.handling_seconds, c.month, c.channel, c.category,"
        " COALESCE(c.severity, 'untriaged') AS sev FROM {case_state} c"
        f" WHERE {_KEY} IN (VALUES {values})",
        params,
    )
    cases: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in cur.fetchall():
        key = (row["month"], row["channel"], row["category"], row["sev"])
        cases.setdefault(key, []).append(row)
    cur.execute(
        "SELECT c.month, c.channel, c.category, COALESCE(c.severity, 'untriaged') AS sev,"
        " s.ref, s.clock FROM {sla_clocks} s JOIN {case_state} c ON c.ref = s.ref"
        f" WHERE {_KEY} IN (VALUES {values}) AND s.met_at IS NOT NULL AND s.met_at > s.due_at",
        params,
    )
    late: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in cur.fetchall():
        late.setdefault((row["month"], row["channel"], row["category"], row["sev"]), []).append(row)
    cur.execute(
        "DELETE FROM {statistics} WHERE (month, channel, category, severity)"
        f" IN (VALUES {values})",
        params,
    )
    rows = [_group_row(g, cases[g], late.get(g, [])) for g in groups if g in cases]
    cur.insert("statistics", COLUMNS, rows)


def _group_row(
    group: tuple[Any, ...], cases: list[dict[str, Any]], late: list[dict[str, Any]]
) -> tuple[Any, ...]:
    import statistics as stats  # on first use: a read command that refreshes nothing skips it

    cases.sort(key=lambda c: str(c["ref"]))
    breached = {c: sum(1 for r in late if r["clock"].split("#")[0] == c) for c in CLOCKS}
    late_summary = {r["ref"] for r in late if r["clock"].split("#")[0] == "summary"}
    closed = [c for c in cases if c["status"] == "closed"]
    handling = [c["handling_seconds"] / 3600 for c in cases if c["handling_seconds"] is not None]
    scores = [c["satisfaction"] for c in cases if c["satisfaction"] is not None]
    kinds = [k for c in cases for k in c["remedies"].split(",") if k]
    return (
        *group,
        len(cases),
        len(closed),
        sum(1 for c in closed if c["ref"] not in late_summary),
        sum(1 for c in cases if c["status"] == "withdrawn"),
        sum(1 for c in cases if c["escalated"]),
        sum(1 for c in cases if c["reopened_count"]),
        *(breached[c] for c in CLOCKS),
        round(stats.median(handling), 3) if handling else None,
        len(kinds),
        kinds.count("refund"),
        str(sum((Decimal(c["refund_total"]) for c in cases), Decimal("0"))),
        round(stats.fmean(scores), 3) if scores else None,
        len(scores),
    )
