"""The command log and the personal-data keys, checked against the chained events.

Neither table is hash-chained: the command log is an index of the commands applied, and a
key is destroyed by an erasure. Both are checked against the events instead, which are:

* every command id an event carries has its command-log entry, naming the event's
  complaint and, as the version the command left the complaint at, the version of that
  command's last event; and every entry is borne out by such an event (an entry whose
  events are gone, or that was inserted, is named);
* a command's events were appended together, one after another, each of another kind: a
  command whose events recur later, or repeat a kind, was applied twice (its command-log
  entry, which makes commands idempotent, was removed in between);
* every complaint's key is in ``person_keys`` unless a ``PersonalDataErased`` event
  destroyed it, and no destroyed key is back.

Events are fed in position order after the chain has vouched for them; look-ups go to the
database ``FLUSH`` at a time, so memory does not grow with the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn, Protocol, TypeVar
from uuid import UUID

import orjson

from ledger.domain.errors import IntegrityViolation
from ledger.domain.events import topic_of
from ledger.domain.values import reference_id
from ledger.integrity.sealing import event_name
from ledger.store.books import stream_id
from ledger.store.side_queries import CommandRow

FLUSH = 10_000  # command ids (or keys) looked up at once
CHUNK = 500
_KEYS = {key: (f'"{key}":"'.encode(), f'"{key}"'.encode()) for key in ("command_id", "key_id")}
T = TypeVar("T")


@lru_cache(maxsize=1)
def _key_topics() -> tuple[str, str]:
    """The stored names of the events that bring and destroy a complaint's key."""
    import ledger.domain.complaint  # noqa: F401  (registers the complaint's events; verify
    # decodes no event, so the module is imported only when a log is checked)

    return topic_of("Complaint.Received"), topic_of("Complaint.PersonalDataErased")


class Recorder(Protocol):
    def command_rows(self, command_ids: list[str]) -> list[CommandRow]: ...
    def count_commands(self) -> int: ...
    def scan_commands(self, after: str, limit: int) -> list[CommandRow]: ...
    def event_states(self, keys: list[tuple[UUID, int]]) -> dict[tuple[UUID, int], bytes]: ...
    def person_keys(self, key_ids: list[str]) -> dict[str, bytes]: ...


@dataclass(slots=True)
class _Command:
    oid: bytes
    position: int
    first: int
    last: int
    topics: tuple[str, ...]


@lru_cache(maxsize=4096)
def _stream(ref: str) -> bytes:
    if not isinstance(ref, str):  # SQLite keeps the type a value was written with
        kind = "bytes" if isinstance(ref, bytes) else type(ref).__name__
        raise IntegrityViolation(
            f"the command log names the reference {ref!r}, stored as {kind}, not as the "
            "ledger writes it: the entry was altered outside the ledger"
        )
    return (stream_id(ref) or reference_id(ref)).bytes


