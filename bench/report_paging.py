"""``report sla`` paged, summarised and streamed against the whole report, in one run (issue 17).

Each figure is the whole command (``complaint-ledger report sla … --no-catch-up``, a process
of its own, its output to /dev/null), the median of ``--runs`` runs, the commands alternating
so that the machine's load falls on all of them alike. Peak RSS is each child's own
(``os.wait4``). Against a ledger filled and caught up beforehand (``--db``), or a fresh one
of ``--complaints`` synthetic complaints (bulk path, then ``projections run``).

    .venv/bin/python -m bench.report_paging --db "postgresql://…/test?schema=i17paging" --runs 5
    .venv/bin/python -m bench.report_paging --backend sqlite --complaints 10000 --runs 5

``--replicate K`` first makes the read models K times as many complaints, in SQL: every
``case_state`` and ``sla_clocks`` row is copied K−1 times under new references (``B1-…``
becomes ``B2-…`` … ``BK-…``), then ``sla_tally`` is counted afresh with the SQL a sharded
rebuild uses (``tally.refresh``). It WRITES the read models of ``--db``: give it a copy.
The log is left alone, so the copy's read models no longer match its log (a catch-up or a
rebuild puts them back); the figures are of the reads over that many rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import EVENTS_PER_COMPLAINT, fill, fresh_url

AS_OF = "2026-11-01T00:00:00+08:00"  # the end of the synthetic year (bench.common.UNTIL)
CLI = [str(Path(sys.executable).with_name("complaint-ledger"))]
CASES = {
    "summary (--summary)": ["--summary", "--format", "json"],
    "first page of 100 (--limit 100)": ["--limit", "100", "--format", "json"],
    "every item, ndjson": ["--format", "ndjson"],
    "every item, json (baseline)": ["--format", "json"],
}
FULL = "every item, json (baseline)"
# In-process only: the summary as it was counted before the tally, one GROUP BY per status.
GROUPED = "summary, GROUP BY per status (before sla_tally)"


def command(url: str, extra: list[str]) -> list[str]:
    return [*CLI, "report", "sla", "--as-of", AS_OF, "--no-catch-up", "--db", url, *extra]


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak RSS (MB) of one run of ``argv``, its output thrown away. The
    peak is measured by GNU time, a small process of its own: the ``ru_maxrss`` of a child
    of this process would start at this process's size (a fork's pages count until exec)."""
    with tempfile.NamedTemporaryFile("r") as peak:
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", peak.name, *argv],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()}")
        kilobytes = int(peak.read().split()[-1])
    return elapsed, kilobytes / 1024


