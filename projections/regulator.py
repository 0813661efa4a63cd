"""The regulator's quarterly report (``report regulator``): SQL aggregates over the read models.

Every total is one aggregate query over ``case_state`` and ``sla_clocks`` for the complaints
received in the quarter (Asia/Shanghai days): no case is read into Python, so a quarter of a
100,000-complaint ledger reports in well under a second (docs/performance.md).

As of a moment (``--as-of``) the read models cannot answer: they hold what is recorded now.
Then the quarter's complaints are replayed from the events recorded by that moment, with the
publications recorded by then, into read-model rows of a scratch in-memory SQLite database,
and the same queries run there (``regulator_report_known``). One definition of every figure,
two sources; a test checks that they agree.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from projections.db import Cursor
from projections.queries import day_bounds
from projections.schema import CASES, stamp

if TYPE_CHECKING:
    from ledger.store.root import Ledger

QUARTER = re.compile(r"(\d{4})Q([1-4])")
REPLY_CLOCK = "regulator_reply"
REFERRAL = "regulator_referral"
# The read-model column of the regulator's classification code (JR/T 0169-2018), written by
# the code lists of issue 15 item 2; until it exists every complaint is "unclassified".
CODE_COLUMN = "regulator_cause_code"
# The regulator's business type (业务类别) and business channel (业务办理渠道) a triage or
# closure gave, counted like the cause code (a complaint without one: ``unclassified``).
BUSINESS_COLUMNS = {
    "by_business_type": "regulator_business_type",
    "by_business_channel": "regulator_business_channel",
}
UNCLASSIFIED = "unclassified"


class QuarterInvalid(ValueError):
    """Not a quarter like ``2026Q3``."""


@dataclass(frozen=True)
class Quarter:
    """A calendar quarter; its days are counted in Asia/Shanghai, like the statistics'."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        found = QUARTER.fullmatch(text.strip())
        # Years 1 to 9998: a quarter's days and the day after its last must be dates.
        if found is None or not 1 <= int(found[1]) <= 9998:
            raise QuarterInvalid(f"{text!r} is not a quarter like 2026Q3 (a year, Q, and 1 to 4)")
        return cls(int(found[1]), int(found[2]))

    @property
    def first(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last(self) -> date:
        following = Quarter(self.year + self.number // 4, self.number % 4 + 1).first
        return following - timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


def _status(m: str) -> tuple[str, list[str]]:
    """A clock run's verdict at the moment ``m`` (stored time), in SQL: ``cancelled`` (a
    withdrawal before its deadline), ``breached`` (stopped late), ``overdue`` (running past
    its deadline: breached already), ``met`` (stopped in time) or ``open``."""
    sql = (
        "CASE WHEN s.cancelled = 1 AND s.ended_at <= ? THEN 'cancelled'"
        " WHEN s.late_seconds > 0 AND (s.met_at <= ? OR (s.met_at IS NULL AND s.ended_at <= ?))"
        " THEN 'breached'"
        " WHEN s.met_at <= ? THEN 'met'"
        " WHEN s.due_at < ? THEN 'overdue'"
        " ELSE 'open' END"
    )
    return sql, [m] * 5


def _between(alias: str, quarter: Quarter) -> tuple[str, list[Any]]:
    start, end = day_bounds(quarter.first, quarter.last)
    return f" {alias}.received_at >= ? AND {alias}.received_at < ?", [start, end]


def by_code(
    cur: Cursor, quarter: Quarter, codes: bool, code_column: str = CODE_COLUMN
) -> list[dict[str, Any]]:
    """Complaints per regulator classification code (null: ``unclassified``) of
    ``code_column``. ``codes``: the read model has the code column; without it every
    complaint is unclassified."""
    where, params = _between("c", quarter)
    column = f"COALESCE(c.{code_column}, '{UNCLASSIFIED}')" if codes else f"'{UNCLASSIFIED}'"
    rows = cur.tuples(
        f"SELECT {column} AS code, COUNT(*) FROM {{case_state}} c WHERE{where} GROUP BY 1",
        params,
    )
    return [{"code": code, "count": int(n)} for code, n in sorted(rows)]


def _counts(cur: Cursor, quarter: Quarter, column: str, key: str) -> list[dict[str, Any]]:
    where, params = _between("c", quarter)
    rows = cur.tuples(
        f"SELECT c.{column}, COUNT(*) FROM {{case_state}} c WHERE{where}"
        f" GROUP BY c.{column} ORDER BY c.{column}{cur.binary_order}",
        params,
    )
    return [{key: value, "count": int(n)} for value, n in rows]


def clock_figures(cur: Cursor, quarter: Quarter, as_of: datetime) -> list[dict[str, Any]]:
    """Per clock (every run of it: ``plan`` and ``plan#2`` count as ``plan``), the runs met,
    breached (of which still overdue), open and cancelled as of ``as_of``, and the share met
    of those decided (met + breached)."""
    m = str(stamp(as_of))
    status, status_params = _status(m)
    where, params = _between("s", quarter)
    rows = cur.tuples(
        f"SELECT s.clock, {status} AS verdict, COUNT(*) FROM {{sla_clocks}} s"
        f" WHERE s.started_at <= ? AND{where} GROUP BY s.clock, verdict",
        [*status_params, m, *params],
    )
    found: dict[str, dict[str, int]] = {}
    for clock, verdict, n in rows:
        name = str(clock).split("#")[0]
        counts = found.setdefault(name, dict.fromkeys(VERDICTS, 0))
        counts[verdict] += int(n)
    figures = []
    for name in sorted(found, key=_clock_order):
        c = found[name]
        breached = c["breached"] + c["overdue"]
        decided = c["met"] + breached
        figures.append(
            {"clock": name, "met": c["met"], "breached": breached, "overdue": c["overdue"],
             "open": c["open"], "cancelled": c["cancelled"],
             "share_met": None if decided == 0 else round(c["met"] / decided, 4)}
        )  # fmt: skip
    return figures


VERDICTS = ("met", "breached", "overdue", "open", "cancelled")


def _clock_order(name: str) -> tuple[int, str]:
    from ledger.domain.runs import CLOCK_ORDER, INTAKE_RECORD

    order = [INTAKE_RECORD, *map(str, CLOCK_ORDER)]
    return (order.index(name) if name in order else len(order), name)


def handling_time(cur: Cursor, quarter: Quarter, as_of: datetime) -> dict[str, Any]:
    """Hours from receipt to the first closure, of the complaints closed by ``as_of``: how
    many, the mean, and the 90th percentile (nearest rank: the smallest time that at least
    90% of them took no longer than), each found by the database."""
    where, params = _between("c", quarter)
    closed = (
        f" FROM {{case_state}} c WHERE{where} AND c.handling_seconds IS NOT NULL"
        " AND c.closed_at IS NOT NULL AND c.closed_at <= ?"
    )
    params = [*params, str(stamp(as_of))]
    n, total = cur.tuples(f"SELECT COUNT(*), SUM(c.handling_seconds){closed}", params)[0]
    n = int(n)
    if n == 0:
        return {"unit": "hours", "closed": 0, "mean": None, "p90": None}
    rank = -(-9 * n // 10)  # ceil(0.9 n), in integers
    p90 = cur.tuples(
        f"SELECT c.handling_seconds{closed} ORDER BY c.handling_seconds LIMIT 1 OFFSET ?",
        [*params, rank - 1],
    )[0][0]
    return {
        "unit": "hours",
        "closed": n,
        "mean": round(int(total) / n / 3600, 2),
        "p90": round(int(p90) / 3600, 2),
    }


def referral_figures(cur: Cursor, quarter: Quarter, as_of: datetime) -> dict[str, int]:
    """The quarter's regulator referrals and the company's replies as of ``as_of``: replied
    (on time or late), overdue (no reply, past the regulator-reply deadline: still running,
    or withdrawn after it, whose clock is breached without a reply), awaiting (no reply, not
    yet due) and cancelled (withdrawn before the deadline)."""
    m = str(stamp(as_of))
    status, status_params = _status(m)
    where, params = _between("c", quarter)
    referred = cur.tuples(
        f"SELECT COUNT(*) FROM {{case_state}} c WHERE{where} AND c.channel = ?",
        [*params, REFERRAL],
    )[0][0]
    where, params = _between("s", quarter)
    rows = cur.tuples(
        f"SELECT {status} AS verdict,"
        " CASE WHEN s.met_at IS NOT NULL AND s.met_at <= ? THEN 1 ELSE 0 END AS replied,"
        f" COUNT(*) FROM {{sla_clocks}} s"
        f" WHERE s.clock = ? AND{where} GROUP BY 1, 2",
        [*status_params, m, REPLY_CLOCK, *params],
    )
    counts = dict.fromkeys(VERDICTS, 0)
    unreplied = 0  # breached without a reply: withdrawn after the deadline
    for verdict, replied, n in rows:
        counts[verdict] += int(n)
        if verdict == "breached" and not int(replied):
            unreplied += int(n)
    return {
        "referred": int(referred),
        "replied": counts["met"] + counts["breached"] - unreplied,
        "replied_on_time": counts["met"],
        "replied_late": counts["breached"] - unreplied,
        "overdue": counts["overdue"] + unreplied,
        "awaiting": counts["open"],
        "cancelled": counts["cancelled"],
    }


def regulator_report(cur: Cursor, quarter: Quarter, as_of: datetime) -> dict[str, Any]:
    """Every figure of the report, from the read models ``cur`` reads."""
    from projections.cases import CASE_COLUMNS

    codes = CODE_COLUMN in CASE_COLUMNS
    where, params = _between("c", quarter)
    received = cur.tuples(f"SELECT COUNT(*) FROM {{case_state}} c WHERE{where}", params)[0][0]
    clocks = clock_figures(cur, quarter, as_of)
    return {
        "quarter": str(quarter),
        "from": quarter.first.isoformat(),
        "to": quarter.last.isoformat(),
        "timezone": "Asia/Shanghai",
        "as_of": as_of.isoformat(),
        "received": int(received),
        "by_code": by_code(cur, quarter, codes),
        **{
            key: by_code(cur, quarter, column in CASE_COLUMNS, column)
            for key, column in BUSINESS_COLUMNS.items()
        },
        "by_channel": _counts(cur, quarter, "channel", "channel"),
        "by_outcome": _counts(cur, quarter, "status", "outcome"),
        "clocks": clocks,
        "handling_time": handling_time(cur, quarter, as_of),
        "referrals": referral_figures(cur, quarter, as_of),
    }


# ------------------------------------------------------------ as of a moment, from the log


def regulator_report_known(
    ledger: Ledger, refs: Sequence[str], quarter: Quarter, as_of: datetime
) -> dict[str, Any]:
    """The report as the ledger knew it at ``as_of``: the complaints ``refs`` (a superset of
    the quarter's) replayed from the events recorded by then, with the publications recorded
    by then, into a scratch database of the read models' tables; then the same queries."""
    from ledger.store.books import load_rulebook
    from ledger.store.codelists import load_code_lists
    from projections.casefold import fold_case, new_state
    from projections.cases import CASE_COLUMNS, CLOCK_COLUMNS, Rules, case_row, clock_rows

    # Every code list: a case names the version its codes were checked against, published
    # before them, so a case known by then maps by a list known by then.
    rules = Rules(load_rulebook(ledger).known_at(as_of), load_code_lists(ledger))
    start, end = day_bounds(quarter.first, quarter.last)
    cases, clocks = [], []
    for events in _streams(ledger, refs):
        known = [e for e in events if e.timestamp <= as_of]
        if not known:
            continue
        state = new_state()
        for event in known:
            fold_case(state, event)
        received = str(stamp(datetime.fromisoformat(state["received_at"])))
        if not (str(start) <= received < str(end)):
            continue
        cases.append(case_row(state, rules))
        clocks += clock_rows(state, rules)
    with _scratch() as cur:
        cur.insert("case_state", CASE_COLUMNS, cases)
        cur.insert("sla_clocks", CLOCK_COLUMNS, clocks)
        return regulator_report(cur, quarter, as_of)


def _streams(ledger: Ledger, refs: Sequence[str], chunk: int = 500) -> Iterator[list[Any]]:
    from ledger.domain.values import reference_id

    for offset in range(0, len(refs), chunk):
        ids = [reference_id(r) for r in refs[offset : offset + chunk]]
        streams = ledger.ledger_recorder.select_streams(ids)
        for stream in ids:
            yield [ledger.mapper.to_domain_event(s) for s in streams.get(stream, [])]


class _Raw:
    """A plain sqlite3 cursor as ``projections.db.Cursor`` expects the library's."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.sqlite_cursor = cursor

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self.sqlite_cursor.execute(statement, params)

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        self.sqlite_cursor.executemany(statement, rows)

    def fetchall(self) -> list[sqlite3.Row]:
        return self.sqlite_cursor.fetchall()

    def fetchone(self) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.sqlite_cursor.fetchone()
        return row


class _Scratch:
    def __enter__(self) -> Cursor:
        self.connection = sqlite3.connect(":memory:")
        self.connection.row_factory = sqlite3.Row
        raw = self.connection.cursor()
        names = {table: table for table in CASES}
        for table in ("case_state", "sla_clocks"):
            raw.execute(CASES[table].format(**names))
        return Cursor(_Raw(raw), postgres=False, names=names)

    def __exit__(self, *exc: object) -> None:
        self.connection.close()


def _scratch() -> _Scratch:
    return _Scratch()


def quarter_refs(cur: Cursor, quarter: Quarter) -> list[str]:
    """The references the read models have for the quarter: the complaints to replay."""
    where, params = _between("c", quarter)
    return [
        row[0] for row in cur.tuples(f"SELECT c.ref FROM {{case_state}} c WHERE{where}", params)
    ]
