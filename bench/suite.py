"""The benchmark suite: every main operation, side by side with its baseline, in one run.

    python -m bench.suite --sizes 10000 100000 --backends postgres sqlite --runs 3

For each backend and size (in events) it fills a fresh ledger with synthetic complaints
through the bulk path and measures, each part in a process of its own so that its peak RSS
is its own:

- import: our bulk path (``apply`` of JSON Lines commands, many complaints per transaction);
  baseline, the library saving one complaint per transaction (a stock ``Application`` on the
  same database, the same events); limit, raw batched INSERT (1,000 rows per executemany and
  transaction) and, on PostgreSQL, COPY (5,000 rows per transaction) of the same rows;
- apply on existing complaints: bulk ``apply`` of add-note commands; baseline, the library's
  get-change-save per command on the stock application's copy of the complaints;
- replay of one complaint (what ``show`` loads): ours, the library's ``repository.get``, and
  one indexed select of the complaint's rows (no decoding), p50 and p99 over a sample;
- projection rebuild, the SLA report (query, and the whole command), ``verify``, and the
  start-up of the command line (``--version`` and ``show``).

Baselines that would run for long are capped at ``--cap-seconds``: their rate is what they
reached. The last lines are a table of medians of ``--runs`` runs, with the ratios.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import Environment, get_topic

from bench.common import PG_DSN, drop, fill, fresh_url, in_subprocess, peak_rss_mb
from commands.bulk import apply_in_batches
from commands.models import Envelope, parse_command
from ledger.domain.complaint import Complaint
from ledger.domain.errors import LedgerError
from ledger.domain.values import Actor, Role, Stamp, reference_id
from ledger.integrity.verify import verify_ledger
from ledger.store.root import (
    Ledger,
    open_ledger,
    persistence_env,
    register_value_transcodings,
    replay,
)

SCRIPT = str(Path(sys.executable).with_name("complaint-ledger"))
NOTE_ACTOR = {"id": "bench", "role": "handling_team"}


class LibraryApp(Application[UUID]):
    """The library as it comes: stock recorder, no command log, chain or checks of ours;
    only the transcodings our events need."""

    name = "Baseline"

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        return Environment(name, dict(env or {}))

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_value_transcodings(transcoder)


def library_env(url: str) -> dict[str, str]:
    """The stock recorder, in the same PostgreSQL schema (its table is named after the
    application) or in a SQLite file next to the ledger's (both would be ``stored_events``)."""
    env = persistence_env(url)
    env.pop("APPLICATION_RECORDER_TOPIC")
    if "SQLITE_DBNAME" in env:
        env["SQLITE_DBNAME"] += ".library"
    return env


def refs_of(ledger: Ledger) -> list[str]:
    return list(ledger.iter_refs())


def events_table(ledger: Ledger) -> str:
    name: str = ledger.recorder.events_table_name  # type: ignore[attr-defined]
    schema = getattr(ledger.recorder.datastore, "schema", None)  # type: ignore[attr-defined]
    return f'"{schema}"."{name}"' if schema else name


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# ---------------------------------------------------------------------------- child parts


def part_import(url: str, events: int) -> dict[str, Any]:
    total, seconds = fill(url, events)
    return {"events": total, "seconds": seconds, "events_per_s": total / seconds}


def part_library(url: str, cap: float, samples: int) -> dict[str, Any]:
    """The library's one-complaint-per-transaction import, its get-change-save per command,
    and replay latencies (ours, the library's, one indexed select)."""
    out: dict[str, Any] = {}
    with open_ledger(url) as ledger:
        refs = refs_of(ledger)
        app = LibraryApp(env=library_env(url))
        saved: list[str] = []
        events = 0
        spent = 0.0
        for ref in refs:
            history = ledger.complaint_events(ref)
            started = time.perf_counter()
            app.save(*history)  # one transaction: the complaint's every event
            spent += time.perf_counter() - started
            saved.append(ref)
            events += len(history)
            if spent > cap:
                break
        out["import_events"] = events
        out["import_events_per_s"] = events / spent

        sample = random.Random(7).sample(saved, min(samples, len(saved)))
        ours, library, select = [], [], []
        table = events_table(ledger)
        for ref in sample:
            started = time.perf_counter()
            ledger.get_complaint(ref)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            app.repository.get(reference_id(ref))
            library.append(time.perf_counter() - started)
            started = time.perf_counter()
            _select_rows(ledger, table, reference_id(ref))
            select.append(time.perf_counter() - started)
        for name, values in (("ours", ours), ("library", library), ("select", select)):
            out[f"replay_{name}_p50_ms"] = 1000 * percentile(values, 0.5)
            out[f"replay_{name}_p99_ms"] = 1000 * percentile(values, 0.99)

        applied, spent = 0, 0.0
        now = datetime.now(UTC)
        actor = Actor(id="bench", role=Role.HANDLING_TEAM)
        for n, ref in enumerate(itertools.cycle(saved)):
            started = time.perf_counter()
            complaint = app.repository.get(reference_id(ref))
            assert isinstance(complaint, Complaint)
            try:
                complaint.add_note(Stamp(actor, now, f"lib-{n}"), now, "library baseline")
            except LedgerError:
                continue  # withdrawn: nothing may be recorded
            app.save(complaint)
            spent += time.perf_counter() - started
            applied += 1
            if spent > cap:
                break
        out["apply_commands"] = applied
        out["apply_commands_per_s"] = applied / spent
        app.close()
    if url.startswith("sqlite"):
        Path(library_env(url)["SQLITE_DBNAME"]).unlink()
    return out


