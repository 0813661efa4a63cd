"""Real receivers for the alert tests: an SMTP server (aiosmtpd) and an HTTP server
(http.server), each on 127.0.0.1 on a free port, in threads; and a staffed ledger whose
members have addresses."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.e2e.http_server import TEST_LOGIN
from tests.helpers import jsonl, run

LEAD = ["--actor", "chen", "--role", "leadership"]
SINCE = "2026-01-01T00:00:00+08:00"
STAFF = {  # id: (unit, roles, email)
    "chen": ("leadership_group", ["leadership"], "chen@example.com"),
    "li": ("customer_service", ["customer_service"], "li@example.com"),
    "wang": ("handling_group", ["handling_team", "customer_service"], "wang@example.com"),
    "zhou": ("handling_group", ["handling_team"], "zhou@example.com"),
    "alerts": ("office", ["operator"], None),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Mail:
    mail_from: str
    to: list[str]
    message: Message

    @property
    def alert_id(self) -> str:
        return str(self.message["X-Alert-Id"])


@dataclass
class SmtpSink:
    """What the SMTP server took in; ``refuse_rcpt`` makes it refuse every recipient, and
    ``delay`` slows each recipient down (to stretch a pass out for the kill test)."""

    mails: list[Mail] = field(default_factory=list)
    rcpt_attempts: int = 0
    refuse_rcpt: bool = False
    delay: float = 0.0
    port: int = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        self.rcpt_attempts += 1
        if self.delay:
            time.sleep(self.delay)  # blocks the server's loop: one mail at a time, slowly
        if self.refuse_rcpt:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=default)
        self.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def _password_of(login: str, password: str) -> Any:
    """An authenticator that lets in ``login`` with ``password`` (over plain text: a test)."""

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            login.encode(),
            password.encode(),
        )
        return AuthResult(success=ok)

    return authenticate


@contextmanager
def smtp_server(login: tuple[str, str] | None = None, **settings: Any) -> Iterator[SmtpSink]:
    """An SMTP server; with ``login`` (user, password), one that requires that login."""
    sink = SmtpSink(**settings)
    sink.port = free_port()
    auth: dict[str, Any] = {}
    if login is not None:
        auth = {"authenticator": _password_of(*login), "auth_required": True,
                "auth_require_tls": False}  # fmt: skip
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port, **auth)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class HookSink:
    """What the HTTP receiver took in (complete requests only); it answers ``status``."""

    posts: list[Post] = field(default_factory=list)
    status: int = 200
    answer: dict[str, Any] = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    requests: int = 0
    url: str = ""


@contextmanager
def webhook_server(**settings: Any) -> Iterator[HookSink]:
    sink = HookSink(**settings)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            sink.requests += 1
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            if len(raw) < length:  # the sender went away before the end: not a request
                return
            sink.posts.append(Post(self.path, dict(self.headers), json.loads(raw)))
            answer = json.dumps(sink.answer).encode()
            self.send_response(sink.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


def staff_with_addresses(url: str) -> None:
    """``STAFF`` in the directory; on PostgreSQL the tests' login is first made a service
    login, so that it may act for any member (the alerter among them)."""
    if url.startswith("postgresql"):
        assert run(url, "staff", "allow-login", TEST_LOGIN, *LEAD).exit_code == 0
    for staff_id, (unit, roles, email) in STAFF.items():
        grants = [arg for role in roles for arg in ("--grant", role)]
        mail = ["--email", email] if email else []
        added = run(url, "staff", "add", staff_id, "--name", staff_id, "--unit", unit,
                    *grants, *mail, "--from", SINCE, *LEAD)  # fmt: skip
        assert added.exit_code == 0, added.output


def complaint_cmds(ref: str, received: datetime, handler: str | None = "wang") -> list[Any]:
    """A complaint received at ``received`` (not triaged: its intake clock runs), assigned to
    ``handler``."""
    at = received.isoformat()
    later = (received + timedelta(minutes=5)).isoformat()
    commands: list[dict[str, Any]] = [{
        "command": "receive", "command_id": f"{ref}-receive", "ref": ref,
        "actor": {"id": "li", "role": "customer_service"}, "occurred_at": at,
        "channel": "phone", "received_at": at, "content": "催收员深夜来电",
        "category": "harassment",
    }]  # fmt: skip
    if handler is not None:
        commands.append({
            "command": "assign", "command_id": f"{ref}-assign", "ref": ref, "handler": handler,
            "team": "处置一组", "actor": {"id": "wang", "role": "handling_team"},
            "occurred_at": later,
        })  # fmt: skip
    return commands


def apply(url: str, commands: list[Any]) -> None:
    result = run(url, "apply", "-", input=jsonl(commands))
    assert result.exit_code == 0, result.output


def hours_ago(hours: float) -> datetime:
    return (datetime.now(UTC) - timedelta(hours=hours)).replace(microsecond=0)
