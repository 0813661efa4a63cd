"""Read model ``statistics``: per month × channel × category × severity.

Derived from ``case_state`` and ``sla_clocks``: the case projection marks the groups it
changed in ``statistics_dirty`` (in the same transaction), and ``refresh`` works out those
groups again and clears the marks in one transaction, so a crash in between only means the
work is done on the next run. Only facts that do not depend on the moment of reading are
counted: a breach is a clock completed late (open overdue clocks are in the SLA report).

The groups are worked out by the database, with one aggregate query over the folded tables
(no case row comes into Python, so a rebuild's refresh of every group takes seconds and
flat memory). Its figures are those the earlier refresh in Python gave, to the bit:
``tests/integration/test_statistics_sql.py`` keeps that refresh to compare with.
"""

from __future__ import annotations

from projections.db import Cursor
from projections.schema import CLOCKS

COLUMNS = (
    "month", "channel", "category", "severity", "received", "closed", "closed_on_time",
    "withdrawn", "escalated", "reopened", *(f"breached_{c}" for c in CLOCKS),
    "median_handling_hours", "remedies", "refunds", "refund_total", "mean_satisfaction",
    "satisfaction_count",
)  # fmt: skip
GROUP = ("month", "channel", "category", "severity")
MARKED = "pg_temp.statistics_marked"  # PostgreSQL: the marks this refresh took

# Python's ``round(x, 3)`` of a double: half to even on the double's exact value (0.0625 is
# 0.062; 0.0115, just below in binary, is 0.011). PostgreSQL's round() goes half away from
# zero on a decimal copy of 15 digits, so the exact value is taken from the double's bits:
# x = m / 2**k, and m * 1000 / 2**k is rounded in integers. Below 2**-10 (k > 62) the answer
# is 0 or 0.001, and 0.0005 is not a double: the nearest one lies above it.
PG_ROUND3 = f"""CREATE OR REPLACE FUNCTION pg_temp.ledger_round3(x DOUBLE PRECISION)
RETURNS DOUBLE PRECISION LANGUAGE sql IMMUTABLE STRICT AS $$
SELECT CASE
  WHEN k <= 0 OR x = 0 THEN x
  WHEN k > 62 THEN sign(x) * (CASE WHEN abs(x) >= 0.0005::float8 THEN 0.001 ELSE 0 END)
  ELSE sign(x) * ((m * 1000 / (1::bigint << k)
    + CASE WHEN 2 * mod(m * 1000, 1::bigint << k) > (1::bigint << k)
             OR (2 * mod(m * 1000, 1::bigint << k) = (1::bigint << k)
                 AND mod(m * 1000 / (1::bigint << k), 2) = 1) THEN 1 ELSE 0 END
    )::numeric / 1000)::float8
  END
FROM (SELECT CASE WHEN e = 0 THEN f ELSE f | {1 << 52} END AS m,
             CAST(CASE WHEN e = 0 THEN 1074 ELSE 1075 - e END AS INTEGER) AS k
      FROM (SELECT (bits >> 52) & 2047 AS e, bits & {(1 << 52) - 1} AS f
            FROM (SELECT ('x' || encode(float8send(x), 'hex'))::bit(64)::bigint AS bits) b) p) q
$$"""


def _round3(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def refresh(cur: Cursor) -> int:
    """Work out every marked group again, in the database; returns how many.

    Refreshes take turns (on SQLite the write lock does it). Two at once could both work out
    a group whose mark a runner set again between them, and the second to write it would
    either fail on the table's key or replace the newer figures with older ones.

    The marks are taken (deleted) before the cases are read: a runner that marks a group
    meanwhile waits for this transaction and then marks it afresh, and a group marked after
    the marks were taken keeps its mark, so no change is left both uncounted and unmarked.
    """
    keys = ", ".join(GROUP)
    if cur.postgres:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('{statistics}'))")
        marked, round3 = _pg_marked(
            cur, f"WITH taken AS (DELETE FROM {{statistics_dirty}} RETURNING {keys}) "
            f"INSERT INTO {MARKED} SELECT {keys} FROM taken"
        )  # fmt: skip
    else:  # the write lock is held from the transaction's start: nobody marks meanwhile
        _sqlite_round3(cur)
        marked, round3 = "{statistics_dirty}", "ledger_round3"
    count = cur.execute(f"SELECT COUNT(*) AS n FROM {marked}").fetchone()
    groups = 0 if count is None else int(count["n"])
    if groups:
        _work_out(cur, marked, round3)
    if not cur.postgres:
        cur.execute("DELETE FROM {statistics_dirty}")
    return groups


