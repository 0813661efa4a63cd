"""A real server for the HTTP tests: uvicorn on 127.0.0.1 on a free port, in a thread, over a
ledger opened from a URL; and a staff directory with a token per member."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from psycopg.conninfo import conninfo_to_dict

from commands.http.app import create_app
from ledger.store.root import open_ledger
from tests.conftest import PG_DSN
from tests.helpers import run

LEAD = ["--actor", "chen", "--role", "leadership"]
# The login the tests connect to PostgreSQL as: made a service login, to act for any member.
TEST_LOGIN = conninfo_to_dict(PG_DSN).get("user") or "postgres"
SINCE = ["--from", "2026-01-01T00:00:00+08:00"]
MEMBERS = {  # id: (unit, roles)
    "chen": ("leadership_group", ["leadership"]),
    "li": ("customer_service", ["customer_service"]),
    "wang": ("handling_group", ["handling_team", "customer_service"]),
    "zhao": ("business_department", ["business_department"]),
}


@dataclass
class Api:
    url: str  # the ledger's
    base: str  # the server's
    tokens: dict[str, str]

    def client(self, who: str | None = None, role: str | None = None) -> httpx.Client:
        headers = {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}
        if role is not None:
            headers["X-Acting-Role"] = role
        return httpx.Client(base_url=self.base, headers=headers, timeout=30)

    def wait_fresh(self, timeout: float = 20.0) -> None:
        """Until the follower has caught the read models up with the log."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base) as client:
            while time.monotonic() < deadline:
                if client.get("/healthz").json()["lag"] == 0:
                    return
                time.sleep(0.05)
        raise AssertionError("the read models did not catch up")


def issue_token(url: str, staff_id: str, *extra: str) -> str:
    result = run(url, "staff", "token", staff_id, "--format", "json", *extra, *LEAD)
    assert result.exit_code == 0, result.output
    token: str = json.loads(result.stdout)["token"]
    return token


def staff_directory(url: str) -> dict[str, str]:
    """The members of ``MEMBERS`` and a token each; on PostgreSQL the tests' login is first
    made a service login (allowed while the directory is empty)."""
    if url.startswith("postgresql"):
        assert run(url, "staff", "allow-login", TEST_LOGIN, *LEAD).exit_code == 0
    for staff_id, (unit, roles) in MEMBERS.items():
        grants = [arg for role in roles for arg in ("--grant", role)]
        added = run(url, "staff", "add", staff_id, "--name", staff_id, "--unit", unit, *grants,
                    *SINCE, *LEAD)  # fmt: skip
        assert added.exit_code == 0, added.output
    return {staff_id: issue_token(url, staff_id) for staff_id in MEMBERS}


@contextmanager
def serving(url: str, follow: bool = True) -> Iterator[str]:
    """The API over the ledger at ``url``, served until the block ends; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    with open_ledger(url) as ledger:
        app = create_app(ledger, follow=url if follow else None)
        config = uvicorn.Config(app, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive(), "the server stopped while starting"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=20)
            sock.close()
