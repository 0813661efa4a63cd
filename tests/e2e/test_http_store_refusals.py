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
from typing import Any

import httpx

from tests.audit_helpers import superuser
from tests.e2e.http_server import staff_directory
from tests.e2e.test_http_commands import PROBLEM, body
from tests.e2e.test_http_serve import SCRIPT, free_port
from tests.helpers import event_count, receive_cmd
from tests.integration.test_write_refused import refuse_command

NOTE = {"command": "add_note", "ref": "TS-1", "text": "回访预约"}


@contextmanager
def served(url: str) -> Iterator[tuple[httpx.Client, list[str]]]:
    """A client of ``serve`` over the ledger at ``url``; the list holds the server's log once
    the block has ended (the server is stopped as an operator would, with SIGINT)."""
    port = free_port()
    server = subprocess.Popen(
        [SCRIPT, "serve", "--port", str(port), "--db", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log: list[str] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            deadline = time.monotonic() + 30
            while server.poll() is None and time.monotonic() < deadline:
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            yield client, log
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)
        log.append(stderr)


def post(client: httpx.Client, token: str, command: dict[str, Any], key: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "X-Acting-Role": "customer_service"}
    return client.post("/v1/commands", json=command, headers={**headers, "Idempotency-Key": key})


def caught_up(client: httpx.Client) -> None:
    """Until the server's follower has read every event (so that it meets none changed)."""
    deadline = time.monotonic() + 30
    while client.get("/healthz").json()["lag"] != 0:
        assert time.monotonic() < deadline, "the read models did not catch up"
        time.sleep(0.05)


def test_a_write_the_database_refuses_is_a_422_problem(ledger_url: str) -> None:
    token = staff_directory(ledger_url)["li"]
    with served(ledger_url) as (client, log):
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
    assert "Traceback" not in log[0], log[0]


def test_an_event_changed_outside_the_ledger_is_a_problem_pointing_to_verify(
    ledger_url: str,
) -> None:
    token = staff_directory(ledger_url)["li"]
    with served(ledger_url) as (client, log):
        assert post(client, token, body(receive_cmd("TS-1")), "TS-1-receive").status_code == 201
        caught_up(client)
        with superuser(ledger_url) as su:
            su.sql(f"UPDATE {su.events} SET state = ? WHERE originator_id = ?",
                   b"\x00not an event", su.oid("TS-1"))  # fmt: skip
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
    assert "Traceback" not in log[0], log[0]
    assert "complaint-ledger verify says where" in log[0]  # the operator is told too