def work_out_all(cur: Cursor) -> None:
    """Every group's figures, from the cases as they stand, into an empty ``{statistics}``
    (a rebuild's staged one), without marks: what refreshing every group after the swap
    would write, worked out before it instead."""
    groups = "SELECT DISTINCT month, channel, category, COALESCE(severity, 'untriaged') " \
             "FROM {case_state}"  # fmt: skip
    if cur.postgres:
        marked, round3 = _pg_marked(cur, f"INSERT INTO {MARKED} {groups}")
    else:
        _sqlite_round3(cur)
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS statistics_groups (month TEXT, "
                    "channel TEXT, category TEXT, severity TEXT)")  # fmt: skip
        cur.execute("DELETE FROM temp.statistics_groups")
        cur.execute(f"INSERT INTO temp.statistics_groups {groups}")
        marked, round3 = "temp.statistics_groups", "ledger_round3"
    _work_out(cur, marked, round3)


def _pg_marked(cur: Cursor, mark: str) -> tuple[str, str]:
    """PostgreSQL: the groups ``mark`` puts in this transaction's table of marks; that
    table's name and the rounding function's."""
    cur.execute(PG_ROUND3)
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS statistics_marked (month TEXT, channel "
                "TEXT, category TEXT, severity TEXT) ON COMMIT DELETE ROWS")  # fmt: skip
    cur.execute(mark)
    cur.execute(f"ANALYZE {MARKED}")  # how many: the planner's guess of a temp table is blind
    return MARKED, "pg_temp.ledger_round3"


def _sqlite_round3(cur: Cursor) -> None:
    cur._sqlite.connection.create_function("ledger_round3", 1, _round3, deterministic=True)


def _work_out(cur: Cursor, marked: str, round3: str) -> None:
    """Replace the statistics of the groups in ``marked`` with figures from their cases."""
    keys = ", ".join(GROUP)
    cur.execute(f"DELETE FROM {{statistics}} WHERE ({keys}) IN (SELECT {keys} FROM {marked})")
    columns = ", ".join(COLUMNS)
    cur.execute(f"INSERT INTO {{statistics}} ({columns}) {_aggregate(cur, marked, round3)}")


