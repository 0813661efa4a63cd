"""The feed: read the notification log after the destination's position, publish it batch by
batch, and move the position once the sink has acknowledged each batch.

A kill between a batch's publish and its position update leaves those messages in the
stream and the position before them: the restart publishes them again with the same ids,
and the server drops the copies (``sinks.DUPLICATE_WINDOW``). So the stream holds every
event once, in log order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from consumers.feed.messages import to_message
from consumers.feed.position import FeedPositions
from consumers.feed.sinks import Published, Sink
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
        position = self.positions.get(self.name)
        if position and self.sink.empty:  # the stream holds nothing the position counts
            self.positions.move(self.name, position, 0)
            position = 0
        self.sink.empty = False
        report = FeedReport(position=position)
        head = self.ledger.count_events()
        recorder = self.ledger.recorder
        while True:
            notifications = recorder.select_notifications(start=position + 1, limit=self.batch_size)
            if not notifications:
                return report
            self.sink.publish([to_message(n, self.source, self.prefix) for n in notifications])
            published = self.sink.flush()
            end = notifications[-1].id
            self.positions.move(self.name, position, end)
            position = end
            report.add(published, position)
            if progress is not None:
                progress(position, max(head, position))


def follow(feed: Feed, wakeups: Iterator[None]) -> Iterator[FeedReport]:
    """A pass at every wake-up, for ever (``projections.follow.wakeups``). A failure ends it
    (the position stays at the last acknowledged batch): the service manager restarts it."""
    for _ in wakeups:
        yield feed.publish_pending()
