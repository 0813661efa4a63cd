"""Projection speed: our rebuild against the library's per-event ProjectionRunner and the raw
read rate of the event table, side by side in one run, on PostgreSQL and SQLite.

    python -m bench.projections --sizes 100000 1000000 --runs 3

For each backend and size it fills a fresh ledger (a schema of its own, or a new file) with
synthetic complaints, then prints the medians of ``--runs`` runs: events/s of reading the
event table (plain SQL, no decoding), of rebuilding every read model (in a subprocess, with
its peak RSS), of the library's ProjectionRunner with a one-event-per-transaction projection
(PostgreSQL only: the library's SQLite recorder has no subscription; capped at
``--baseline-seconds``, its rate is what it reached), and the time of ``report sla``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.common import drop, fill, fresh_url, in_subprocess, peak_rss_mb
from commands.cli.output import to_json
from ledger.store.root import open_ledger, persistence_env
from projections.runner import Runner
from projections.sla_query import sla_report_at

SCRIPT = str(Path(sys.executable).with_name("complaint-ledger"))


def raw_read(url: str) -> float:
    """Seconds to read every stored event in log order, without decoding (batches of 5000)."""
    env = persistence_env(url)
    with open_ledger(url) as ledger:
        name = ledger.recorder.events_table_name  # type: ignore[attr-defined]
    started = time.perf_counter()
    if url.startswith("sqlite"):
        conn = sqlite3.connect(env["SQLITE_DBNAME"])
        last, rows = 0, 1
        while rows:
            batch = conn.execute(
                f"SELECT rowid, * FROM {name} WHERE rowid > ? ORDER BY rowid "
                "LIMIT 5000", (last,)
            ).fetchall()  # fmt: skip
            rows = len(batch)
            last = batch[-1][0] if batch else last
        conn.close()
    else:
        table = f'"{env["POSTGRES_SCHEMA"]}"."{name}"'
        with psycopg.connect(url.split("?")[0]) as conn, conn.cursor() as cur:
            last, rows = 0, 1
            while rows:
                cur.execute(f"SELECT * FROM {table} WHERE notification_id > %s "
                            "ORDER BY notification_id LIMIT 5000", (last,))  # fmt: skip
                batch = cur.fetchall()
                rows = len(batch)
                last = batch[-1][4] if batch else last
    return time.perf_counter() - started


def child_rebuild(url: str) -> None:
    with open_ledger(url) as ledger:
        started = time.perf_counter()
        applied = Runner(ledger, url=url).rebuild(("cases", "audit_trail", "statistics"))
        elapsed = time.perf_counter() - started
    print(json.dumps({"events": applied, "seconds": elapsed, "peak_rss_mb": peak_rss_mb()}))


def report_times(url: str, runs: int) -> dict[str, float]:
    """Medians of the SLA report as of now: in-process (``sla_report_at``),
    the same plus its JSON as the command writes it, and the whole ``report sla --format
    json`` command in a new process (start-up and writing the output included)."""
    as_of = datetime.now(UTC)
    with open_ledger(url) as ledger:
        runner = Runner(ledger)
        runner.catch_up_all()
        query, with_json, items = [], [], 0
        for _ in range(runs):
            started = time.perf_counter()
            report = sla_report_at(runner, as_of)
            query.append(time.perf_counter() - started)
            to_json(report)
            with_json.append(time.perf_counter() - started)
            items = len(report["items"])
        with runner.transaction() as cur:
            row = cur.execute("SELECT COUNT(*) AS n FROM {case_state}").fetchone()
        complaints = 0 if row is None else int(row["n"])
    cli = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([SCRIPT, "report", "sla", "--format", "json", "--as-of", as_of.isoformat(),
                        "--db", url], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        cli.append(time.perf_counter() - started)
    return {
        "complaints": complaints,
        "report_sla_items": items,
        "report_sla_query_s": statistics.median(query),
        "report_sla_query_json_s": statistics.median(with_json),
        "report_sla_cli_s": statistics.median(cli),
    }


def bench(
    backend: str, size: int, runs: int, baseline_seconds: float, workdir: Path
) -> dict[str, object]:
    url = fresh_url(backend, f"p{size}", workdir)
    try:
        events, fill_seconds = fill(url, size)
        reads = sorted(raw_read(url) for _ in range(runs))
        rebuilds = [in_subprocess("bench.projections", "--child-rebuild", url) for _ in range(runs)]
        rebuild_seconds = statistics.median(r["seconds"] for r in rebuilds)
        result: dict[str, object] = {
            "backend": backend,
            "events": events,
            "fill_events_per_s": events / fill_seconds,
            "raw_read_events_per_s": events / statistics.median(reads),
            "rebuild_events_per_s": events / rebuild_seconds,
            "rebuild_peak_rss_mb": max(r["peak_rss_mb"] for r in rebuilds),
            "rebuild_runs_s": [round(r["seconds"], 2) for r in rebuilds],
        }
        if backend == "postgres":
            base = in_subprocess("bench.baseline", url, str(baseline_seconds))
            result["baseline_events_per_s"] = base["events"] / base["seconds"]
            result["baseline_peak_rss_mb"] = base["peak_rss_mb"]
        result.update(report_times(url, runs))
        return result
    finally:
        drop(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--backends", nargs="+", default=["postgres", "sqlite"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-seconds", type=float, default=60)
    parser.add_argument("--child-rebuild", metavar="URL")
    parser.add_argument("--report-only", metavar="URL", help="Time only the SLA report of URL.")
    args = parser.parse_args()
    if args.report_only:
        print(json.dumps(report_times(args.report_only, args.runs)))
        return
    if args.child_rebuild:
        child_rebuild(args.child_rebuild)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            for backend in args.backends:
                r = bench(backend, size, args.runs, args.baseline_seconds, Path(tmp))
                print(json.dumps(r))
                base = r.get("baseline_events_per_s")
                rate, raw = r["rebuild_events_per_s"], r["raw_read_events_per_s"]
                assert isinstance(rate, float)
                assert isinstance(raw, float)
                versus = f", {rate / base:.1f}x library runner {base:,.0f}/s)" if base else ")"
                print(
                    f"{backend:8} {r['events']:>9,} events, {r['complaints']:,} complaints"
                    f" | raw read {raw:>9,.0f}/s"
                    f" | rebuild {rate:>7,.0f}/s ({rate / raw:.2f} of raw read{versus}"
                    f" | rebuild peak RSS {r['rebuild_peak_rss_mb']:.0f} MB"
                    f" | report sla ({r['report_sla_items']:,} items)"
                    f" {r['report_sla_query_s']:.3f}s query,"
                    f" {r['report_sla_query_json_s']:.3f}s with JSON,"
                    f" {r['report_sla_cli_s']:.2f}s CLI",
                    flush=True,
                )


if __name__ == "__main__":
    main()