def items_of(url: str) -> int:
    out = subprocess.run(command(url, ["--summary", "--format", "json"]), capture_output=True,
                         check=True).stdout  # fmt: skip
    totals = json.loads(out)["totals"]["all"]
    return int(sum(totals.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="A ledger filled and caught up beforehand.")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--complaints", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--replicate", type=int, default=1,
                        help="Copy the read-model rows of --db to K times as many complaints "
                        "first (writes --db: a copy only).")  # fmt: skip
    parser.add_argument("--without-full", action="store_true",
                        help="Leave out the whole report as JSON (minutes at a million "
                        "complaints; the issue's baseline of 9.6 s stands for it).")  # fmt: skip
    args = parser.parse_args()
    if args.without_full:
        del CASES[FULL]
    url = args.db
    if args.replicate > 1:
        if url is None:
            raise SystemExit("--replicate writes the read models of --db: give a copy")
        seconds = replicate(url, args.replicate)
        print(f"read models replicated x{args.replicate} in {seconds:.0f} s", flush=True)
    if url is None:
        workdir = Path(tempfile.mkdtemp(prefix="report_paging_"))
        url = fresh_url(args.backend, "paging", workdir)
        events, seconds = fill(url, round(args.complaints * EVENTS_PER_COMPLAINT))
        print(f"filled {events:,} events in {seconds:.0f} s", flush=True)
        subprocess.run([*CLI, "projections", "run", "--db", url], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    complaints = subprocess.run(
        [*CLI, "list", "--summary", "--format", "json", "--no-catch-up", "--db", url],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    print(f"ledger: {json.loads(complaints)['all']:,} complaints, {items_of(url):,} items as of "
          f"{AS_OF}; medians of {args.runs} runs, each the whole command", flush=True)  # fmt: skip
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
    inside: dict[str, list[float]] = {name: [] for name in [*CASES, GROUPED]}
    for _ in range(args.runs):
        for name, extra in CASES.items():
            samples[name].append(timed(command(url, extra)))
        for name, seconds in in_process(url, FULL in CASES).items():
            inside[name].append(seconds)
    floor = statistics.median(timed([*CLI, "report", "sla", "--help"])[0] for _ in range(3))
    print(f"\nthe floor (start-up, `report sla --help`): {floor:.2f} s")
    print("\n| report sla | the command, median | runs (s) | peak RSS (median) | in-process |")
    print("|---|---|---|---|---|")
    for name, runs in samples.items():
        seconds = [s for s, _ in runs]
        rss = statistics.median(r for _, r in runs)
        print(f"| {name} | **{statistics.median(seconds):.2f} s** | "
              f"{', '.join(f'{s:.2f}' for s in seconds)} | {rss:.0f} MB | "
              f"{statistics.median(inside[name]):.3f} s |")  # fmt: skip
    print(f"| {GROUPED} | — | — | — | {statistics.median(inside[GROUPED]):.3f} s |")


def in_process(url: str, full: bool = True) -> dict[str, float]:
    """The reads alone, without the start-up of a process (what the API's requests cost)."""
    from datetime import datetime

    from projections.query import open_query
    from projections.sla_pages import Report, sla_page, sla_stream, sla_summary

    as_of = datetime.fromisoformat(AS_OF)
    found: dict[str, float] = {}
    with open_query(url, catch_up=False) as query:
        reads = {
            "summary (--summary)": lambda: sla_summary(query, as_of),
            "first page of 100 (--limit 100)": lambda: sla_page(query, as_of, None, None, 100),
            "every item, ndjson": lambda: sla_stream(query, as_of, None, None, lambda i: None),
            "every item, json (baseline)": lambda: query.sla_report(as_of),
        }

        def grouped() -> None:
            with query.transaction() as cur:
                Report(cur, as_of, None, None).totals(tallied=False)

        reads[GROUPED] = grouped
        if not full:
            del reads[FULL]
        for name, read in reads.items():
            started = time.perf_counter()
            read()
            found[name] = time.perf_counter() - started
    return found


def replicate(url: str, times: int) -> float:
    """Make the read models of ``url`` ``times`` as many complaints (see the docstring)."""
    from ledger.store.root import open_ledger
    from projections import tally
    from projections.cases import CASE_COLUMNS, CLOCK_COLUMNS
    from projections.runner import Runner

    started = time.perf_counter()
    with open_ledger(url) as ledger:
        runner = Runner(ledger)
        with runner.transaction() as cur:
            for table, columns in (("case_state", CASE_COLUMNS), ("sla_clocks", CLOCK_COLUMNS)):
                names = ", ".join(columns)
                copied = ", ".join(
                    "'B' || CAST(? AS TEXT) || SUBSTR(ref, 3)" if c == "ref" else c for c in columns
                )
                first = "SUBSTR(ref, 1, 3) = 'B1-'"  # the ledger's own complaints (seed 1)
                for k in range(2, times + 1):
                    cur.execute(
                        f"INSERT INTO {{{table}}} ({names}) SELECT {copied}"
                        f" FROM {{{table}}} WHERE {first}",
                        (k,),
                    )
            tally.refresh(cur)
            if cur.postgres:  # fresh statistics, as autovacuum gives them in time
                for table in ("case_state", "sla_clocks", "sla_tally"):
                    cur.execute(f"ANALYZE {{{table}}}")
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
