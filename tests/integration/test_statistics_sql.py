"""The statistics worked out by one SQL aggregate equal, to the bit, those of the refresh in
Python that came before it (kept here, as it was, to compare with), on both backends."""

from __future__ import annotations

import math
import random
import statistics as stats
import struct
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledger.store.root import open_ledger
from projections import statistics
from projections.runner import Runner
from projections.schema import CLOCKS
from tests.helpers import run

GROUP_SQL = "c.month, c.channel, c.category, COALESCE(c.severity, 'untriaged')"


def python_statistics(url: str) -> list[tuple[Any, ...]]:
    """Every group's row as the earlier refresh in Python worked it out."""
    with open_ledger(url) as ledger, Runner(ledger).transaction(commit=False) as cur:
        cases: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for row in cur.execute(
            "SELECT c.ref, c.status, c.escalated, c.reopened_count, c.remedies, c.refund_total,"
            " c.satisfaction, c.handling_seconds, c.month, c.channel, c.category,"
            " COALESCE(c.severity, 'untriaged') AS sev FROM {case_state} c"
        ).fetchall():
            cases.setdefault(
                (row["month"], row["channel"], row["category"], row["sev"]), []
            ).append(row)
        late: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for row in cur.execute(
            "SELECT c.month, c.channel, c.category, COALESCE(c.severity, 'untriaged') AS sev,"
            " s.ref, s.clock"
            " FROM {sla_clocks} s JOIN {case_state} c ON c.ref = s.ref"
            " WHERE s.met_at IS NOT NULL AND s.met_at > s.due_at"
        ).fetchall():
            key = (row["month"], row["channel"], row["category"], row["sev"])
            late.setdefault(key, []).append(row)
    return sorted(_group_row(g, cases[g], late.get(g, [])) for g in cases)


def _group_row(
    group: tuple[Any, ...], cases: list[dict[str, Any]], late: list[dict[str, Any]]
) -> tuple[Any, ...]:
    """The Python refresh's row of one group (projections/statistics.py before the SQL)."""
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


def sql_statistics(url: str, refresh: bool = False) -> list[tuple[Any, ...]]:
    with open_ledger(url) as ledger:
        runner = Runner(ledger)
        if refresh:  # every group worked out afresh, as a rebuild does
            with runner.transaction() as cur:
                cur.execute("DELETE FROM {statistics}")
                cur.execute(f"INSERT INTO {{statistics_dirty}} SELECT DISTINCT {GROUP_SQL} "
                            "FROM {case_state} c")  # fmt: skip
                statistics.refresh(cur)
        with runner.transaction(commit=False) as cur:
            rows = cur.execute(f"SELECT {', '.join(statistics.COLUMNS)} FROM {{statistics}}")
            return sorted(tuple(r.values()) for r in rows.fetchall())


