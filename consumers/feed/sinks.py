"""Where the feed publishes: a ``Sink``. NATS JetStream today; a Kafka sink would be another
class with the same two methods (an idempotent producer keyed by ``Message.id``).

A sink publishes a batch without waiting (``publish``), then ``flush`` waits until the
server has acknowledged every message of it, or raises: the feed moves its position only
after ``flush`` returned, so nothing it counts as published is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from consumers.feed.messages import Message
from ledger.domain.errors import LedgerError

# How long the server remembers a message id to drop a second publish of it. The feed moves
# its position after every acknowledged batch, so a restart publishes again at most the one
# batch that was in flight when it stopped; a service manager restarts it within seconds,
# well inside two minutes (docs/feed.md, "De-duplication"). A longer window costs the server
# memory for every id it remembers (millions at the feed's rate over an hour).
DUPLICATE_WINDOW = 120.0  # seconds
ACK_TIMEOUT = 30.0  # seconds to wait for the acknowledgements of one batch


class FeedError(LedgerError):
    """The feed could not publish: the server is unreachable, refused a message or did not
    acknowledge it in time. Nothing after the last acknowledged batch counts as published."""


class StreamRefused(FeedError):
    """The stream is there but the feed may not use it (``check_stream``): not the server away
    for a while, so a following feed stops on it rather than wait."""


@dataclass
class Published:
    """What the server said of the messages of one flush."""

    stored: int = 0
    duplicates: int = 0  # dropped by the server: it had them already (de-duplicated by id)


class Sink(Protocol):
    """A message stream the feed publishes to."""

    def publish(self, messages: Sequence[Message]) -> None:
        """Send ``messages`` in order, without waiting for the server to acknowledge them."""

    def flush(self) -> Published:
        """Wait until every message sent is acknowledged; raise ``FeedError`` if one is not."""

    def close(self) -> None: ...

    def check(self) -> None:
        """Before each pass, and again before a pass sends its first batch: raise
        ``StreamRefused`` if the destination was changed into one the feed may not use, and
        set ``empty`` and ``last`` again if it was made anew."""

    # Whether the destination held no message of any feed when the sink connected (made
    # just now, or never written to): the feed then starts again at the log's first event,
    # whatever its position says (a stream deleted, or a new server under the same name).
    empty: bool
    # The position and id of the last message of the feed's subjects the destination held
    # when the sink connected (None: none, or the sink cannot tell). A feed behind it (the
    # batch in flight when it lost the server or was killed) starts after it rather than
    # count on the server to drop copies it may no longer remember (``DUPLICATE_WINDOW``).
    last: tuple[int, str] | None
    # The position and id of the first message of the feed's subjects, when the stream was
    # found made anew (or on connecting) holding messages and none dropped from its head
    # (None otherwise): the feed refuses a stream that does not begin with the log's first
    # event, which it cannot fill in order (``Feed.publish_pending``).
    first: tuple[int, str] | None


def covers(pattern: str, subjects: str) -> bool:
    """Whether the stream subject ``pattern`` takes every subject the feed's ``P.>`` names."""
    tokens, wanted = pattern.split("."), subjects.split(".")
    if tokens[-1] != ">" or len(tokens) > len(wanted):
        return False
    return all(t in ("*", w) for t, w in zip(tokens[:-1], wanted[:-1], strict=False))


def check_stream(name: str, subjects: str, taken: list[str], window: float | None) -> None:
    """Refuse an existing stream the feed cannot keep its promise on: one whose subjects do
    not take the feed's, or whose duplicate window is shorter than ``DUPLICATE_WINDOW``."""
    if not any(covers(pattern, subjects) for pattern in taken):
        raise StreamRefused(
            f"stream {name} takes {taken}, not {subjects}: "
            "give another --stream or the --subject-prefix it was created with"
        )
    if window is None or window < DUPLICATE_WINDOW:
        shown = "none" if not window else f"{window:g} s"
        raise StreamRefused(
            f"stream {name} has duplicate_window {shown}, the feed needs at least "
            f"{DUPLICATE_WINDOW:g} s to drop what a restart publishes again: "
            f"raise it (nats stream edit {name} --dupe-window {DUPLICATE_WINDOW:g}s) "
            "or give another --stream"
        )


