"""The readiness book's handlers: load the book (opened on its first record), check what the
staff directory knows, decide."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from commands.handler_table import handles
from commands.models import Envelope
from commands.readiness_models import RecordDrill, RecordTraining
from ledger.domain.errors import DirectoryRefused
from ledger.domain.readiness import ReadinessBook
from ledger.domain.values import Stamp
from ledger.store.books import load_readiness_book, policy_version

if TYPE_CHECKING:
    from commands.handlers import Handler, LedgerPort


def _book(ledger: LedgerPort) -> ReadinessBook:
    return load_readiness_book(ledger) or ReadinessBook()


def record_training(
    ledger: LedgerPort, cmd: RecordTraining, stamp: Stamp, now: datetime
) -> ReadinessBook:
    directory = ledger.staff_directory()
    if directory is not None and directory.members:
        strangers = [a for a in cmd.attendees if a not in directory.members]
        if strangers:
            raise DirectoryRefused(f"attendee: {', '.join(strangers)} not in the staff directory")
    book = _book(ledger)
    book.record_training(
        stamp, topic=cmd.topic, held_on=cmd.date, attendees=cmd.attendees,
        unit=None if cmd.unit is None else str(cmd.unit),
    )  # fmt: skip
    return book


def record_drill(
    ledger: LedgerPort, cmd: RecordDrill, stamp: Stamp, now: datetime
) -> ReadinessBook:
    policy_version(ledger, cmd.policy_version)  # an unknown version is refused
    book = _book(ledger)
    book.complete_drill(
        stamp, scenario_sha256=cmd.scenario_sha256, policy_version=cmd.policy_version,
        score=cmd.score, summary=cmd.summary,
    )  # fmt: skip
    return book


READINESS_HANDLERS: dict[type[Envelope], Handler] = dict(
    [
        handles(RecordTraining, record_training),
        handles(RecordDrill, record_drill),
    ]
)