def bits(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Floats by their bits: 0.1 and 0.1000000000000001 differ here."""
    return tuple(struct.pack("<d", v) if isinstance(v, float) else v for v in row)


def test_sql_statistics_of_a_random_ledger_equal_the_python_refresh(
    ledger_url: str, tmp_path: Path
) -> None:
    seed = random.randrange(1_000_000)
    generated = run(ledger_url, "generate", "--complaints", "300", "--seed", str(seed),
                    "--cause-codes", "--improvements", "--regulator-replies")  # fmt: skip
    path = tmp_path / "load.jsonl"
    path.write_text(generated.stdout, encoding="utf-8")
    assert run(ledger_url, "apply", "--bulk", str(path)).exit_code == 0
    assert run(ledger_url, "projections", "run").exit_code == 0

    incremental = sql_statistics(ledger_url)
    expected = python_statistics(ledger_url)

    assert len(expected) > 20, seed
    assert [bits(r) for r in incremental] == [bits(r) for r in expected], seed
    assert [bits(r) for r in sql_statistics(ledger_url, refresh=True)] == [
        bits(r) for r in expected
    ], seed


def test_sql_statistics_of_random_case_rows_equal_the_python_refresh(ledger_url: str) -> None:
    """Case rows made up at random, with what a generated ledger rarely has: amounts of
    several scales, remedies lists, medians and means on a tie of the third decimal."""
    from projections.cases import CASE_COLUMNS, CLOCK_COLUMNS

    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    with open_ledger(ledger_url) as ledger:
        runner = Runner(ledger)
        runner.ensure()
        cases, clocks = [], []
        for n in range(600):
            ref = f"R{n:04d}"
            amount = rng.choice(["0", "0", "12.5", "100", "1.000", "3.25", "20.10", "7.00"])
            row = dict.fromkeys(CASE_COLUMNS)
            row.update(
                ref=ref, status=rng.choice(["open", "closed", "closed", "withdrawn"]),
                stage="x", channel=rng.choice(["phone", "web"]), category="c1",
                severity=rng.choice([None, "normal", "urgent"]),
                received_at="2026-01-01T00:00:00.000000+00:00",
                month=rng.choice(["2026-01", "2026-02"]),
                last_activity_at="2026-01-01T00:00:00.000000+00:00",
                escalated=rng.choice([0, 1]), reopened_count=rng.choice([0, 0, 2]),
                remedies=rng.choice(["", "refund", "apology,refund", "refund,refund,apology"]),
                refund_total=amount, satisfaction=rng.choice([None, 1, 2, 3, 4, 5]),
                policy_version="p", version=1,
                handling_seconds=rng.choice([None, 225, 9, 3600, rng.randrange(10**6)]),
            )  # fmt: skip
            cases.append(tuple(row[c] for c in CASE_COLUMNS))
            for clock in rng.sample([*CLOCKS, "summary#2", "intake#1", "improvement:1"], 3):
                late = rng.random() < 0.5
                clock_row = dict.fromkeys(CLOCK_COLUMNS)
                clock_row.update(
                    ref=ref, clock=clock, started_at="2026-01-01", due_at="2026-01-05",
                    risk_at="2026-01-04", met_at=rng.choice([None, "2026-01-06" if late else
                                                             "2026-01-03"]),
                    cancelled=0, estimated=0, received_at="2026-01-01", channel="phone",
                    recorded_after_due=0,
                )  # fmt: skip
                clocks.append(tuple(clock_row[c] for c in CLOCK_COLUMNS))
        with runner.transaction() as cur:
            cur.insert("case_state", CASE_COLUMNS, cases)
            cur.insert("sla_clocks", CLOCK_COLUMNS, clocks)

    expected = python_statistics(ledger_url)

    assert [bits(r) for r in sql_statistics(ledger_url, refresh=True)] == [
        bits(r) for r in expected
    ], seed
    assert any(len(r[-3].partition(".")[2]) == 3 for r in expected), seed  # "1.000" counted


def _doubles(rng: random.Random) -> list[float]:
    """Doubles near the ties of the third decimal, and others."""
    found = [0.0625, 0.0115, 0.0005, 0.0015, 2.5e-4, 1.0625, 3.0, 1e-300, 5e-324, 123456.7895]
    found += [math.nextafter(v, d) for v in found for d in (0.0, 1e9)]
    found += [s / 3600 for s in range(0, 20000, 9)]
    found += [(a / 3600 + (a + d) / 3600) / 2 for a in range(0, 9000, 7) for d in (5, 13)]
    found += [s / n for n in range(1, 40) for s in range(n, 5 * n + 1)]
    found += [rng.uniform(0, 10_000) for _ in range(2000)] + [
        rng.random() / 1000 for _ in range(500)
    ]
    return found + [-v for v in found[:200]]


def test_the_rounding_of_either_backend_is_pythons_round_to_three_decimals(
    ledger_url: str,
) -> None:
    values = _doubles(random.Random(7))
    with open_ledger(ledger_url) as ledger, Runner(ledger).transaction(commit=False) as cur:
        if cur.postgres:
            cur.execute(statistics.PG_ROUND3)
            name = "pg_temp.ledger_round3"
        else:
            conn = cur.raw.sqlite_cursor.connection
            conn.create_function("ledger_round3", 1, statistics._round3, deterministic=True)
            name = "ledger_round3"
        rounded = [
            cur.execute(f"SELECT {name}(CAST(? AS DOUBLE PRECISION)) AS r", (v,)).fetchone()
            for v in values
        ]

    wrong = [
        (v, r["r"], round(v, 3))
        for v, r in zip(values, rounded, strict=True)
        if r is None or struct.pack("<d", r["r"]) != struct.pack("<d", round(v, 3))
    ]
    assert wrong == []


def test_a_refresh_with_nothing_marked_changes_nothing(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        runner = Runner(ledger)
        runner.ensure()
        with runner.transaction() as cur:
            assert statistics.refresh(cur) == 0
    assert sql_statistics(ledger_url) == []