def _feed_message(raw: Any) -> tuple[int, str] | None:
    """The position and id of a stored message, None when it is not a feed's message."""
    try:
        position = orjson.loads(raw.data)["position"]
        ident = (raw.headers or {})["Nats-Msg-Id"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None  # not a message of a feed: the server's de-duplication alone
    return (position, ident) if isinstance(position, int) else None


class NatsSink:
    """A JetStream stream: created if missing, with a duplicate window; each message is
    published with its id as ``Nats-Msg-Id``, so the server keeps one copy of each."""

    def __init__(self, url: str, stream: str, subjects: str) -> None:
        self.url, self.stream, self.subjects = url, stream, subjects
        self._loop = asyncio.new_event_loop()
        self._pending: list[asyncio.Future[Any]] = []
        self._nc: Any = None
        self._js: Any = None
        self._lost: asyncio.Event | None = None
        self.empty = False
        self.last: tuple[int, str] | None = None
        self.first: tuple[int, str] | None = None
        # The highest stream sequence the server acknowledged storing since the stream was
        # found made anew: a stream deleted and made again (same name and subjects) between
        # two batches goes on acknowledging, from sequence 1 again (``_acknowledged``).
        self._acked = 0
        self._created: Any = None  # when the stream the feed publishes into was made
        self._checked = False  # the stream was looked at on connecting, no pass since
        try:
            self._run(self._connect())
        except BaseException:
            self.close()
            raise

    def _run(self, work: Any) -> Any:
        return self._loop.run_until_complete(work)

    async def _connect(self) -> None:
        import nats
        from nats.errors import Error as NatsError

        async def quiet(e: Exception) -> None:  # the failing call reports it
            pass

        # Acknowledgements pending when the connection drops are never answered (nats-py
        # leaves their futures waiting): ``_acknowledged`` waits on this too.
        lost = self._lost = asyncio.Event()

        async def closed() -> None:
            lost.set()

        try:
            self._nc = await nats.connect(
                self.url, connect_timeout=5, max_reconnect_attempts=2, allow_reconnect=False,
                error_cb=quiet, disconnected_cb=closed, closed_cb=closed,
            )  # fmt: skip
        except (NatsError, OSError) as e:
            raise FeedError(f"cannot reach NATS at {self.url}: {e or type(e).__name__}") from None
        self._js = self._nc.jetstream(publish_async_max_pending=10_000)
        await self._stream()
        self._checked = True

    def check(self) -> None:
        # Publishing into a stream made anew with the same subjects (or edited) goes on
        # succeeding, so only asking for it shows a window too short or a stream emptied.
        if self._checked:
            self._checked = False  # just connected: the stream was looked at already
            return
        self._run(self._stream())

    async def _stream(self) -> None:
        """Look at the stream (make it if missing): refuse one the feed cannot keep its
        promise on, and note whether it is another than the one seen before."""
        from nats.errors import Error as NatsError
        from nats.js.api import StreamConfig
        from nats.js.errors import BadRequestError, NotFoundError

        config = StreamConfig(
            name=self.stream, subjects=[self.subjects], duplicate_window=DUPLICATE_WINDOW
        )
        try:
            try:
                info = await self._js.stream_info(self.stream)
            except NotFoundError:
                try:
                    info = await self._js.add_stream(config)
                except BadRequestError as e:
                    # The server's answer to this configuration (subjects another stream
                    # takes, a limit of the account): not the server away for a while.
                    raise StreamRefused(
                        f"JetStream at {self.url} refused to make stream {self.stream}: "
                        f"{e.description or e}"
                    ) from None
                self.empty, self.last, self.first = True, None, None
                self._created, self._acked = info.created, 0
                return
            check_stream(self.stream, self.subjects, info.config.subjects or [],
                         info.config.duplicate_window)  # fmt: skip
            if self._created is not None and info.created == self._created:
                return  # the same stream as before: what it holds is what the feed sent
            self._created, self._acked = info.created, 0
            # A purged stream keeps its last sequence; one made anew starts again at zero.
            self.empty = info.state.messages == 0 and info.state.last_seq == 0
            self.last = await self._last_message() if info.state.messages else None
            # Its head, unless limits (or a purge) dropped messages from it: a stream that
            # had its head and lost it to its own limits is not the feed's to refuse.
            whole = info.state.messages and info.state.first_seq == 1
            self.first = await self._first_message() if whole else None
        except NatsError as e:
            if self._closed_under(e):
                raise FeedError(f"lost the connection to NATS at {self.url}") from None
            raise FeedError(f"JetStream at {self.url} refused stream {self.stream}: {e}") from None

    async def _last_message(self) -> tuple[int, str] | None:
        """The position and id of the stream's last message under the feed's subjects."""
        from nats.js.errors import NotFoundError

        try:
            raw = await self._js.get_last_msg(self.stream, self.subjects)
        except NotFoundError:
            return None
        return _feed_message(raw)

    async def _first_message(self) -> tuple[int, str] | None:
        """The position and id of the stream's first message under the feed's subjects."""
        from nats.js.errors import NotFoundError

        try:
            raw = await self._js.get_msg(self.stream, seq=1, next=True, subject=self.subjects)
        except NotFoundError:
            return None
        return _feed_message(raw)

    def publish(self, messages: Sequence[Message]) -> None:
        self._run(self._publish(messages))

    def _closed_under(self, e: Exception) -> bool:
        """Whether ``e`` is the connection closed under a call (the server gone): nats-py
        marks it closed before it calls ``closed``, so ``_lost`` may not be set yet."""
        from nats.errors import ConnectionClosedError

        return isinstance(e, ConnectionClosedError) or bool(self._lost and self._lost.is_set())

    async def _publish(self, messages: Sequence[Message]) -> None:
        from nats.errors import Error as NatsError

        js = self._js
        try:
            for m in messages:
                self._pending.append(
                    await js.publish_async(m.subject, m.body, headers={"Nats-Msg-Id": m.id})
                )
        except NatsError as e:
            if self._closed_under(e):
                raise FeedError(f"lost the connection to NATS at {self.url}") from None
            raise FeedError(f"NATS at {self.url} refused a message: {e}") from None

    def flush(self) -> Published:
        pending, self._pending = self._pending, []
        if not pending:
            return Published()
        return self._run(self._acknowledged(pending))  # type: ignore[no-any-return]

    async def _acknowledged(self, pending: list[asyncio.Future[Any]]) -> Published:
        assert self._lost is not None
        acked = asyncio.gather(*pending)
        lost = asyncio.ensure_future(self._lost.wait())
        await asyncio.wait((acked, lost), timeout=ACK_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        lost.cancel()
        if not acked.done():
            acked.cancel()
            with contextlib.suppress(BaseException):  # cancelled: nothing to keep of it
                await acked
            if self._lost.is_set():
                raise FeedError(f"lost the connection to NATS at {self.url}")
            raise FeedError(
                f"NATS at {self.url} did not acknowledge {len(pending)} message(s) "
                f"in {ACK_TIMEOUT:.0f} s"
            )
        if (e := acked.exception()) is not None:
            raise FeedError(f"NATS at {self.url} did not store a message: {e}")
        acks = acked.result()
        if any(ack.stream != self.stream for ack in acks):
            # Another stream took the subjects (the feed's was deleted): connecting again
            # makes the feed's stream, or says why the server will not.
            raise FeedError(
                f"NATS at {self.url} stored messages in another stream than {self.stream}"
            )
        for ack in acks:
            # A copy dropped answers with the sequence of the message stored before; a
            # message stored has the next sequence, unless the stream was made anew.
            if not ack.duplicate and ack.seq <= self._acked:
                raise FeedError(
                    f"stream {self.stream} at {self.url} was made anew while the feed "
                    f"published (sequence {ack.seq} after {self._acked}): the batch does not "
                    "count as published"
                )
            self._acked = max(self._acked, ack.seq)
        duplicates = sum(1 for ack in acks if ack.duplicate)
        return Published(len(acks) - duplicates, duplicates)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            if self._nc is not None and not self._nc.is_closed:
                self._run(self._nc.close())
        finally:
            try:
                self._run(_settled())
            finally:
                self._loop.close()


async def _settled() -> None:
    """The loop's other tasks ended: nats-py marks a lost connection closed before its read
    loop has ended, and a task still pending when the loop is closed is reported on standard
    error ('Task was destroyed but it is pending!'). They are cancelled (the sink is done
    with them: a call a signal interrupted is not waited for) and their exceptions taken, so
    that none is reported as never retrieved either."""
    tasks = asyncio.all_tasks() - {asyncio.current_task()}
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    done, _ = await asyncio.wait(tasks, timeout=5)
    for task in done:
        if not task.cancelled():
            task.exception()
