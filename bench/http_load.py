"""Load: concurrent clients post commands to `complaint-ledger serve` on PostgreSQL, then the
ledger is checked (nothing lost, duplicated or half-written) and the same commands are
applied to a fresh ledger through `apply --bulk` for comparison.

Each client is a member of staff with a token of its own. It files complaints and takes each
through its life (triage, assign, contact, findings, plan, execute, outcome, close), one
command at a time, and one command in five adds a note to one of a few complaints every
client shares, so that writers race on the same streams. A request that fails in transit is
sent again with the same Idempotency-Key, as a careful client would.

    .venv/bin/python -m bench.http_load                       # 32 clients, 60 s, one run
    .venv/bin/python -m bench.http_load --runs 3 --seconds 60 # medians of three

At the end of each run: every acknowledged command is in the command log once, the events
carrying its command id are the events its answer listed, and `verify` passes; then p50 and
p99 latency and the throughput of both paths are printed (JSON on the last line).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import drop, fresh_url
from commands.bulk import apply_in_batches
from commands.handlers import handle
from commands.models import parse_command
from ledger.integrity.verify import verify_ledger
from ledger.store.root import open_ledger

SHARED = 4  # complaints every client adds notes to
LIFE = [
    {"command": "triage", "severity": "normal", "category": "harassment", "assessment": "一般"},
    {"command": "assign", "handler": "zhao", "team": "处置一组"},
    {"command": "contact", "channel": "phone", "reached": True, "summary": "已告知进展"},
    {"command": "record_findings", "substantiated": "yes", "findings": "录音证实"},
    {"command": "plan", "remedies": [{"kind": "refund", "amount": "120.50"}]},
    {"command": "execute", "detail": "已退款"},
    {"command": "notify_outcome", "channel": "phone", "summary": "已告知"},
    {"command": "close", "root_cause": "违规", "improvement": "培训"},
]


@dataclass
class Sent:
    body: dict[str, Any]
    role: str
    member: str
    latency: float
    answer: dict[str, Any]
    acked_at: float


@dataclass
class Client:
    number: int
    token: str
    base: str
    stop_at: float
    sent: list[Sent] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def run(self) -> None:
        rng = random.Random(self.number)
        with httpx.Client(base_url=self.base, timeout=60) as http:
            n = 0
            while time.monotonic() < self.stop_at:
                n += 1
                ref = f"L{self.number:02d}-{n:05d}"
                self.post(http, "customer_service", receive(ref))
                for step in LIFE:
                    if time.monotonic() >= self.stop_at:
                        return
                    if rng.random() < 0.2:
                        note = {"command": "add_note", "ref": f"HOT-{rng.randrange(SHARED)}",
                                "text": f"client {self.number} note"}  # fmt: skip
                        self.post(http, "customer_service", note)
                    self.post(http, "handling_team", {**step, "ref": ref})

    def post(self, http: httpx.Client, role: str, body: dict[str, Any]) -> None:
        body = {**body, "command_id": str(uuid.uuid4())}
        headers = {"Authorization": f"Bearer {self.token}", "X-Acting-Role": role}
        started = time.perf_counter()
        for _ in range(10):  # the same command id each time: at most once, whatever happens
            try:
                answer = http.post("/v1/commands", json=body, headers=headers)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"client {self.number}: the server kept failing")
        latency = time.perf_counter() - started
        if answer.status_code != 201:
            self.refused.append(f"{answer.status_code} {answer.text}")
            return
        member = f"agent{self.number:02d}"
        self.sent.append(Sent(body, role, member, latency, answer.json(), time.monotonic()))


def receive(ref: str) -> dict[str, Any]:
    return {
        "command": "receive",
        "ref": ref,
        "channel": "phone",
        "received_at": "2026-11-20T09:00:00+08:00",
        "content": "催收员多次深夜来电",
        "category": "harassment",
        "complainant": {"name": "张三", "phone": "13800000000"},
    }


def setup_directory(url: str, clients: int) -> dict[str, str]:
    """A leader, one member per client (customer_service and handling_team) and a token each;
    the benchmark's own login may act for them (a service login)."""
    tokens: dict[str, str] = {}
    lead = {"id": "chen", "role": "leadership"}
    commands: list[dict[str, Any]] = [
        {"command": "allow_service_login", "login": "postgres"},
        {"command": "add_staff", "staff_id": "chen", "name": "陈", "unit": "leadership_group",
         "roles": ["leadership"], "effective_from": "2026-01-01T00:00:00+08:00"},
    ]  # fmt: skip
    for n in range(clients):
        member = f"agent{n:02d}"
        secret = "clt_" + secrets.token_urlsafe(32)
        tokens[member] = secret
        commands.append(
            {
                "command": "add_staff",
                "staff_id": member,
                "name": member,
                "unit": "customer_service",
                "roles": ["customer_service", "handling_team"],
                "effective_from": "2026-01-01T00:00:00+08:00",
            }
        )
        commands.append(
            {
                "command": "issue_token",
                "staff_id": member,
                "token_hash": hashlib.sha256(secret.encode()).hexdigest(),
                "expires_at": "2099-01-01T00:00:00+08:00",
            }
        )
    with open_ledger(url) as ledger:
        for i, data in enumerate(commands):
            handle(ledger, parse_command({**data, "command_id": f"setup-{i}", "actor": lead}))
        for hot in range(SHARED):
            body = {**receive(f"HOT-{hot}"), "command_id": f"hot-{hot}",
                    "actor": {"id": "chen", "role": "leadership"}}  # fmt: skip
            handle(ledger, parse_command(body))
    return tokens


