"""Shared pieces of the benchmark scripts: fresh ledgers, synthetic load, timing, memory."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import psycopg

from commands.bulk import apply_in_batches
from commands.models import Envelope, parse_command
from commands.synthetic import lifecycles
from ledger.store.root import open_ledger

PG_DSN = os.environ.get("LEDGER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
UNTIL = datetime.fromisoformat("2026-11-01T00:00:00+08:00")
EVENTS_PER_COMPLAINT = 13.1  # what commands/synthetic.py produces on average (1,298,020 / 99,010)


def fresh_url(backend: str, tag: str, workdir: Path) -> str:
    """An empty ledger: a new PostgreSQL schema, or a new SQLite file."""
    name = f"bench_{tag}_{uuid.uuid4().hex[:6]}"
    if backend == "sqlite":
        return f"sqlite:///{workdir / (name + '.db')}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return f"{PG_DSN}?schema={name}"


def drop(url: str) -> None:
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        return
    schema = url.rsplit("schema=", 1)[1]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def synthetic_commands(complaints: int, seed: int) -> Iterator[tuple[int, Envelope | Exception]]:
    position = 0
    for n, life in enumerate(lifecycles(complaints, UNTIL, seed=seed, days=365), start=1):
        ref = f"B{seed}-{n:08d}"
        for data in [{**life.receive, "ref": ref}, *life.with_ref(ref)]:
            position += 1
            yield position, parse_command(data)


def synthetic_lines(complaints: int, seed: int) -> list[bytes]:
    """The commands of ``synthetic_commands`` as the JSON Lines ``apply`` reads."""
    lines = []
    for n, life in enumerate(lifecycles(complaints, UNTIL, seed=seed, days=365), start=1):
        ref = f"B{seed}-{n:08d}"
        for data in [{**life.receive, "ref": ref}, *life.with_ref(ref)]:
            lines.append(json.dumps(data, ensure_ascii=False).encode() + b"\n")
    return lines


def fill(url: str, events: int, seed: int = 1, batch_size: int = 2000) -> tuple[int, float]:
    """Fill the ledger with about ``events`` events of synthetic complaints (bulk path)."""
    complaints = max(1, round(events / EVENTS_PER_COMPLAINT))
    started = time.perf_counter()
    with open_ledger(url) as ledger:
        failures = list(apply_in_batches(ledger, synthetic_commands(complaints, seed), batch_size))
        assert not failures, failures[:3]
        total = ledger.count_events()
    return total, time.perf_counter() - started


def median_of(runs: int, fn: Callable[[], float]) -> tuple[float, list[float]]:
    samples = [fn() for _ in range(runs)]
    return statistics.median(samples), samples


def peak_rss_mb() -> float:
    """The largest resident set of this process or any child it waited for (pool workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def in_subprocess(module: str, *args: str) -> dict[str, float]:
    """Run ``python -m module args`` and return the JSON it prints last (its own measurements)."""
    out = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                         check=True)  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result
