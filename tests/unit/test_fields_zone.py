"""Times given at a fixed offset are kept in one zone object per offset
(``commands.fields._shared_zone``), so that comparing them asks no zone for its offset. The
time, its ISO form, the command's fingerprints and the bytes an event stores are those of
the zone object pydantic made for the string."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder
from pydantic_core import TzInfo

from commands import fingerprints
from commands.models import parse_command

KEY = bytes(range(32))
TIMES = [
    "2026-01-01T10:00:00+08:00",
    "2026-01-01T10:00:00Z",
    "2026-01-01T10:00:00+00:00",
    "2026-01-01T10:00:00-00:00",
    "2026-01-01T10:00:00.123456-05:30",
    "2026-06-30T23:59:59.5+05:45",
    "2026-01-01T10:00:00+14:00",
    "2026-01-01T10:00:00-12:00",
]


def note(at: str, command_id: str = "n-1") -> Any:
    return parse_command(
        {"command": "add_note", "command_id": command_id, "ref": "TZ-1", "occurred_at": at,
         "actor": {"id": "li", "role": "customer_service"}, "text": "客户来电"}
    )  # fmt: skip


def as_pydantic_made_it(command: Any) -> Any:
    """The same command with its time in a zone object of pydantic's own, as read before."""
    at = command.occurred_at
    zone = TzInfo(int(at.utcoffset().total_seconds()))
    return command.model_copy(update={"occurred_at": at.replace(tzinfo=zone)})


@pytest.mark.parametrize("text", TIMES)
def test_a_time_in_the_shared_zone_is_the_same_time_with_the_same_fingerprints(text: str) -> None:
    ours = note(text)
    before = as_pydantic_made_it(ours)
    assert type(before.occurred_at.tzinfo) is TzInfo
    assert ours.occurred_at == before.occurred_at == datetime.fromisoformat(text)
    assert ours.occurred_at.utcoffset() == before.occurred_at.utcoffset()
    assert ours.occurred_at.isoformat() == before.occurred_at.isoformat()
    assert str(ours.occurred_at) == str(before.occurred_at)
    assert ours.model_dump_json() == before.model_dump_json()
    assert ours.fingerprint() == before.fingerprint()
    assert fingerprints.keyed(ours, KEY) == fingerprints.keyed(before, KEY)
    assert fingerprints.keyed(ours, None) == fingerprints.keyed(before, None)
    transcoder = JSONTranscoder()
    transcoder.register(DatetimeAsISO())
    stored = transcoder.encode({"occurred_at": ours.occurred_at})
    assert stored == transcoder.encode({"occurred_at": before.occurred_at})
    assert hashlib.sha256(stored).hexdigest()  # (bytes, as the event table holds them)


def test_times_at_one_offset_share_one_zone_object() -> None:
    first, second = note(TIMES[0], "a"), note("2027-03-04T05:06:07+08:00", "b")
    assert first.occurred_at.tzinfo is second.occurred_at.tzinfo
    assert note(TIMES[1], "c").occurred_at.tzinfo is note(TIMES[2], "d").occurred_at.tzinfo


def test_a_named_zone_is_kept() -> None:
    """A time built in code in a named zone (whose offsets have a history) keeps it: only
    fixed offsets are replaced."""
    shanghai = ZoneInfo("Asia/Shanghai")
    command = note(datetime(2026, 1, 1, 10, tzinfo=shanghai))  # type: ignore[arg-type]
    assert command.occurred_at.tzinfo is shanghai
