"""The real NATS JetStream server for the feed's tests: reachable or (under CI) a failure, a
stream of a test's own, and its messages read back as they are stored."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import pytest

NATS_URL = os.environ.get("LEDGER_TEST_NATS", "nats://127.0.0.1:4222")


def require_nats() -> None:
    async def probe() -> None:
        nc = await nats.connect(NATS_URL, connect_timeout=3, allow_reconnect=False)
        await nc.close()

    try:
        asyncio.run(probe())
    except Exception as e:
        reason = f"NATS at {NATS_URL} is unreachable: {e or type(e).__name__}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: the feed's tests must run)")
        pytest.skip(reason)


@dataclass(frozen=True)
class Stream:
    """A stream of one test: its own name and subjects (streams may not share subjects)."""

    name: str
    prefix: str

    @property
    def args(self) -> list[str]:
        return self.at(NATS_URL)

    def at(self, url: str) -> list[str]:
        return ["--url", url, "--stream", self.name, "--subject-prefix", self.prefix]


@dataclass(frozen=True)
class Stored:
    sequence: int
    subject: str
    headers: dict[str, str]
    data: bytes


def jetstream(work: Any, url: str = NATS_URL) -> Any:
    """Run ``work(js)`` on a connection of its own."""

    async def session() -> Any:
        nc = await nats.connect(url, allow_reconnect=False)
        try:
            return await work(nc.jetstream())
        finally:
            await nc.close()

    return asyncio.run(session())


def messages(stream: Stream, url: str = NATS_URL) -> list[Stored]:
    """Every message of the stream, in stream order."""

    async def read(js: Any) -> list[Stored]:
        last = (await js.stream_info(stream.name)).state.last_seq
        found = []
        for seq in range(1, last + 1):
            m = await js.get_msg(stream.name, seq)
            found.append(Stored(seq, m.subject, dict(m.headers or {}), m.data))
        return found

    result: list[Stored] = jetstream(read, url)
    return result


def message_count(stream: Stream, url: str = NATS_URL) -> int:
    async def count(js: Any) -> int:
        try:
            return int((await js.stream_info(stream.name)).state.messages)
        except nats.js.errors.NotFoundError:
            return 0

    result: int = jetstream(count, url)
    return result


@pytest.fixture
def stream() -> Iterator[Stream]:
    """A fresh stream name and subject prefix, the stream deleted afterwards."""
    require_nats()
    tag = uuid.uuid4().hex[:10]
    made = Stream(f"T_{tag}", f"t{tag}")
    yield made

    async def delete(js: Any) -> None:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(made.name)

    jetstream(delete)


NATS_SERVER = "/usr/sbin/nats-server"


class OwnServer:
    """A second NATS server with JetStream, of one test: its own port and store directory, so
    that the test can stop it (SIGKILL, as a crash) and start it again on the same store."""

    def __init__(self, store: Path) -> None:
        self.store = store
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"nats://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                assert time.monotonic() < deadline, f"nats-server on {self.port} did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None

    def messages(self, stream: Stream) -> list[Stored]:
        return messages(stream, self.url)

    def message_count(self, stream: Stream) -> int:
        return message_count(stream, self.url)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[OwnServer]:
    """A running second server (``NATS_SERVER``), killed afterwards."""
    if not os.path.exists(NATS_SERVER):
        reason = f"{NATS_SERVER} is missing"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: the feed's tests must run)")
        pytest.skip(reason)
    server = OwnServer(tmp_path / "nats-store")
    server.start()
    try:
        yield server
    finally:
        server.kill()