def _select_rows(ledger: Ledger, table: str, originator: UUID) -> None:
    """One indexed select of a complaint's stored rows, nothing decoded."""
    datastore = ledger.recorder.datastore  # type: ignore[attr-defined]
    postgres = isinstance(datastore, PostgresDatastore)
    sql = f"SELECT * FROM {table} WHERE originator_id = ? ORDER BY originator_version"
    with datastore.transaction(commit=False) as cur:
        if postgres:
            cur.execute(sql.replace("?", "%s"), (originator,))
        else:
            cur.execute(sql, (originator.hex,))  # SQLite stores ids as 32 hex digits
        cur.fetchall()


def part_apply(url: str, commands: int) -> dict[str, Any]:
    """Bulk ``apply`` of add-note commands on the complaints already in the ledger."""
    with open_ledger(url) as ledger:
        refs = refs_of(ledger)
        now = datetime.now(UTC).isoformat()

        def notes() -> Iterator[tuple[int, Envelope | Exception]]:
            for n, ref in zip(range(commands), itertools.cycle(refs), strict=False):
                yield n + 1, parse_command({"command": "add_note", "command_id": f"note-{n}",
                                            "actor": NOTE_ACTOR, "occurred_at": now,
                                            "ref": ref, "text": "bulk apply"})  # fmt: skip

        started = time.perf_counter()
        refused = sum(1 for _ in apply_in_batches(ledger, notes(), 2000))
        seconds = time.perf_counter() - started
    applied = commands - refused
    return {"commands": applied, "refused": refused, "commands_per_s": applied / seconds}


def part_raw(url: str) -> dict[str, Any]:
    """The database's own rate: the ledger's rows inserted into a bare table of the same shape."""
    with open_ledger(url) as ledger:
        table = events_table(ledger)
    out: dict[str, Any] = {}
    if url.startswith("sqlite"):
        conn = sqlite3.connect(persistence_env(url)["SQLITE_DBNAME"])
        rows = conn.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {table} ORDER BY rowid"
        ).fetchall()
        conn.execute(
            "CREATE TABLE raw_limit (originator_id TEXT, originator_version INTEGER, topic TEXT,"
            " state BLOB, PRIMARY KEY (originator_id, originator_version))"
        )
        started = time.perf_counter()
        for i in range(0, len(rows), 1000):
            with conn:
                conn.executemany("INSERT INTO raw_limit VALUES (?, ?, ?, ?)", rows[i : i + 1000])
        out["insert_events_per_s"] = len(rows) / (time.perf_counter() - started)
        conn.execute("DROP TABLE raw_limit")
        conn.close()
        return out
    schema = persistence_env(url)["POSTGRES_SCHEMA"]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {table}"
            " ORDER BY notification_id"
        ).fetchall()
        scratch = f'"{schema}".raw_limit'
        for method in ("insert", "copy"):
            conn.execute(f"DROP TABLE IF EXISTS {scratch}")
            conn.execute(
                f"CREATE TABLE {scratch} (originator_id uuid NOT NULL, originator_version bigint"
                " NOT NULL, topic text, state bytea, notification_id bigserial,"
                " PRIMARY KEY (originator_id, originator_version))"
            )
            conn.execute(f"CREATE UNIQUE INDEX ON {scratch} (notification_id)")
            step = 1000 if method == "insert" else 5000
            started = time.perf_counter()
            for i in range(0, len(rows), step):
                with conn.transaction(), conn.cursor() as cur:
                    if method == "insert":
                        cur.executemany(f"INSERT INTO {scratch} (originator_id,"
                                        " originator_version, topic, state)"
                                        " VALUES (%s, %s, %s, %s)", rows[i : i + step])  # fmt: skip
                    else:
                        with cur.copy(f"COPY {scratch} (originator_id, originator_version,"
                                      " topic, state) FROM STDIN") as copy:  # fmt: skip
                            for row in rows[i : i + step]:
                                copy.write_row(row)
            out[f"{method}_events_per_s"] = len(rows) / (time.perf_counter() - started)
        conn.execute(f"DROP TABLE {scratch}")
    return out


