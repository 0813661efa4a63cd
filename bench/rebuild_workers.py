"""Sharded rebuild: ``projections rebuild --workers N`` for N = 1 and 2 (or others), side by
side in one run, on PostgreSQL and SQLite, beside the library's ProjectionRunner.

    python -m bench.rebuild_workers --events 150000 --runs 3

For each backend it fills a fresh ledger (PostgreSQL schema ``i17rebuild``, or a new SQLite
file) with about ``--events`` synthetic events, then rebuilds every read model ``--runs``
times per worker count, the counts alternating (1, 2, 1, 2, …) so that a change in the
machine's load falls on both. Each rebuild runs in a new process (as the command does);
it prints the medians: events/s of the whole rebuild (fold, merge, catch-up, swap and
statistics), the workers' own fold time, each worker's peak RSS and the parent's, and the
load average before and after. On PostgreSQL the library's ProjectionRunner (one event per
transaction, ``bench/baseline.py``) runs for ``--baseline-seconds``; its rate is what it reached.
With ``--url`` it rebuilds an existing ledger instead (a copy of one: each rebuild replaces
its read models; run ``projections run`` on it once first), and ``--baseline-url`` names the
PostgreSQL ledger the library's runner reads when that one is SQLite. Each rebuild's line is
printed as it ends, with the 1-minute load average before and after it, and its steps
(``phases``: the parent's; ``worker_phases``: each worker's reading, decoding, folding and
writing). Peak RSS is ``ru_maxrss``, which Linux keeps across ``exec``: a process's figure
includes what its parent held when it started it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import psycopg

from bench.common import PG_DSN, drop, fill, fresh_url, in_subprocess
from ledger.store.root import open_ledger
from projections.runner import Runner

SCHEMA = "i17rebuild"
ALL = ("cases", "audit_trail", "statistics")


def child_rebuild(url: str, workers: int) -> None:
    """In a new process: one rebuild of every read model with ``workers`` workers."""
    with open_ledger(url) as ledger:
        runner = Runner(ledger, url=url)
        started = time.perf_counter()
        applied = runner.rebuild(ALL, workers=workers)
        elapsed = time.perf_counter() - started
    print(json.dumps({
        "events": applied,
        "seconds": elapsed,
        "fold_seconds": max((f.seconds for f in runner.folded), default=0.0),
        "worker_peak_rss_mb": [round(f.peak_rss_kb / 1024, 1) for f in runner.folded],
        "parent_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "phases": {k: round(v, 2) for k, v in runner.phases.items()},
        "worker_phases": [f.phases for f in runner.folded],
    }))  # fmt: skip


def schema_url() -> str:
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
    return f"{PG_DSN}?schema={SCHEMA}"


def bench(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    given = args.url is not None
    if given:
        url = args.url
    else:
        url = schema_url() if backend == "postgres" else fresh_url(backend, "rw", workdir)
    try:
        if given:
            with open_ledger(url) as ledger:
                events = ledger.count_events()
        else:
            events, _ = fill(url, args.events)
        load_before = os.getloadavg()
        samples: dict[int, list[dict[str, float]]] = {w: [] for w in args.workers}
        for _ in range(args.runs):
            for w in args.workers:
                load = os.getloadavg()[0]
                sample = in_subprocess(
                    "bench.rebuild_workers", "--child", url, "--child-workers", str(w)
                )
                sample["load_1min"] = [round(load, 2), round(os.getloadavg()[0], 2)]
                print(json.dumps({"workers": w, **sample}), flush=True)
                samples[w].append(sample)
        result: dict[str, object] = {"backend": backend, "events": events}
        for w, runs in samples.items():
            assert all(r["events"] == events for r in runs), runs
            seconds = statistics.median(r["seconds"] for r in runs)
            result[f"workers_{w}"] = {
                "events_per_s": round(events / seconds),
                "seconds": [round(r["seconds"], 2) for r in runs],
                "fold_seconds": round(statistics.median(r["fold_seconds"] for r in runs), 2),
                "worker_peak_rss_mb": max(max(r["worker_peak_rss_mb"]) for r in runs),  # type: ignore[type-var]
                "parent_peak_rss_mb": round(max(r["parent_peak_rss_mb"] for r in runs), 1),
                "phases": {
                    k: round(statistics.median(r["phases"][k] for r in runs), 2)  # type: ignore[index]
                    for k in runs[0]["phases"]  # type: ignore[attr-defined]
                },
            }
        result["load_average"] = [round(x, 2) for x in (*load_before, *os.getloadavg())]
        baseline_url = args.baseline_url or (url if backend == "postgres" else None)
        if baseline_url is not None and args.baseline_seconds > 0:
            load = os.getloadavg()[0]
            base = in_subprocess("bench.baseline", baseline_url, str(args.baseline_seconds))
            library = base["events"] / base["seconds"]
            result["library_runner_events_per_s"] = round(library)
            result["library_runner_load_1min"] = [round(load, 2), round(os.getloadavg()[0], 2)]
            for w in args.workers:  # the rebuild's median rate over the library runner's
                entry = result[f"workers_{w}"]
                assert isinstance(entry, dict)
                entry["times_library_runner"] = round(entry["events_per_s"] / library, 2)
        if len(args.workers) > 1:
            rates = [result[f"workers_{w}"]["events_per_s"] for w in args.workers]  # type: ignore[index]
            result["speedup_over_first_workers"] = [round(r / rates[0], 2) for r in rates]
        return result
    finally:
        if not given:
            drop(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--backends", nargs="+", default=["postgres", "sqlite"])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-seconds", type=float, default=30)
    parser.add_argument(
        "--url",
        help="an existing ledger (a copy: the rebuilds replace its "
        "read models) instead of a fresh one; one backend, not dropped",
    )
    parser.add_argument(
        "--baseline-url",
        help="the PostgreSQL ledger (a copy) the library's runner reads, when --url is SQLite",
    )
    parser.add_argument("--child", metavar="URL")
    parser.add_argument("--child-workers", type=int, default=1)
    args = parser.parse_args()
    if args.child:
        child_rebuild(args.child, args.child_workers)
        return
    if args.url is not None:
        args.backends = ["postgres" if args.url.startswith("postgresql") else "sqlite"]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            print(json.dumps(bench(backend, args, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