def _fields(state: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(state)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _field(state: bytes, key: str) -> str | None:
    """The text value of ``key`` in the event's stored JSON. Where the key occurs once, in the
    compact form the ledger writes, and its value has no escapes, the value is cut out of the
    bytes: parsing each event whole would cost more than hashing it. Otherwise the event is
    parsed and its top-level key read."""
    compact, bare = _KEYS[key]
    at = state.rfind(compact)
    if at >= 0:
        start = at + len(compact)
        end = state.find(b'"', start)
        if end >= 0 and state.find(b"\\", start, end) < 0 and state.count(bare) == 1:
            return state[start:end].decode()
    elif bare not in state:
        return None
    data = _fields(state)
    value = data.get(key) if key == "command_id" else _key_id(data)
    return value if isinstance(value, str) else None


def _key_id(data: dict[str, Any]) -> Any:
    sealed = data.get("complainant")
    if isinstance(sealed, dict) and isinstance(sealed.get("_data_"), dict):
        return sealed["_data_"].get("key_id")
    return data.get("key_id")


def _at_once(fn: Callable[..., T], *args: Any) -> Future[T]:
    done: Future[T] = Future()
    done.set_result(fn(*args))
    return done


class SideTables:
    """Feed it every event (``add``), then ``finish`` (the whole log) or ``finish_stream``."""

    def __init__(
        self, recorder: Recorder, name: Callable[[UUID], str], pool: Executor | None = None
    ) -> None:
        self.recorder, self.name = recorder, name
        self._run = pool.submit if pool is not None else _at_once
        self.commands: dict[str, _Command] = {}
        self._looked_up: tuple[Future[list[CommandRow]], dict[str, _Command]] | None = None
        self._open_id: str | None = None  # the command of the last event that carried one
        self.confirmed = 0  # command-log entries borne out by an event
        self.received: dict[str, tuple[int, bytes, int]] = {}  # key id: position, oid, version
        self.missing: dict[str, tuple[int, bytes, int]] = {}  # not found, unless erased later
        self.erased: dict[str, tuple[int, bytes]] = {}
        self.received_topic, self.erased_topic = _key_topics()

    def _where(self, position: int, oid: bytes, version: int) -> str:
        return f"position {position} ({self.name(UUID(bytes=oid))} version {version})"

    def add(self, position: int, oid: bytes, version: int, topic: str, state: bytes) -> None:
        command_id = _field(state, "command_id")
        if command_id is not None:
            if command_id == self._open_id:
                self._continue(command_id, position, oid, version, topic)
            else:
                self._start(command_id, position, oid, version, topic)
        if topic == self.received_topic:
            key_id = _field(state, "key_id")
            if key_id is not None:
                self.received[key_id] = (position, oid, version)
                if len(self.received) >= FLUSH:
                    self._check_keys()
        elif topic == self.erased_topic:
            key_id = _field(state, "key_id")
            if key_id is not None:
                self.erased[key_id] = (position, oid)
                self.missing.pop(key_id, None)

    def _start(self, command_id: str, position: int, oid: bytes, version: int, topic: str) -> None:
        """A command's first event. A command's events are appended together, one after the
        other, so a command seen before, other events in between, was applied again."""
        seen = self.commands.get(command_id)
        if seen is not None:
            self._applied_twice(command_id, seen, position, oid, version, topic)
        if len(self.commands) >= FLUSH:  # between two commands: every command checked is whole
            self._check_commands()
        self._open_id = command_id
        self.commands[command_id] = _Command(oid, position, version, version, (topic,))

    def _continue(
        self, command_id: str, position: int, oid: bytes, version: int, topic: str
    ) -> None:
        """A further event of the command before: the next version of the same complaint,
        of a kind the command has not recorded yet (no command records two of one kind)."""
        seen = self.commands[command_id]
        if oid != seen.oid:
            raise IntegrityViolation(
                f"{self._where(position, oid, version)}: {event_name(topic)} carries command "
                f"{command_id!r}, which also recorded events of "
                f"{self.name(UUID(bytes=seen.oid))}: an event was copied or forged"
            )
        if version != seen.last + 1 or topic in seen.topics:
            self._applied_twice(command_id, seen, position, oid, version, topic)
        seen.last = version
        seen.topics += (topic,)

    def _applied_twice(
        self, command_id: str, seen: _Command, position: int, oid: bytes, version: int, topic: str
    ) -> NoReturn:
        raise IntegrityViolation(
            f"{self._where(position, oid, version)}: command {command_id!r} recorded "
            f"{event_name(topic)} again (it first recorded {event_name(seen.topics[0])} at "
            f"position {seen.position}): it was applied twice, its command-log entry removed "
            "in between"
        )

    def _check_commands(self) -> None:
        """Look the batch's commands up (in the background, when there is a pool) and check
        the batch before it, whose look-up ran while this one was read and hashed."""
        batch, self.commands = self.commands, {}
        lookup = self._run(self.recorder.command_rows, list(batch))
        if self._looked_up is not None:
            self._settle(*self._looked_up)
        self._looked_up = (lookup, batch)

    def _settle_commands(self) -> None:
        self._run = _at_once  # the last batch: nothing left to overlap it with
        self._check_commands()
        if self._looked_up is not None:
            self._settle(*self._looked_up)
            self._looked_up = None

    def _settle(self, lookup: Future[list[CommandRow]], batch: dict[str, _Command]) -> None:
        entries = {r[0]: r for r in lookup.result()}
        for command_id, seen in batch.items():
            entry = entries.get(command_id)
            if entry is None or _stream(entry[1]) != seen.oid or entry[2] != seen.last:
                self._refute(command_id, seen, entry)
        self.confirmed += len(batch)

    def _refute(self, command_id: str, seen: _Command, entry: CommandRow | None) -> NoReturn:
        where = self._where(seen.position, seen.oid, seen.first)
        if entry is None:
            raise IntegrityViolation(
                f"{where}: {event_name(seen.topics[0])} was recorded by command {command_id!r}, "
                "which has no command-log entry: the entry was deleted"
            )
        _, ref, version = entry
        if _stream(ref) != seen.oid:
            raise IntegrityViolation(
                f"{where}: the command log names {ref} for command {command_id!r}: the entry "
                "was altered"
            )
        raise IntegrityViolation(
            f"{where}: the command log says command {command_id!r} left the complaint at "
            f"version {version}, but its events end at version {seen.last}: the entry was "
            "altered, or the command was applied again later"
        )

    def _check_keys(self) -> None:
        ids = list(self.received)
        present: set[str] = set()
        for start in range(0, len(ids), CHUNK):
            present.update(self.recorder.person_keys(ids[start : start + CHUNK]))
        for key_id, found in self.received.items():
            if key_id not in present and key_id not in self.erased:
                self.missing[key_id] = found
        self.received.clear()

    def finish(self) -> None:
        """After the last event of the log: every command-log entry must have been borne out,
        every key not erased must be there, and no erased one."""
        self._settle_commands()
        self._check_keys()
        if self.confirmed != self.recorder.count_commands():
            self._name_unbacked_entry(self._all_entries())
        self._check_missing_and_restored()

    def finish_stream(self, entries: list[CommandRow]) -> None:
        """After the last event of one complaint, whose command-log entries are ``entries``."""
        self._settle_commands()
        self._check_keys()
        if self.confirmed != len(entries):
            self._name_unbacked_entry(iter([entries]))
        self._check_missing_and_restored()

    def _check_missing_and_restored(self) -> None:
        for key_id, (position, oid, version) in sorted(self.missing.items(), key=lambda i: i[1]):
            raise IntegrityViolation(
                f"{self._where(position, oid, version)}: the key of the complainant's personal "
                f"data ({key_id}) is missing, but no PersonalDataErased records an erasure: the "
                "key was deleted outside the ledger"
            )
        erased = list(self.erased)
        for start in range(0, len(erased), CHUNK):
            for key_id in self.recorder.person_keys(erased[start : start + CHUNK]):
                position, oid = self.erased[key_id]
                raise IntegrityViolation(
                    f"position {position} ({self.name(UUID(bytes=oid))}): the key that "
                    f"PersonalDataErased destroyed ({key_id}) is back in person_keys: it was "
                    "restored outside the ledger"
                )

    def _all_entries(self) -> Iterator[list[CommandRow]]:
        after = ""
        while True:
            rows = self.recorder.scan_commands(after, FLUSH)
            if not rows:
                return
            yield rows
            after = rows[-1][0]

    def _name_unbacked_entry(self, chunks: Iterator[list[CommandRow]]) -> None:
        """Find an entry that no event bears out (only after the counts disagreed)."""
        for rows in chunks:
            keys = [(UUID(bytes=_stream(ref)), version) for _, ref, version in rows]
            states = self.recorder.event_states(keys)
            for (command_id, ref, version), key in zip(rows, keys, strict=True):
                state = states.get(key)
                if state is None or _field(state, "command_id") != command_id:
                    raise IntegrityViolation(
                        f"the command log has command {command_id!r} leaving {ref} at version "
                        f"{version}, but no such event of that command exists: the entry was "
                        "inserted or altered, or the events were deleted"
                    )
        raise IntegrityViolation(
            "the command log holds entries that no event bears out: entries were inserted "
            "outside the ledger"
        )