def serve(url: str) -> tuple[subprocess.Popen[str], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = str(Path(sys.executable).parent / "complaint-ledger")
    server = subprocess.Popen([script, "serve", "--port", str(port), "--db", url],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            return server, base
        except httpx.TransportError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("the server did not start")


def check(url: str, sent: list[Sent]) -> int:
    """Command log = events = outcomes for every acknowledged command; returns the events."""
    with open_ledger(url) as ledger:
        acknowledged = {s.body["command_id"]: s.answer for s in sent}
        logged = ledger.ledger_recorder.select_commands(list(acknowledged))
        assert len(logged) == len(acknowledged), "an acknowledged command is not in the log"
        for command_id, answer in acknowledged.items():
            assert (logged[command_id].ref, logged[command_id].version) == (
                answer["ref"],
                answer["version"],
            ), command_id
        counted: dict[str, list[str]] = {}
        for notification in iter_notifications(ledger):
            event = ledger.mapper.to_domain_event(notification)
            command_id = getattr(event, "command_id", None)
            if command_id in acknowledged:
                counted.setdefault(command_id, []).append(type(event).__name__)
        for command_id, answer in acknowledged.items():
            assert counted.get(command_id) == answer["events"], (
                command_id,
                counted.get(command_id),
            )
        report = verify_ledger(ledger)
        return report.events


def iter_notifications(ledger: Any) -> Any:
    start = 1
    while True:
        batch = ledger.recorder.select_notifications(start, 5000)
        yield from batch
        if len(batch) < 5000:
            return
        start = batch[-1].id + 1


def bulk(url: str, sent: list[Sent], clients: int) -> float:
    """The same commands (in the order they were acknowledged) through ``apply --bulk``."""
    setup_directory(url, clients)
    ordered = sorted(sent, key=lambda s: s.acked_at)
    commands = [
        (i, parse_command({**s.body, "actor": {"id": s.member, "role": s.role}}))
        for i, s in enumerate(ordered)
    ]
    started = time.perf_counter()
    with open_ledger(url) as ledger:
        failures = list(apply_in_batches(ledger, commands, batch_size=500))
    elapsed = time.perf_counter() - started
    assert not failures, failures[:3]
    return elapsed


def one_run(clients: int, seconds: float, workdir: Path) -> dict[str, Any]:
    url, bulk_url = fresh_url("postgres", "http", workdir), fresh_url("postgres", "bulk", workdir)
    try:
        tokens = setup_directory(url, clients)
        server, base = serve(url)
        try:
            stop_at = time.monotonic() + seconds
            workers = [Client(n, tokens[f"agent{n:02d}"], base, stop_at) for n in range(clients)]
            threads = [threading.Thread(target=w.run) for w in workers]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
        sent = [s for w in workers for s in w.sent]
        refused = [r for w in workers for r in w.refused]
        assert not refused, refused[:3]
        events = check(url, sent)
        latencies = sorted(s.latency for s in sent)
        bulk_seconds = bulk(bulk_url, sent, clients)
        return {
            "clients": clients,
            "seconds": round(elapsed, 1),
            "commands": len(sent),
            "events_in_ledger": events,
            "duplicates_answered": sum(s.answer["duplicate"] for s in sent),
            "http_commands_per_second": round(len(sent) / elapsed, 1),
            "p50_ms": round(1000 * latencies[len(latencies) // 2], 1),
            "p99_ms": round(1000 * latencies[int(len(latencies) * 0.99)], 1),
            "bulk_seconds": round(bulk_seconds, 2),
            "bulk_commands_per_second": round(len(sent) / bulk_seconds, 1),
        }
    finally:
        drop(url)
        drop(bulk_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    workdir = Path("/tmp")
    runs = []
    for n in range(args.runs):
        result = one_run(args.clients, args.seconds, workdir)
        print(f"run {n + 1}: {json.dumps(result)}", file=sys.stderr)
        runs.append(result)
    keys = ("http_commands_per_second", "p50_ms", "p99_ms", "bulk_commands_per_second")
    medians = {k: statistics.median(r[k] for r in runs) for k in keys}
    print(json.dumps({"runs": runs, "medians": medians}))


if __name__ == "__main__":
    main()
