"""The real NATS JetStream server for the feed's tests: reachable or (under CI) a failure, a
stream of a test's own, and its messages read back as they are stored."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
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
        return ["--url", NATS_URL, "--stream", self.name, "--subject-prefix", self.prefix]


@dataclass(frozen=True)
class Stored:
    sequence: int
    subject: str
    headers: dict[str, str]
    data: bytes


def jetstream(work: Any) -> Any:
    """Run ``work(js)`` on a connection of its own."""

    async def session() -> Any:
        nc = await nats.connect(NATS_URL, allow_reconnect=False)
        try:
            return await work(nc.jetstream())
        finally:
            await nc.close()

    return asyncio.run(session())


def messages(stream: Stream) -> list[Stored]:
    """Every message of the stream, in stream order."""

    async def read(js: Any) -> list[Stored]:
        last = (await js.stream_info(stream.name)).state.last_seq
        found = []
        for seq in range(1, last + 1):
            m = await js.get_msg(stream.name, seq)
            found.append(Stored(seq, m.subject, dict(m.headers or {}), m.data))
        return found

    result: list[Stored] = jetstream(read)
    return result


def message_count(stream: Stream) -> int:
    async def count(js: Any) -> int:
        try:
            return int((await js.stream_info(stream.name)).state.messages)
        except nats.js.errors.NotFoundError:
            return 0

    result: int = jetstream(count)
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
