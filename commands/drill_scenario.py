"""A drill's scenario (docs/drills.md): JSON Lines of commands, the ``apply`` contract, with
times. Pure: no database.

The first line may be a header, ``{"scenario": TITLE, "start": TIME, "end": TIME}``; every
other line is a command that may say when it happens relative to the start (``"at":
"+1d2h30m"``) instead of an absolute ``occurred_at``. A ``receive`` without ``received_at`` is
received at its own time, and a line without ``command_id`` gets one from its line number.
Every line is checked before anything runs: a malformed one refuses the whole scenario.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from commands.errors import describe_validation_error
from commands.fields import Moment
from commands.models import Envelope, parse_command
from ledger.domain.errors import ReadinessRefused

OFFSET = re.compile(r"^\+(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
HEADER_FIELDS = frozenset({"scenario", "start", "end"})


@dataclass(frozen=True)
class Step:
    line: int
    at: datetime
    command: Envelope


@dataclass(frozen=True)
class Scenario:
    title: str
    sha256: str
    start: datetime | None
    end: datetime
    steps: tuple[Step, ...]


def offset(text: str) -> timedelta:
    """``+1d2h30m`` (days, hours, minutes; each optional, in that order) as a duration."""
    found = OFFSET.match(text.strip()) if isinstance(text, str) else None
    if found is None or not any(found.groups()):
        raise ValueError(f"{text!r} is not a relative time like +2h, +1d or +1d2h30m")
    days, hours, minutes = (int(g or 0) for g in found.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def _moment(value: Any, name: str) -> datetime:
    from pydantic import TypeAdapter

    try:
        moment: datetime = TypeAdapter(Moment).validate_python(value)
    except ValidationError as e:
        raise ValueError(f"{name}: {describe_validation_error(e)}") from None
    return moment


def _time(value: Any, start: datetime | None, name: str) -> datetime:
    if isinstance(value, str) and value.strip().startswith("+"):
        if start is None:
            raise ValueError(
                f"{name} {value!r} is relative, but the scenario has no start (a first line "
                '{"scenario": …, "start": …})'
            )
        try:  # within the ledger's years, like a time given in full
            return _moment((start + offset(value)).isoformat(), name)
        except OverflowError:  # more days than a timedelta or a date holds
            raise ValueError(
                f"{name} {value!r} lies beyond the latest time the ledger records"
            ) from None
    return _moment(value, name)


def parse_scenario(data: bytes) -> Scenario:
    """The scenario in ``data``, or ``ReadinessRefused`` naming the first malformed line."""
    title, start, end = "", None, None
    steps: list[Step] = []
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            line = raw.decode("utf-8").removeprefix("\ufeff")
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"not valid JSON ({e.msg} at character {e.pos + 1})") from None
            if not isinstance(obj, dict):
                raise ValueError("a line must be a JSON object")
            if "scenario" in obj:
                if steps or title:
                    raise ValueError('the header ({"scenario": …}) must be the first line')
                unknown = set(obj) - HEADER_FIELDS
                if unknown:
                    raise ValueError(f"the header has unknown fields: {', '.join(sorted(unknown))}")
                title = str(obj["scenario"]).strip() or "untitled"
                start = None if obj.get("start") is None else _moment(obj["start"], "start")
                end = obj.get("end")
                continue
            steps.append(_step(number, obj, start))
        except UnicodeDecodeError:
            raise ReadinessRefused(f"line {number}: not UTF-8 text") from None
        except ValueError as e:  # pydantic's ValidationError is one
            message = describe_validation_error(e) if isinstance(e, ValidationError) else str(e)
            raise ReadinessRefused(f"line {number}: {message}") from None
    if not steps:
        raise ReadinessRefused("the scenario has no commands")
    last = max(s.at for s in steps)
    try:
        finish = last if end is None else _time(end, start, "end")
    except ValueError as e:
        raise ReadinessRefused(f"header: {e}") from None
    if finish < last:
        raise ReadinessRefused("header: end lies before the scenario's last command")
    sha = hashlib.sha256(data).hexdigest()
    return Scenario(title or "untitled", sha, start, finish, tuple(steps))


def _step(number: int, obj: dict[str, Any], start: datetime | None) -> Step:
    fields = dict(obj)
    at_text = fields.pop("at", None)
    if at_text is not None and "occurred_at" in fields:
        raise ValueError("give either at or occurred_at, not both")
    if at_text is not None:
        at = _time(at_text, start, "at")
    elif "occurred_at" in fields:
        at = _time(fields["occurred_at"], start, "occurred_at")
    elif start is not None:
        at = start
    else:
        raise ValueError("a command needs its time: at (with a start) or occurred_at")
    fields["occurred_at"] = at.isoformat()
    fields.setdefault("command_id", f"drill-line-{number}")
    if fields.get("command") == "receive":
        received = fields.get("received_at")
        fields["received_at"] = (
            at.isoformat()
            if received is None
            else _time(received, start, "received_at").isoformat()
        )
    return Step(number, at, parse_command(fields))
