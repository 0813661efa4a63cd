"""The sharded rebuild's decoder (``projections.decoding.Decoder``) gives what the library's
mapper gives (``projections.decoding.decode``): the same class, the same values of the same
types, for every stored event of every released shape (tests/fixtures/stored-events), for
text with NUL in it, and for what only the library's path reads. And the reads of the log
the rebuild and the integrity checks use give stream ids as UUIDs on both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from ledger.domain import events as registry
from ledger.domain.text import NUL_SHOWN_AS
from ledger.domain.values import Method
from ledger.store.root import Ledger, open_ledger
from projections.decoding import Decoder, decode
from tests.helpers import run
from tests.integration.test_stored_events import RECORDS


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    path = tmp_path_factory.mktemp("decoder") / "ledger.db"
    with open_ledger(f"sqlite:///{path}") as opened:
        yield opened


def both(
    ledger: Ledger,
    record: dict[str, Any],
    state: bytes | None = None,
    decoder: Decoder | None = None,
) -> tuple[Any, Any]:
    """``record`` decoded by the library's mapper and by ``decoder`` (or a new Decoder)."""
    stored = StoredEvent(
        UUID(record["originator_id"]),
        record["originator_version"],
        record["topic"],
        record["state"].encode() if state is None else state,
    )
    decoder = Decoder(ledger.mapper) if decoder is None else decoder
    fast = decoder.decode(stored.originator_id, stored.originator_version, stored.topic,
                          stored.state)  # fmt: skip
    return decode(ledger.mapper, stored), fast


def same(library: Any, fast: Any) -> None:
    assert type(fast) is type(library)
    assert fast.__dict__ == library.__dict__
    # repr shows the types of the values too (an enum and its text compare equal).
    assert repr(fast.__dict__) == repr(library.__dict__)
    assert [type(v) for v in fast.__dict__.values()] == [type(v) for v in library.__dict__.values()]


@pytest.mark.parametrize(
    "record", [r for _, r in RECORDS], ids=[f"{v}-{r['position']}" for v, r in RECORDS]
)
def test_every_stored_event_of_every_shape_decodes_as_the_library_decodes_it(
    ledger: Ledger, record: dict[str, Any]
) -> None:
    same(*both(ledger, record))


def test_every_registered_event_class_and_every_stored_shape_is_decoded_without_the_library(
    ledger: Ledger,
) -> None:
    decoder = Decoder(ledger.mapper)
    classes, upcast = set(), 0
    for _, record in RECORDS:
        state = json.loads(record["state"])
        event = decoder.decode(UUID(record["originator_id"]), record["originator_version"],
                               record["topic"], record["state"].encode())  # fmt: skip
        classes.add(registry.name_of(event))
        cls = type(event)
        upcast += state.get("class_version", 1) < getattr(cls, "class_version", 1)
    ours = {e.name for e in registry.registered() if e.aggregate.__module__.startswith("ledger.")}

    assert decoder.fallbacks == 0
    assert ours <= classes
    assert upcast > 20  # old shapes went through their upcasters on the fast path


def _with_text(record: dict[str, Any], field: str, text: str) -> bytes:
    state = json.loads(record["state"])
    state[field] = text
    return json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()


def _record(name: str) -> dict[str, Any]:
    return next(r for v, r in RECORDS if r["topic"].endswith(f":{name}") and v == "v3")


def test_a_nul_in_stored_text_is_shown_alike_both_ways(ledger: Ledger) -> None:
    record = _record("Complaint.Assigned")
    state = _with_text(record, "handler", "wang\x00li")
    assert b"\\u0000" in state  # as the library's JSON encoder writes a NUL

    library, fast = both(ledger, record, state)

    same(library, fast)
    assert fast.handler == f"wang{NUL_SHOWN_AS}li"


