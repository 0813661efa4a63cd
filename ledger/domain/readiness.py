"""Training and drills (培训、演练): how the organisation keeps ready to follow the plan.

One ledger-wide aggregate in one stream with a fixed id, like the staff directory: each
training session (who attended, on what, when) and each drill's result (the scenario's
SHA-256, the plan version it was run against, the score and its summary). A plan revision
names the drill that prompted it (``policy publish --drill``), so a drill id must be found
here before the revision is recorded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import ReadinessRefused
from ledger.domain.events import register
from ledger.domain.values import Actor, Stamp

READINESS_BOOK_ID = uuid.UUID("5ab12d8c-6d51-5eaf-9a71-2c3d4e5f6a71")
READINESS_REF = "@readiness"  # the book's name in the command log (never a complaint reference)


@dataclass(frozen=True)
class TrainingSession:
    training_id: str
    topic: str
    held_on: date
    attendees: tuple[str, ...]
    unit: str | None
    recorded_by: str


@dataclass(frozen=True)
class Drill:
    drill_id: str
    occurred_at: datetime
    scenario_sha256: str
    policy_version: str
    score: int
    summary: dict[str, Any]
    run_by: str
    command_id: str


def training_id_of(number: int) -> str:
    return f"TR-{number:04d}"


def drill_id_of(number: int) -> str:
    return f"DR-{number:04d}"


class ReadinessBook(Aggregate):
    """Every training session and every drill result, numbered in the order recorded."""

    @staticmethod
    def create_id() -> uuid.UUID:
        return READINESS_BOOK_ID

    @event("Opened")
    def __init__(self) -> None:
        self.ref = READINESS_REF
        self.sessions: list[TrainingSession] = []
        self.drills: dict[str, Drill] = {}

    def record_training(
        self,
        stamp: Stamp,
        *,
        topic: str,
        held_on: date,
        attendees: tuple[str, ...],
        unit: str | None,
    ) -> str:
        if len(set(attendees)) != len(attendees):
            raise ReadinessRefused("attendee: a member is named twice")
        training_id = training_id_of(len(self.sessions) + 1)
        self._training_recorded(
            stamp.actor, stamp.occurred_at, stamp.command_id, training_id=training_id,
            topic=topic, held_on=held_on.isoformat(), attendees=list(attendees), unit=unit,
        )  # fmt: skip
        return training_id

    def complete_drill(
        self,
        stamp: Stamp,
        *,
        scenario_sha256: str,
        policy_version: str,
        score: int,
        summary: dict[str, Any],
    ) -> str:
        drill_id = drill_id_of(len(self.drills) + 1)
        self._drill_completed(
            stamp.actor, stamp.occurred_at, stamp.command_id, drill_id=drill_id,
            scenario_sha256=scenario_sha256, policy_version=policy_version, score=score,
            summary=summary,
        )  # fmt: skip
        return drill_id

    def check_drill(self, drill_id: str) -> None:
        if drill_id not in self.drills:
            known = ", ".join(self.drills) or "none recorded yet"
            raise ReadinessRefused(f"drill: no drill {drill_id!r} (drills: {known})")

    @event("TrainingRecorded")
    def _training_recorded(
        self, actor: Actor, occurred_at: datetime, command_id: str, training_id: str,
        topic: str, held_on: str, attendees: list[str], unit: str | None,
    ) -> None:  # fmt: skip
        self.sessions.append(
            TrainingSession(training_id, topic, date.fromisoformat(held_on), tuple(attendees),
                            unit, actor.id)
        )  # fmt: skip

    @event("DrillCompleted")
    def _drill_completed(
        self, actor: Actor, occurred_at: datetime, command_id: str, drill_id: str,
        scenario_sha256: str, policy_version: str, score: int, summary: dict[str, Any],
    ) -> None:  # fmt: skip
        self.drills[drill_id] = Drill(
            drill_id, occurred_at, scenario_sha256, policy_version, score, summary, actor.id,
            command_id,
        )  # fmt: skip


# The version of each event's stored shape (ledger.domain.events, docs/design.md).
register(ReadinessBook, {"Opened": 1, "TrainingRecorded": 1, "DrillCompleted": 1})
