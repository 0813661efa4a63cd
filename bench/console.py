"""How long the console's pages take to render on a ledger of 100,000 complaints, measured
at the server (uvicorn on 127.0.0.1, the app of ``serve``) over loopback HTTP.

    .venv/bin/python -m bench.console --backend sqlite --complaints 100000 --runs 7
    .venv/bin/python -m bench.console --db sqlite:///big.db --runs 7     # reuse a ledger

Fills a fresh ledger with synthetic complaints first (bulk path, dropped at the end) and
catches its read models up, unless ``--db`` names one already filled; adds a leader to an
empty staff directory (the pages need a signed-in member) and issues a token. Then, in the
same run, each page and its baseline are fetched ``--runs`` times, alternating: the
dashboard beside the one way the API had to tell the same clock figures
(``GET /v1/reports/sla``, which works out the whole SLA report), and ``/healthz`` as the
floor of a round trip. Prints each median (JSON last).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from click.testing import CliRunner
from psycopg.conninfo import conninfo_to_dict

from bench.common import EVENTS_PER_COMPLAINT, drop, fill, fresh_url
from commands.cli import cli
from commands.http.app import create_app
from ledger.store.root import open_ledger
from projections.runner import Runner

LEADER = "bench-lead"


def cli_run(url: str, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env={"LEDGER_DB": url}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def token_for(url: str) -> str:
    """A leader's token (the leader added first if the directory is empty)."""
    as_leader = ["--actor", LEADER, "--role", "leadership"]
    members = json.loads(cli_run(url, "staff", "list", "--format", "json"))
    if not members and url.startswith("postgresql"):  # the bench's login acts for the leader
        login = conninfo_to_dict(url.split("?")[0]).get("user") or "postgres"
        cli_run(url, "staff", "allow-login", str(login), *as_leader)
    if not any(m["id"] == LEADER for m in members):
        cli_run(
            url,
            "staff",
            "add",
            LEADER,
            "--name",
            "bench",
            "--unit",
            "leadership_group",
            "--grant",
            "leadership",
            "--from",
            "2020-01-01T00:00:00+08:00",
            *as_leader,
        )
    out = cli_run(url, "staff", "token", LEADER, "--format", "json", *as_leader)
    token: str = json.loads(out)["token"]
    return token


@contextmanager
def served(url: str) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    with open_ledger(url) as ledger:
        server = uvicorn.Server(uvicorn.Config(create_app(ledger), log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            sock.close()


def timed(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    answer = client.get(path)
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--db", help="a ledger already filled (its read models caught up)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=Path("."))
    args = parser.parse_args()

    url = args.db
    try:
        measure(url or "", args)
    finally:
        if url is None and hasattr(args, "filled"):
            drop(args.filled)


def measure(url: str, args: argparse.Namespace) -> None:
    if not url:
        url = args.filled = fresh_url(args.backend, "console", args.workdir)
        events, seconds = fill(url, round(args.complaints * EVENTS_PER_COMPLAINT))
        print(f"filled {events} events in {seconds:.0f} s", flush=True)
    with open_ledger(url) as ledger:
        Runner(ledger).catch_up_all()
        events = ledger.count_events()
    token = token_for(url)
    with open_ledger(url) as ledger:
        Runner(ledger).catch_up_all()  # the leader's events, so the pages show lag 0

    pages = {
        "dashboard": "/console/",
        "baseline: GET /v1/reports/sla?limit=1": "/v1/reports/sla?limit=1",
        "work queue": "/console/queue",
        "case list (overdue)": "/console/cases?clock_status=overdue",
        "floor: GET /healthz": "/healthz",
    }
    headers = {"Authorization": f"Bearer {token}"}
    with served(url) as base, httpx.Client(base_url=base, headers=headers, timeout=600) as client:
        ref = client.get("/v1/complaints", params={"open": "true", "limit": 1}).json()
        pages["case page"] = f"/console/cases/{ref['items'][0]['ref']}"
        pages["monthly report (3 months)"] = "/console/reports/monthly"
        samples: dict[str, list[float]] = {name: [] for name in pages}
        for path in pages.values():
            timed(client, path)  # warm: imports, templates, the database's cache
        for _ in range(args.runs):
            for name, path in pages.items():
                samples[name].append(timed(client, path))
    result: dict[str, object] = {"url": url.split("?")[0], "events": events}
    for name, values in samples.items():
        median = statistics.median(values)
        print(
            f"{name:40} median {median * 1000:8.1f} ms  "
            f"({', '.join(f'{v * 1000:.0f}' for v in values)})"
        )
        result[name] = round(median, 4)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