def part_replay(url: str, samples: int) -> dict[str, Any]:
    """Replay latency of complaints spread over the whole ledger (what ``show`` loads), and
    one indexed select of their rows, without reading every reference first."""
    with open_ledger(url) as ledger:
        table = events_table(ledger)
        topic = get_topic(Complaint.Received)  # type: ignore[attr-defined]
        datastore = ledger.recorder.datastore  # type: ignore[attr-defined]
        mark = "%s" if isinstance(datastore, PostgresDatastore) else "?"
        with datastore.transaction(commit=False) as cur:
            # Ids are uuid5 of the reference: in id order, the sample is spread at random.
            cur.execute(f"SELECT originator_id FROM {table} WHERE originator_version = 1"
                        f" AND topic = {mark} ORDER BY originator_id LIMIT {mark}",
                        (topic, samples))  # fmt: skip
            ids = [UUID(str(row["originator_id"])) for row in cur.fetchall()]
        refs = [str(ledger.repository.get(i, projector_func=replay).ref) for i in ids]
        ours, select = [], []
        for ref, originator in zip(refs, ids, strict=True):
            started = time.perf_counter()
            ledger.get_complaint(ref)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            _select_rows(ledger, table, originator)
            select.append(time.perf_counter() - started)
    return {
        "ref": refs[0],
        "replay_ours_p50_ms": 1000 * percentile(ours, 0.5),
        "replay_ours_p99_ms": 1000 * percentile(ours, 0.99),
        "replay_select_p50_ms": 1000 * percentile(select, 0.5),
        "replay_select_p99_ms": 1000 * percentile(select, 0.99),
    }


def part_verify(url: str) -> dict[str, Any]:
    with open_ledger(url) as ledger:
        started = time.perf_counter()
        report = verify_ledger(ledger)  # raises on any divergence
        seconds = time.perf_counter() - started
    return {"events": report.events, "seconds": seconds, "events_per_s": report.events / seconds}


PARTS: dict[str, Callable[..., dict[str, Any]]] = {
    "import": lambda url, n: part_import(url, int(n)),
    "library": lambda url, cap, n: part_library(url, float(cap), int(n)),
    "apply": lambda url, n: part_apply(url, int(n)),
    "raw": part_raw,
    "verify": part_verify,
    "replay": lambda url, n: part_replay(url, int(n)),
}


# ---------------------------------------------------------------------------- the parent


