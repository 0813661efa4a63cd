"""The commands of training and drills (培训、演练): a training session recorded, a drill's
result recorded. Neither names a complaint; both go to the readiness book."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StrictInt, StringConstraints

from commands.envelope import Envelope
from commands.fields import Line, Name
from ledger.domain.calendar import FIRST_YEAR, LAST_YEAR
from ledger.domain.values import Unit

READINESS_COMMANDS = ("record_training", "record_drill")


def _day(value: Any) -> Any:
    """A calendar day written YYYY-MM-DD, within the years the ledger records."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValueError("a date must be written YYYY-MM-DD")
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value.strip()} is not a date of the calendar") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"a date must lie in {FIRST_YEAR}–{LAST_YEAR}")
    return day


Day = Annotated[date, BeforeValidator(_day)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# A drill's summary is the rest of its report (docs/drills.md): about 2,100 and 2,600
# characters for the two shipped scenarios of one complaint each, a few more per complaint a
# scenario plays. Bounded like a published document, so one command cannot store megabytes.
MAX_SUMMARY = 100_000


def _summary(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    if size > MAX_SUMMARY:
        raise ValueError(
            f"the drill's report is {size:,} characters of JSON, more than {MAX_SUMMARY:,}"
        )
    return value


class _ReadinessCommand(Envelope):
    @property
    def target(self) -> str:
        return "the readiness book"


class RecordTraining(_ReadinessCommand):
    """A training session on the plan: its topic, its day and who attended (staff ids)."""

    action = "record_training"
    command: Literal["record_training"] = "record_training"
    topic: Line
    date: Day
    attendees: tuple[Name, ...] = Field(min_length=1, max_length=500)
    unit: Unit | None = None


class RecordDrill(_ReadinessCommand):
    """A drill's result, as ``drill run`` scored it in a scratch ledger (docs/drills.md)."""

    action = "record_drill"
    command: Literal["record_drill"] = "record_drill"
    scenario_sha256: Sha256
    policy_version: Name
    score: Annotated[StrictInt, Field(ge=0, le=100)]
    summary: Annotated[dict[str, Any], AfterValidator(_summary)]