def test_what_orjson_does_not_read_goes_through_the_library(ledger: Ledger) -> None:
    record = _record("Complaint.Assigned")
    state = json.loads(record["state"])
    # orjson refuses NaN and a lone surrogate, and reads a whole number beyond 64 bits as a
    # float; Python's json reads them all, the numbers as ints.
    for value in (float("nan"), "\ud800", 2**70, -(2**63) - 1, [1, {"n": 2**64}]):
        state["handler"] = value
        text = json.dumps(state, separators=(",", ":")).encode()
        decoder = Decoder(ledger.mapper)
        library, fast = both(ledger, record, text, decoder)

        assert decoder.fallbacks == 1
        assert type(fast) is type(library)
        assert repr(fast.__dict__) == repr(library.__dict__)


def test_actors_kept_decoded_are_told_apart_by_everything_the_transcoding_reads(
    ledger: Ledger,
) -> None:
    record = _record("Complaint.Assigned")
    decoder = Decoder(ledger.mapper)
    actors = []
    for method, credential in (
        (None, None),
        ("token", "t-1"),
        ("token", "t-2"),
        ("asserted", None),
    ):
        state = json.loads(record["state"])
        data = {"id": "wang", "role": "handling_team"}
        if method is not None:
            data["method"] = method
        if credential is not None:
            data["credential"] = credential
        state["actor"] = {"_type_": "actor", "_data_": data}
        text = json.dumps(state, separators=(",", ":")).encode()
        library, fast = both(ledger, record, text, decoder)
        same(library, fast)
        actors.append(fast.actor)

    assert [(a.method, a.credential) for a in actors] == [
        (Method.ASSERTED, None), (Method.TOKEN, "t-1"), (Method.TOKEN, "t-2"),
        (Method.ASSERTED, None),
    ]  # fmt: skip


def test_every_read_of_the_log_gives_stream_ids_as_uuids_and_range_events_the_same_events(
    ledger_url: str, tmp_path: Path
) -> None:
    commands = run(ledger_url, "generate", "--complaints", "5", "--seed", "3")
    path = tmp_path / "load.jsonl"
    path.write_text(commands.stdout, encoding="utf-8")
    assert run(ledger_url, "apply", "--bulk", str(path)).exit_code == 0
    with open_ledger(ledger_url) as opened:
        recorder = opened.ledger_recorder
        scanned = recorder.scan_events(0, 10_000)
        ranged = list(recorder.range_events(None, None, len(scanned)))
        stream = recorder.stream_events(ranged[-1].originator_id)

    for appended in (*scanned, *ranged, *stream):
        assert type(appended.originator_id) is UUID
    assert sorted(ranged, key=lambda a: a.position) == scanned
    assert stream == [a for a in scanned if a.originator_id == ranged[-1].originator_id]
    # Stream by stream, each in order, one UUID object for a stream's run of events.
    assert ranged == sorted(scanned, key=lambda a: (a.originator_id, a.version))


def test_an_actor_kept_decoded_is_not_given_for_one_the_library_reads_otherwise(
    ledger: Ledger,
) -> None:
    # Each pair: an actor the Decoder keeps, then one whose key compared equal to it although
    # the library reads it otherwise (a null method is refused; 1, True and 1.0 are equal
    # keys of a dict, but ids of different types).
    record = _record("Complaint.Assigned")
    pairs = [
        ({"id": "wang", "role": "handling_team"},
         {"id": "wang", "role": "handling_team", "method": None}),
        ({"id": 1, "role": "handling_team"}, {"id": True, "role": "handling_team"}),
        ({"id": 1, "role": "handling_team"}, {"id": 1.0, "role": "handling_team"}),
    ]  # fmt: skip
    for kept, other in pairs:
        decoder = Decoder(ledger.mapper)
        for data in (kept, other):
            state = json.loads(record["state"])
            state["actor"] = {"_type_": "actor", "_data_": data}
            text = json.dumps(state, separators=(",", ":")).encode()
            stored = StoredEvent(UUID(record["originator_id"]), record["originator_version"],
                                 record["topic"], text)  # fmt: skip
            try:
                library = decode(ledger.mapper, stored)
            except Exception as refused:  # the library refuses it: so must the decoder
                with pytest.raises(type(refused)):
                    decoder.decode(stored.originator_id, stored.originator_version,
                                   stored.topic, text)  # fmt: skip
                continue
            fast = decoder.decode(stored.originator_id, stored.originator_version,
                                  stored.topic, text)  # fmt: skip
            same(library, fast)
