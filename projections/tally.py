"""``sla_tally``: breaches and overdue clocks counted per clock, team, channel and day (issue 17).

``report sla --summary`` counted the breaches with a ``GROUP BY`` over every breached clock:
its cost grew with the clocks ever breached. The tally holds those counts already grouped, so
the summary reads one row per (clock, team, channel, day): its cost grows with the groups.

A clock is in the tally once it counts as breached at every moment from some moment on: it
ran late (``late_seconds > 0``), it is met or ended, and its stored deadline is exact from a
known time (``fixed_from``). The report counts such a clock as breached at T once it is met
or ended, started, and exact by T (``sla_pages.BREACHED`` and ``Report._where``): from its
*counted* moment, the latest of the three. The tally keys it by the UTC day of that moment,
so the breaches as of T are the tally's days before T's day, plus the clocks counted on T's
own day up to T, read from ``sla_clocks`` on its indexes (one day of clocks at most): exact
to the microsecond for any T, past or present.

The case projection keeps it (``cases.write_states``, ``cases.recompute_clocks``): the clocks
of the cases it rewrites are taken out of the tally before their rows go and put back after
the new rows are in, in the same transaction (−1/+1 by SQL over those cases' rows). A
sharded rebuild, whose workers write ``sla_clocks`` directly, counts it afresh from the
folded table with one aggregate (``refresh``).

Unassigned clocks (team NULL) are kept as team '' with ``unassigned`` 1, since a key column
may not be NULL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from projections.db import Cursor

SETTLED = "(s.met_at IS NOT NULL OR s.ended_at IS NOT NULL)"
# Clocks that count as breached (rank 0) or overdue (rank 1) from some moment on, as a
# condition on sla_clocks ``s``: met or ended late, or still running; deadline exact.
TALLIED = f"s.fixed_from IS NOT NULL AND (s.late_seconds > 0 OR NOT {SETTLED})"
KEY = "rank, clock, team, unassigned, channel, day"


def counted(cur: Cursor) -> str:
    """The moment a tallied clock counts from, as SQL on ``s`` (fixed-width UTC text, so the
    latest is the greatest): a breach once met (or ended), started and exact; a running clock
    once started, exact, at risk and due (overdue just after its deadline, so its day's
    clocks are read from ``sla_clocks`` with ``due_at < T``)."""
    greatest = "GREATEST" if cur.postgres else "MAX"
    return (
        f"CASE WHEN {SETTLED} THEN {greatest}(COALESCE(s.met_at, s.ended_at), s.started_at,"
        f" s.fixed_from) ELSE {greatest}(s.started_at, s.fixed_from, s.risk_at, s.due_at) END"
    )


LATE_ENTRY = 3  # the rank of clocks met thanks to something recorded after their deadline
OWNER = "s.clock, COALESCE(s.team, ''), CASE WHEN s.team IS NULL THEN 1 ELSE 0 END, s.channel"


def _select(cur: Cursor, sign: str, where: str) -> str:
    """The tally's rows of the clocks ``where`` picks: breaches and running clocks by the
    day they count from, and (``LATE_ENTRY``) clocks met thanks to a late entry by the day
    they were met (``sla_query.late_entries`` counts them by ``met_at`` alone)."""
    return (
        f"SELECT CASE WHEN {SETTLED} THEN 0 ELSE 1 END, {OWNER},"
        f" SUBSTR({counted(cur)}, 1, 10), {sign}COUNT(*) FROM {{sla_clocks}} s"
        f" WHERE {TALLIED}{where} GROUP BY 1, 2, 3, 4, 5, 6 UNION ALL"
        f" SELECT {LATE_ENTRY}, {OWNER}, SUBSTR(s.met_at, 1, 10), {sign}COUNT(*)"
        " FROM {sla_clocks} s WHERE s.recorded_after_due = 1 AND s.met_at IS NOT NULL"
        f"{where} GROUP BY 1, 2, 3, 4, 5, 6"
    )


def refresh(cur: Cursor) -> None:
    """Count the tally afresh from ``sla_clocks`` (after a sharded rebuild's fold)."""
    cur.execute("DELETE FROM {sla_tally}")
    cur.execute(f"INSERT INTO {{sla_tally}} ({KEY}, n) " + _select(cur, "", ""))


def add(cur: Cursor, refs: Sequence[str], sign: int) -> None:
    """Add (``sign`` 1) or take out (−1) the tallied clocks of the cases ``refs`` as they
    stand in ``sla_clocks``: −1 before their rows are deleted, +1 after the new ones are in."""
    if not refs:
        return
    mark = "" if sign > 0 else "-"
    upsert = (
        f"INSERT INTO {{sla_tally}} AS t ({KEY}, n) SELECT_HERE"
        f" ON CONFLICT ({KEY}) DO UPDATE SET n = t.n + excluded.n"
    )
    if cur.postgres:
        select = _select(cur, mark, " AND s.ref = ANY(?)")
        cur.execute(upsert.replace("SELECT_HERE", select), (list(refs), list(refs)))
    else:
        for start in range(0, len(refs), 500):
            chunk = list(refs[start : start + 500])
            marks = ",".join("?" * len(chunk))
            select = _select(cur, mark, f" AND s.ref IN ({marks})")
            cur.execute(upsert.replace("SELECT_HERE", select), chunk * 2)
    if sign < 0:
        return
    cur.execute("DELETE FROM {sla_tally} WHERE n = 0")


def counts_before(cur: Cursor, day: str) -> list[tuple[int, str, str | None, str, int]]:
    """(rank, clock, team, channel, count) of the clocks counted as breached (rank 0),
    overdue (rank 1) or met thanks to a late entry (``LATE_ENTRY``) from before ``day``."""
    rows: list[tuple[Any, ...]] = cur.tuples(
        "SELECT rank, clock, team, unassigned, channel, SUM(n) FROM {sla_tally} WHERE day < ?"
        " GROUP BY rank, clock, team, unassigned, channel",
        [day],
    )
    return [(int(rank), clock, None if unassigned else team, channel, int(n))
            for rank, clock, team, unassigned, channel, n in rows]  # fmt: skip


def plain(condition: str, *indexed: str) -> str:
    """``condition`` with every column of ``s`` but ``indexed`` kept off the indexes (the
    same values, as expressions): SQLite plans without statistics, and would walk the index
    of ``started_at <= T`` (every clock) rather than that of a one-day range."""

    def swap(found: re.Match[str]) -> str:
        column = found.group(1)
        if column in indexed:
            return found.group(0)
        return f"(s.{column} + 0)" if column == "late_seconds" else f"(s.{column} || '')"

    return re.sub(r"\bs\.(\w+)", swap, condition)