def timed_command(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([SCRIPT, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def median_part(runs: int, part: str, *args: str) -> dict[str, Any]:
    """Medians (and the largest peak RSS) of ``runs`` runs of a child part."""
    results = [in_subprocess("bench.suite", "--part", part, *args) for _ in range(runs)]
    merged: dict[str, Any] = {}
    for key in results[0]:
        values = [r[key] for r in results]
        merged[key] = max(values) if key == "peak_rss_mb" else statistics.median(values)
    return merged


def bench(backend: str, size: int, runs: int, cap: float, workdir: Path) -> dict[str, Any]:
    url = fresh_url(backend, f"s{size}", workdir)
    try:
        r: dict[str, Any] = {"backend": backend, "size": size}
        r["import"] = in_subprocess("bench.suite", "--part", "import", url, str(size))
        r["raw"] = median_part(runs, "raw", url)
        r["library"] = in_subprocess("bench.suite", "--part", "library", url, str(cap), "200")
        r["rebuild"] = median_part(runs, "rebuild", url)
        r["report"] = in_subprocess("bench.projections", "--report-only", url, "--runs", str(runs))
        r["verify"] = median_part(runs, "verify", url)
        with open_ledger(url) as ledger:
            some_ref = next(iter(refs_of(ledger)))
        r["startup_version_s"] = statistics.median(
            timed_command("--version") for _ in range(max(runs, 5))
        )
        r["startup_show_s"] = statistics.median(
            timed_command("show", some_ref, "--db", url) for _ in range(max(runs, 5))
        )
        # Last: it adds notes to the complaints the other parts measured.
        r["apply"] = in_subprocess("bench.suite", "--part", "apply", url, str(min(size, 100_000)))
        return r
    finally:
        drop(url)


def rows_of(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measure, ours, baseline or limit, ratio) rows of one backend and size."""
    imp, raw, lib, app = r["import"], r["raw"], r["library"], r["apply"]
    rows = [
        ("import events/s (bulk)", f"{imp['events_per_s']:,.0f}",
         f"library {lib['import_events_per_s']:,.0f}",
         f"{imp['events_per_s'] / lib['import_events_per_s']:.1f}x"),
        ("  limit: raw INSERT", "", f"{raw['insert_events_per_s']:,.0f}",
         f"{imp['events_per_s'] / raw['insert_events_per_s']:.2f}"),
    ]  # fmt: skip
    if "copy_events_per_s" in raw:
        rows.append(("  limit: COPY", "", f"{raw['copy_events_per_s']:,.0f}",
                     f"{imp['events_per_s'] / raw['copy_events_per_s']:.2f}"))  # fmt: skip
    rows += [
        ("apply commands/s (bulk)", f"{app['commands_per_s']:,.0f}",
         f"get-change-save {lib['apply_commands_per_s']:,.0f}",
         f"{app['commands_per_s'] / lib['apply_commands_per_s']:.1f}x"),
        ("replay p50 ms", f"{lib['replay_ours_p50_ms']:.2f}",
         f"library {lib['replay_library_p50_ms']:.2f}; select {lib['replay_select_p50_ms']:.2f}",
         f"{lib['replay_ours_p50_ms'] / lib['replay_library_p50_ms']:.2f}"),
        ("replay p99 ms", f"{lib['replay_ours_p99_ms']:.2f}",
         f"library {lib['replay_library_p99_ms']:.2f}; select {lib['replay_select_p99_ms']:.2f}",
         f"{lib['replay_ours_p99_ms'] / lib['replay_library_p99_ms']:.2f}"),
        ("rebuild events/s", f"{r['rebuild']['events'] / r['rebuild']['seconds']:,.0f}", "", ""),
        ("report sla s (query / command)",
         f"{r['report']['report_sla_query_s']:.3f} / {r['report']['report_sla_cli_s']:.2f}",
         f"{r['report']['report_sla_items']:,} items", ""),
        ("verify events/s", f"{r['verify']['events_per_s']:,.0f}", "", ""),
        ("start-up s (--version / show)",
         f"{r['startup_version_s']:.2f} / {r['startup_show_s']:.2f}", "", ""),
        ("peak RSS MB (import/apply/rebuild/verify)",
         f"{imp['peak_rss_mb']:.0f}/{app['peak_rss_mb']:.0f}/{r['rebuild']['peak_rss_mb']:.0f}"
         f"/{r['verify']['peak_rss_mb']:.0f}", f"library {lib['peak_rss_mb']:.0f}", ""),
    ]  # fmt: skip
    return rows


def existing(url: str, runs: int) -> dict[str, Any]:
    """The read side of a ledger filled beforehand (e.g. 1,000,000 complaints): replay and
    ``show`` latency, and the SLA report."""
    r: dict[str, Any] = {"replay": in_subprocess("bench.suite", "--part", "replay", url, "500")}
    r["show_s"] = statistics.median(
        timed_command("show", r["replay"]["ref"], "--db", url) for _ in range(max(runs, 5))
    )
    r["report"] = in_subprocess("bench.projections", "--report-only", url, "--runs", str(runs))
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--backends", nargs="+", default=["postgres", "sqlite"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cap-seconds", type=float, default=30)
    parser.add_argument("--markdown", action="store_true", help="Also print a Markdown table.")
    parser.add_argument("--existing", metavar="URL", help="Only the read side of URL's ledger.")
    parser.add_argument("--part", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.existing:
        print(json.dumps(existing(args.existing, args.runs)))
        return
    if args.part:
        name, *rest = args.part
        if name == "rebuild":
            from bench.projections import child_rebuild

            child_rebuild(rest[0])
            return
        result = PARTS[name](*rest)
        print(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            for backend in args.backends:
                r = bench(backend, size, args.runs, args.cap_seconds, Path(tmp))
                print(json.dumps(r), flush=True)
                results.append(r)
    for r in results:
        print(f"\n{r['backend']}, {r['import']['events']:,} events")
        for measure, ours, base, ratio in rows_of(r):
            print(f"  {measure:44} {ours:>16}  {base:>36}  {ratio:>6}")
    if args.markdown:
        print("\n| backend | events | measure | ours | baseline or limit | ratio |")
        print("|---|---|---|---|---|---|")
        for r in results:
            for row in rows_of(r):
                print(f"| {r['backend']} | {r['import']['events']:,} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
