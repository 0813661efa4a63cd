"""How an event's shape changes (docs/design.md, "Evolving events"): the class gets the next
``class_version`` and an ``upcast_vN_vN+1``; events stored in the old shape are never
rewritten, and read back in the new one. Shown on a test-only aggregate, through the library's
real SQLite recorder and mapper."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from eventsourcing.utils import get_topic

from ledger.domain import events as registry


class Memo(Aggregate):
    """Version 1 of ``Noted`` had only ``text``; version 2 adds ``language``."""

    @event("Started")
    def __init__(self) -> None:
        self.notes: list[tuple[str, str]] = []

    class Noted(Aggregate.Event):
        text: str
        language: str
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["language"] = "zh"  # every note before version 2 was written in Chinese

    @event(Noted)
    def note(self, text: str, language: str) -> None:
        self.notes.append((text, language))


registry.register(Memo, {"Started": 1, "Noted": 2})


@pytest.fixture
def recorder(tmp_path: Path) -> SQLiteApplicationRecorder:
    made = SQLiteApplicationRecorder(SQLiteDatastore(str(tmp_path / "memo.db")))
    made.create_table()
    return made


def _mapper() -> Mapper[uuid.UUID]:
    transcoder = JSONTranscoder()
    transcoder.register(DatetimeAsISO())
    transcoder.register(UUIDAsHex())
    return Mapper(transcoder=transcoder)


def test_an_event_stored_as_version_1_is_read_back_as_version_2(
    recorder: SQLiteApplicationRecorder,
) -> None:
    mapper = _mapper()
    memo = Memo()
    started = mapper.to_stored_event(memo.collect_events()[0])
    # What the release before version 2 stored: no class_version, no language.
    v1_state = mapper.transcoder.encode(
        {"timestamp": datetime(2026, 1, 5, tzinfo=UTC), "text": "客户要求书面答复"}
    )
    recorder.insert_events([started, StoredEvent(memo.id, 2, get_topic(Memo.Noted), v1_state)])

    stored = recorder.select_events(memo.id)
    decoded = [mapper.to_domain_event(s) for s in stored]
    replayed: Any = None
    for e in decoded:
        replayed = e.mutate(replayed)

    assert bytes(stored[1].state) == v1_state  # the stored bytes are never rewritten
    assert "class_version" not in json.loads(stored[1].state)
    assert decoded[1].language == "zh"  # type: ignore[attr-defined]
    assert decoded[1].text == "客户要求书面答复"  # type: ignore[attr-defined]
    assert replayed.notes == [("客户要求书面答复", "zh")]
    assert registry.entry_of(decoded[1]).class_version == 2


def test_an_event_of_version_2_stores_its_version_and_is_not_upcast_again(
    recorder: SQLiteApplicationRecorder,
) -> None:
    mapper = _mapper()
    memo = Memo()
    memo.note(text="call back on Monday", language="en")
    recorder.insert_events([mapper.to_stored_event(e) for e in memo.collect_events()])

    stored = recorder.select_events(memo.id)
    noted = mapper.to_domain_event(stored[1])

    assert json.loads(stored[1].state)["class_version"] == 2
    assert (noted.text, noted.language) == ("call back on Monday", "en")  # type: ignore[attr-defined]