def _aggregate(cur: Cursor, marked: str, round3: str) -> str:
    """One query: a row of ``COLUMNS`` per marked group that has cases.

    The marked groups' cases are read once (by the index on month, channel and category);
    the counts, the late clocks and the median are each worked out per group, and only
    groups are joined, a few thousand rows at most: however wrong the planner's guess of
    the cases' number (a table just rebuilt has no statistics of its own), no join of cases
    against cases can be chosen."""
    keys = ", ".join(GROUP)

    def on(a: str, b: str) -> str:
        return " AND ".join(f"{a}.{k} = {b}.{k}" for k in GROUP)

    position = "strpos(s.clock, '#')" if cur.postgres else "instr(s.clock, '#')"
    prefix = f"CASE WHEN {position} > 0 THEN substr(s.clock, 1, {position} - 1) ELSE s.clock END"
    breached = ", ".join(
        f"SUM(CASE WHEN l.prefix = '{c}' THEN 1 ELSE 0 END) AS breached_{c}" for c in CLOCKS
    )
    hours = "CAST(h.handling_seconds AS DOUBLE PRECISION) / 3600"
    refund_total = (
        "CAST(SUM(CAST(c.refund_total AS NUMERIC)) AS TEXT)"
        if cur.postgres
        else _SQLITE_REFUND_TOTAL
    )
    remedies = ("CASE WHEN c.remedies = '' THEN 0 ELSE "
                "length(c.remedies) - length(replace(c.remedies, ',', '')) + 1 END")  # fmt: skip
    refunds_text = "(',' || replace(c.remedies, ',', ',,') || ',')"
    refunds = f"(length({refunds_text}) - length(replace({refunds_text}, ',refund,', ''))) / 8"
    return f"""
WITH cases AS MATERIALIZED (
  SELECT c.ref, c.status, c.escalated, c.reopened_count, c.remedies, c.refund_total,
         c.satisfaction, c.handling_seconds, m.month, m.channel, m.category, m.severity
  FROM {marked} m JOIN {{case_state}} c
    ON c.month = m.month AND c.channel = m.channel AND c.category = m.category
   AND COALESCE(c.severity, 'untriaged') = m.severity
),
late AS (
  SELECT c.month, c.channel, c.category, c.severity, c.ref, c.status, {prefix} AS prefix
  FROM cases c JOIN {{sla_clocks}} s ON s.ref = c.ref
  WHERE s.met_at IS NOT NULL AND s.met_at > s.due_at
),
late_groups AS MATERIALIZED (
  SELECT {keys}, {breached},
         COUNT(DISTINCT CASE WHEN l.prefix = 'summary' AND l.status = 'closed'
                             THEN l.ref END) AS closed_late
  FROM late l GROUP BY {keys}
),
ranked AS (
  SELECT {keys}, h.handling_seconds,
         ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY h.handling_seconds) AS n,
         COUNT(*) OVER (PARTITION BY {keys}) AS total
  FROM cases h WHERE h.handling_seconds IS NOT NULL
),
medians AS MATERIALIZED (
  SELECT {keys},
         CASE WHEN MAX(h.total) - 2 * (MAX(h.total) / 2) = 1
              THEN MAX(CASE WHEN 2 * h.n = h.total + 1 THEN {hours} END)
              ELSE (MAX(CASE WHEN 2 * h.n = h.total THEN {hours} END)
                    + MAX(CASE WHEN 2 * h.n = h.total + 2 THEN {hours} END)) / 2
         END AS median
  FROM ranked h WHERE 2 * h.n BETWEEN h.total AND h.total + 2
  GROUP BY {keys}
),
totals AS MATERIALIZED (
  SELECT {keys}, COUNT(*) AS received,
    SUM(CASE WHEN c.status = 'closed' THEN 1 ELSE 0 END) AS closed,
    SUM(CASE WHEN c.status = 'withdrawn' THEN 1 ELSE 0 END) AS withdrawn,
    SUM(CASE WHEN c.escalated <> 0 THEN 1 ELSE 0 END) AS escalated,
    SUM(CASE WHEN c.reopened_count <> 0 THEN 1 ELSE 0 END) AS reopened,
    SUM({remedies}) AS remedies, SUM({refunds}) AS refunds, {refund_total} AS refund_total,
    CAST(SUM(c.satisfaction) AS DOUBLE PRECISION) / NULLIF(COUNT(c.satisfaction), 0) AS mean,
    COUNT(c.satisfaction) AS scored
  FROM cases c GROUP BY {keys}
)
SELECT {", ".join(f"t.{k}" for k in GROUP)}, t.received, t.closed,
  t.closed - COALESCE(l.closed_late, 0), t.withdrawn, t.escalated, t.reopened,
  {", ".join(f"COALESCE(l.breached_{c}, 0)" for c in CLOCKS)},
  {round3}(md.median), t.remedies, t.refunds, t.refund_total, {round3}(t.mean), t.scored
FROM totals t LEFT JOIN late_groups l ON {on("l", "t")}
LEFT JOIN medians md ON {on("md", "t")}
"""


# SQLite has no decimal type: the refunds are added in cents (an amount has at most two
# decimal places, ``commands.fields.Money``, however many zeros follow them), and written with
# as many decimals as the longest amount of the group has, as Python's Decimal sum does.
_SQLITE_REFUND_TOTAL = """(
  CAST(SUM(
    CAST(CASE WHEN instr(c.refund_total, '.') > 0
              THEN substr(c.refund_total, 1, instr(c.refund_total, '.') - 1)
              ELSE c.refund_total END AS INTEGER) * 100
    + CASE WHEN instr(c.refund_total, '.') > 0
           THEN CAST(substr(substr(c.refund_total, instr(c.refund_total, '.') + 1) || '00', 1, 2)
                     AS INTEGER)
           ELSE 0 END
  ) / 100 AS TEXT)
  || CASE WHEN MAX(CASE WHEN instr(c.refund_total, '.') > 0
                        THEN length(c.refund_total) - instr(c.refund_total, '.') ELSE 0 END) = 0
          THEN ''
          ELSE '.' || substr(
            printf('%02d', SUM(
              CAST(CASE WHEN instr(c.refund_total, '.') > 0
                        THEN substr(c.refund_total, 1, instr(c.refund_total, '.') - 1)
                        ELSE c.refund_total END AS INTEGER) * 100
              + CASE WHEN instr(c.refund_total, '.') > 0
                     THEN CAST(substr(substr(c.refund_total, instr(c.refund_total, '.') + 1)
                                      || '00', 1, 2) AS INTEGER)
                     ELSE 0 END) % 100) || '000000000000000000000000000000',
            1, MAX(CASE WHEN instr(c.refund_total, '.') > 0
                        THEN length(c.refund_total) - instr(c.refund_total, '.') ELSE 0 END))
     END
)"""
