"""Which complaints a pass of ``alerts follow`` must judge: those that may still call for an
alert, kept between passes so that a pass does not replay the whole ledger.

A complaint can call for an alert only while it is open (its clocks run) or while an
escalation or a referral of its own is within the horizon. Neither starts without an event
on its stream (a receipt, a reopening, an escalation), so after the first pass, which reads
every complaint, a pass judges the complaints it kept plus those with events appended since
the last one (the log's notifications after the position it reached, read in order: the
stores commit notification ids in order, so none is skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.persistence import MapperDeserialisationError

from ledger.domain import events as registry
from ledger.domain.complaint import Complaint
from ledger.domain.errors import StoredEventUnreadable, unreadable_said
from ledger.domain.values import Channel, Status
from ledger.store.root import Ledger, replay

BATCH = 500


class Watch:
    def __init__(self, ledger: Ledger, horizon: timedelta) -> None:
        self.ledger, self.horizon = ledger, horizon
        self.position = 0
        self.kept: set[UUID] = set()
        self.topics = [e.topic for e in registry.registered() if e.aggregate is Complaint]

    def complaints(self, unreadable: Callable[[str], None]) -> Iterator[list[Complaint]]:
        """The complaints to judge now, a batch at a time. One whose stored events cannot be
        read is told to ``unreadable`` and left out (until an event is appended to it), so
        that it does not stop the alerts of every other complaint."""
        self.kept |= self._changed()  # kept until judged: a pass that fails loses none
        ids = sorted(self.kept)
        for start in range(0, len(ids), BATCH):
            streams = self.ledger.ledger_recorder.select_streams(ids[start : start + BATCH])
            batch = []
            for stream, stored in streams.items():
                try:
                    events = [self.ledger.mapper.to_domain_event(s) for s in stored]
                    complaint = replay(None, events)
                except (MapperDeserialisationError, StoredEventUnreadable) as e:
                    unreadable(unreadable_said(e, f"complaint stream {stream}"))
                    self.kept.discard(stream)
                    continue
                if isinstance(complaint, Complaint):
                    batch.append(complaint)
            yield batch

    def keep(self, complaints: list[Complaint], as_of: datetime) -> None:
        """Keep, of the complaints judged, those that may still call for an alert."""
        since = as_of - self.horizon
        for complaint in complaints:
            if _may_call(complaint, since):
                self.kept.add(complaint.id)
            else:
                self.kept.discard(complaint.id)

    def _changed(self) -> set[UUID]:
        found: set[UUID] = set()
        recorder = self.ledger.recorder
        while True:
            batch = recorder.select_notifications(self.position + 1, BATCH, topics=self.topics)
            found.update(UUID(str(n.originator_id)) for n in batch)
            if len(batch) < BATCH:
                break
            self.position = batch[-1].id
        if batch:
            self.position = batch[-1].id
        return found


def _may_call(complaint: Complaint, since: datetime) -> bool:
    if complaint.status is Status.OPEN:
        return True
    if complaint.channel is Channel.REGULATOR_REFERRAL and complaint.received_at >= since:
        return True
    return any(f.kind == "escalated" and f.at >= since for f in complaint.timeline)
