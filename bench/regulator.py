"""How long ``report regulator`` takes for a quarter of a ledger of 100,000 complaints: the
whole command, started as a new process, as a person or a cron job runs it.

    .venv/bin/python -m bench.regulator --backend sqlite --complaints 100000 --runs 5
    .venv/bin/python -m bench.regulator --db sqlite:///big.db --runs 5     # reuse a ledger

Fills a fresh ledger with synthetic complaints first, as ``bench/common.py``'s ``fill`` does
but with the generator's regulator replies and addressed escalations (bulk path, dropped at
the end unless ``--keep``), and catches its read models up, unless ``--db`` names a ledger
already filled. Then, in the same run, alternating, ``--runs`` times each: ``report regulator
--quarter 2026Q3 --format json`` and, as the baseline, ``report stats`` over the same three
months (the statistics read model's monthly rows). Both read without catching up
(``--no-catch-up``), so only the report is timed. Prints each median (JSON last).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench.common import UNTIL, drop, fresh_url
from commands.bulk import apply_in_batches
from commands.models import Envelope, parse_command
from commands.synthetic import lifecycles
from ledger.store.root import open_ledger
from projections.runner import Runner

SCRIPT = (
    shutil.which("complaint-ledger", path=str(Path(sys.executable).parent)) or "complaint-ledger"
)
QUARTER = "2026Q3"
REGULATOR = ["report", "regulator", "--quarter", QUARTER, "--format", "json", "--no-catch-up"]
BASELINE = ["report", "stats", "--from", "2026-07-01", "--to", "2026-09-30", "--format", "json",
            "--no-catch-up"]  # fmt: skip


def commands(complaints: int, seed: int) -> Iterator[tuple[int, Envelope | Exception]]:
    """A year of synthetic complaints to ``bench.common.UNTIL``, referrals replied to."""
    position = 0
    lives = lifecycles(complaints, UNTIL, seed=seed, days=365, addressed=True, replies=True)
    for n, life in enumerate(lives, start=1):
        ref = f"R{seed}-{n:08d}"
        for data in [{**life.receive, "ref": ref}, *life.with_ref(ref)]:
            position += 1
            yield position, parse_command(data)


def fill(url: str, complaints: int, seed: int = 1) -> tuple[int, float]:
    started = time.perf_counter()
    with open_ledger(url) as ledger:
        failures = list(apply_in_batches(ledger, commands(complaints, seed), 2000))
        assert not failures, failures[:3]
        Runner(ledger).catch_up_all()
        total = ledger.count_events()
    return total, time.perf_counter() - started


def timed(url: str, args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([SCRIPT, *args, "--db", url], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(url: str, runs: int) -> dict[str, object]:
    shown = subprocess.run([SCRIPT, *REGULATOR, "--db", url], check=True, capture_output=True,
                           text=True)  # fmt: skip
    report = json.loads(shown.stdout)
    regulator, baseline = [], []
    for _ in range(runs):
        regulator.append(timed(url, REGULATOR))
        baseline.append(timed(url, BASELINE))
    return {
        "quarter": QUARTER,
        "received_in_quarter": report["received"],
        "referrals": report["referrals"]["referred"],
        "report_regulator_s": round(statistics.median(regulator), 3),
        "report_regulator_runs": [round(s, 3) for s in regulator],
        "report_stats_s": round(statistics.median(baseline), 3),
        "report_stats_runs": [round(s, 3) for s in baseline],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--db", help="a ledger already filled (its read models caught up)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the filled ledger")
    parser.add_argument("--workdir", type=Path, default=Path("."))
    args = parser.parse_args()
    url = args.db or fresh_url(args.backend, "regulator", args.workdir)
    result: dict[str, object] = {"db": url.split("?")[0] if args.db is None else url}
    try:
        if args.db is None:
            events, seconds = fill(url, args.complaints)
            result.update(events=events, fill_s=round(seconds, 1))
            print(f"filled {events:,} events in {seconds:,.0f} s", file=sys.stderr)
        result.update(measure(url, args.runs))
    finally:
        if args.db is None and not args.keep:
            drop(url)
    print(f"report regulator --quarter {QUARTER}: median {result['report_regulator_s']} s; "
          f"baseline report stats (same months): median {result['report_stats_s']} s")  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
