"""What the database refuses, and what the ledger cannot read back, over HTTP, on both
backends: ``complaint-ledger serve`` as an operator runs it answers a ``WriteRefused`` and a
stored event changed outside the ledger with a problem of their status, appends nothing, and
its log (the process's stderr) holds no traceback."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.audit_helpers import superuser
from tests.e2e.http_server import staff_directory
from tests.e2e.test_http_commands import PROBLEM, body
from tests.e2e.test_http_serve import SCRIPT, free_port
from tests.helpers import event_count, jsonl, receive_cmd, run
from tests.integration.test_write_refused import refuse_command

NOTE = {"command": "add_note", "ref": "TS-1", "text": "回访预约"}


@contextmanager
def served(url: str, log: Path) -> Iterator[httpx.Client]:
    """A client of ``serve`` over the ledger at ``url``, whose log (stderr) goes to ``log``;
    the server is stopped as an operator would, with SIGINT, when the block ends."""
    port = free_port()
    with open(log, "w", encoding="utf-8") as stderr:
        server = subprocess.Popen(
            [SCRIPT, "serve", "--port", str(port), "--db", url],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            deadline = time.monotonic() + 30
            while server.poll() is None and time.monotonic() < deadline:
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            yield client
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def change_outside_the_ledger(url: str, ref: str) -> None:
    with superuser(url) as su:
        su.sql(f"UPDATE {su.events} SET state = ? WHERE originator_id = ?",
               b"\x00not an event", su.oid(ref))  # fmt: skip


def post(client: httpx.Client, token: str, command: dict[str, Any], key: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "X-Acting-Role": "customer_service"}
    return client.post("/v1/commands", json=command, headers={**headers, "Idempotency-Key": key})


def caught_up(client: httpx.Client) -> None:
    """Until the server's follower has read every event (so that it meets none changed)."""
    deadline = time.monotonic() + 30
    while client.get("/healthz").json()["lag"] != 0:
        assert time.monotonic() < deadline, "the read models did not catch up"
        time.sleep(0.05)


def test_a_write_the_database_refuses_is_a_422_problem(ledger_url: str, tmp_path: Path) -> None:
    token = staff_directory(ledger_url)["li"]
    log = tmp_path / "server.log"
    with served(ledger_url, log) as client:
        assert post(client, token, body(receive_cmd("TS-1")), "TS-1-receive").status_code == 201
        refuse_command(ledger_url, "refused-note")
        before = event_count(ledger_url)

        answer = post(client, token, NOTE, "refused-note")

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["status"] == 422
    assert problem["detail"].startswith("TS-1: the database refused add_note (")
    assert "refuse_one" in problem["detail"]
    assert problem["detail"].endswith("); no other writer had changed it")
    assert event_count(ledger_url) == before
    assert "Traceback" not in log.read_text(), log.read_text()


def test_an_event_changed_outside_the_ledger_is_a_problem_pointing_to_verify(
    ledger_url: str, tmp_path: Path
) -> None:
    token = staff_directory(ledger_url)["li"]
    log = tmp_path / "server.log"
    with served(ledger_url, log) as client:
        assert post(client, token, body(receive_cmd("TS-1")), "TS-1-receive").status_code == 201
        caught_up(client)
        change_outside_the_ledger(ledger_url, "TS-1")
        before = event_count(ledger_url)

        answer = post(client, token, NOTE, "after-the-change")

    assert answer.status_code == 500, answer.text
    assert answer.headers["content-type"] == PROBLEM
    detail = answer.json()["detail"]
    assert detail.startswith("Failed to deserialise state of stored event with topic "), detail
    assert detail.endswith(
        "; the ledger's stored data was changed outside the ledger or is damaged: "
        "complaint-ledger verify says where"
    )
    assert "\n" not in detail
    assert event_count(ledger_url) == before
    assert "Traceback" not in log.read_text(), log.read_text()
    assert "complaint-ledger verify says where" in log.read_text()  # the operator is told too


def test_the_servers_follower_meeting_a_changed_event_logs_one_line(
    ledger_url: str, tmp_path: Path
) -> None:
    assert run(ledger_url, "apply", "-", input=jsonl([receive_cmd("TS-1")])).exit_code == 0
    change_outside_the_ledger(ledger_url, "TS-1")
    log = tmp_path / "server.log"

    with served(ledger_url, log) as client:
        deadline = time.monotonic() + 30
        while "projection follower" not in log.read_text():  # it has met the event
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        lag = client.get("/healthz").json()["lag"]

    said = log.read_text()
    assert "Traceback" not in said, said
    assert "complaint-ledger verify says where" in said
    assert lag == 1  # the read models stay where they were
