"""The feed: read the notification log after the destination's position, publish it batch by
batch, and move the position once the sink has acknowledged each batch.

A kill between a batch's publish and its position update leaves those messages in the
stream and the position before them: the restart publishes them again with the same ids,
and the server drops the copies (``sinks.DUPLICATE_WINDOW``). So the stream holds every
event once, in log order.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from consumers.feed.messages import event_id, to_message
from consumers.feed.position import FeedPositions
from consumers.feed.sinks import FeedError, Published, Sink, StreamRefused
from ledger.store.root import Ledger

Progress = Callable[[int, int], None]


@dataclass
class FeedReport:
    """What a pass published: messages the server stored, copies it dropped, the position."""

    stored: int = 0
    duplicates: int = 0
    position: int = 0

    def add(self, published: Published, position: int) -> None:
        self.stored += published.stored
        self.duplicates += published.duplicates
        self.position = position


class Feed:
    """Publishes one ledger's log to one destination (``name``, e.g. ``nats:LEDGER``)."""

    def __init__(
        self,
        ledger: Ledger,
        sink: Sink,
        name: str,
        *,
        prefix: str,
        source: str,
        batch_size: int = 2000,
    ) -> None:
        self.ledger, self.sink, self.name = ledger, sink, name
        self.prefix, self.source, self.batch_size = prefix, source, batch_size
        self.positions = FeedPositions(ledger)

    def publish_pending(self, progress: Progress | None = None) -> FeedReport:
        """Publish every event after the position, up to the log's head as it is found."""
        self.sink.check()
        self._begins_with_the_log()
        position = self.positions.get(self.name)
        if position and self.sink.empty:  # the stream holds nothing the position counts
            self.positions.move(self.name, position, 0)
            position = 0
        self.sink.empty = False
        position = self._after_stored(position)
        report = FeedReport(position=position)
        head = self.ledger.count_events()
        recorder = self.ledger.recorder
        looked_again = False
        while True:
            notifications = recorder.select_notifications(start=position + 1, limit=self.batch_size)
            if not notifications:
                return report
            if not looked_again:
                # The stream may have been changed since the pass began, before these events
                # were appended: look again now that there is something to send.
                looked_again = True
                self.sink.check()
                if self.sink.empty or self.sink.last is not None or self.sink.first is not None:
                    # Made anew meanwhile, before anything was sent: begin the pass again.
                    return self.publish_pending(progress)
            self.sink.publish([to_message(n, self.source, self.prefix) for n in notifications])
            published = self.sink.flush()
            end = notifications[-1].id
            self.positions.move(self.name, position, end)
            position = end
            report.add(published, position)
            if progress is not None:
                progress(position, max(head, position))

    def _begins_with_the_log(self) -> None:
        """Refuse a stream made anew that holds messages but not from the log's first event:
        made again between two batches of a pass, it took the later batches (the one that
        showed it failed, ``NatsSink._acknowledged``) and lacks what came before; the feed
        publishes in log order and cannot put those in front of them."""
        first: tuple[int, str] | None = getattr(self.sink, "first", None)
        self.sink.first = None
        if first is None:
            return
        found = self.ledger.recorder.select_notifications(start=1, limit=1)
        if found and found[0].id == first[0] and event_id(found[0]) == first[1]:
            return
        stream = self.name.partition(":")[2] or self.name
        raise StreamRefused(
            f"stream {stream} does not begin with this ledger's first event (its first "
            f"message is position {first[0]}), so the feed cannot fill it in order: "
            "delete the stream to publish the whole log again"
        )

    def _after_stored(self, position: int) -> int:
        """The position moved past what the stream holds of this ledger already: the messages
        of a batch stored but not acknowledged (the server lost, or the feed killed) are not
        published again, whether or not the server still remembers their ids. Only when the
        stream's last message is this ledger's event at that position (same id)."""
        last: tuple[int, str] | None = getattr(self.sink, "last", None)
        self.sink.last = None
        if last is None or last[0] <= position:
            return position
        found = self.ledger.recorder.select_notifications(start=last[0], limit=1)
        if not found or found[0].id != last[0] or event_id(found[0]) != last[1]:
            return position
        self.positions.move(self.name, position, last[0])
        return last[0]


@dataclass(frozen=True)
class Backoff:
    """Seconds to wait before each new attempt to reach the server: doubling from ``first``,
    never more than ``longest``."""

    first: float = 0.5
    longest: float = 30.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * 2, self.longest)


Retrying = Callable[[FeedError, float], None]


def follow(
    feed: Feed,
    wakeups: Iterator[None],
    reconnect: Callable[[], Sink] | None = None,
    *,
    backoff: Backoff = Backoff(),
    retrying: Retrying | None = None,
) -> Iterator[FeedReport]:
    """A pass at every wake-up, for ever (``projections.follow.wakeups``).

    When the sink fails (``FeedError``: the server went away, or did not acknowledge a batch)
    the feed closes it, waits (``backoff``), connects again with ``reconnect`` and publishes
    again from its stored position, which is still that of the last acknowledged batch; the
    server drops what it had of the batch in flight, by id. It goes on trying until the server
    is back or the feed is stopped, telling ``retrying`` of each failure. Without
    ``reconnect`` a failure ends it, as does a stream the feed refuses (``StreamRefused``: made
    anew with other subjects or a shorter duplicate window), which waiting does not change.
    Anything else (the ledger's database, a second feed on the position) is not the server's
    and ends it too."""
    connected = True
    for _ in wakeups:
        delays = backoff.delays()
        while True:
            try:
                if not connected:
                    assert reconnect is not None
                    feed.sink = reconnect()
                    connected = True
                report = feed.publish_pending()
                break
            except FeedError as e:
                if reconnect is None or isinstance(e, StreamRefused):
                    raise
                if connected:
                    with contextlib.suppress(Exception):
                        feed.sink.close()
                    connected = False
                delay = next(delays)
                if retrying is not None:
                    retrying(e, delay)
                time.sleep(delay)
        yield report
