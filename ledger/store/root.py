"""The event store: one eventsourcing Application, its persistence chosen by URL.

``sqlite:///complaints.db`` (the default) keeps everything in one file;
``postgresql://user:password@host:port/dbname`` runs on PostgreSQL. A
``?schema=NAME`` query parameter puts the PostgreSQL tables in their own schema.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, AggregateEvent
from eventsourcing.persistence import JSONTranscoder, Mapper, PersistenceError, Transcoding
from eventsourcing.utils import Environment

from ledger.domain.errors import (
    ComplaintNotFound,
    IntegrityViolation,
    StoredEventUnreadable,
    StoreUnavailable,
    first_line,
)
from ledger.domain.events import topic_of
from ledger.domain.sealed import KeyChanges, PersonKey, SealedComplainant, SealedText
from ledger.domain.values import (
    Actor,
    Complainant,
    Method,
    Proof,
    Remedy,
    RemedyKind,
    Role,
    reference_id,
)
from ledger.store.crypto import TextReader, open_complainant
from ledger.store.evidence import FOLDER_NAME, evidence_folder
from ledger.store.location import (
    DEFAULT_URL,
    READ_ONLY,
    check_postgres_schema,
    check_sqlite_file,
    connect_postgres,
    libpq_reason,
    persistence_env,
    refuse_db_functions,
    shown,
)
from ledger.store.names import LEDGER_NAME, POSTGRES_EVENTS, STORED_EVENTS
from ledger.store.readonly import (
    no_ledger,
    postgres_has_table,
    sqlite_for_reading,
    sqlite_has_table,
)
from ledger.store.recorders import (
    CommandRecord,
    PostgresLedgerRecorder,
    SQLiteLedgerRecorder,
)
from ledger.store.shape import fits_its_class, misfit
from ledger.store.topics import LedgerMapper

if TYPE_CHECKING:  # imported when first needed: read commands that decode no event skip it
    from ledger.domain.complaint import Complaint
    from ledger.domain.staff import StaffDirectory

ANALYZE_AFTER = 10_000  # events appended by one process before it refreshes statistics
__all__ = ["DEFAULT_URL", "Ledger", "open_ledger", "open_reader", "persistence_env", "replay"]


class ActorAsDict(Transcoding):
    """An actor as ``{id, role, method[, credential]}``. Events stored before identities
    were proven have no ``method``: they were recorded on the caller's word, so they read
    as ``asserted`` (their bytes are never rewritten)."""

    type = Actor
    name = "actor"

    def encode(self, obj: Actor) -> dict[str, str]:
        data = {"id": obj.id, "role": str(obj.role), "method": str(obj.method)}
        if obj.credential is not None:
            data["credential"] = obj.credential
        return data

    def decode(self, data: dict[str, str]) -> Actor:
        return Actor(
            id=data["id"],
            role=Role(data["role"]),
            method=Method(data.get("method", Method.ASSERTED)),
            credential=data.get("credential"),
        )


_Sealed = TypeVar("_Sealed", SealedText, SealedComplainant)


def _unsealed(cls: Callable[..., _Sealed], data: dict[str, str]) -> _Sealed:
    """A sealed value of ``cls`` as stored. ``binascii.a2b_base64`` is what
    ``base64.b64decode`` calls, same answers and errors, without its checks on the way: a
    rebuild decodes every sealed value of the log (``projections.decoding.Decoder``)."""
    return cls(
        key_id=data["key_id"],
        nonce=binascii.a2b_base64(data["nonce"]),
        ciphertext=binascii.a2b_base64(data["ciphertext"]),
    )


class SealedComplainantAsDict(Transcoding):
    """Personal data is stored sealed; a plain ``Complainant`` has no transcoding on
    purpose, so it can never reach the event store by mistake."""

    type = SealedComplainant
    name = "sealed_complainant"

    def encode(self, obj: SealedComplainant) -> dict[str, str]:
        return {
            "key_id": obj.key_id,
            "nonce": base64.b64encode(obj.nonce).decode(),
            "ciphertext": base64.b64encode(obj.ciphertext).decode(),
        }

    def decode(self, data: dict[str, str]) -> SealedComplainant:
        return _unsealed(SealedComplainant, data)


class SealedTextAsDict(Transcoding):
    """Free text as stored from event class version 2: sealed under the complaint's key."""

    type = SealedText
    name = "sealed_text"

    def encode(self, obj: SealedText) -> dict[str, str]:
        return {
            "key_id": obj.key_id,
            "nonce": base64.b64encode(obj.nonce).decode(),
            "ciphertext": base64.b64encode(obj.ciphertext).decode(),
        }

    def decode(self, data: dict[str, str]) -> SealedText:
        return _unsealed(SealedText, data)


class RemedyAsDict(Transcoding):
    type = Remedy
    name = "remedy"

    def encode(self, obj: Remedy) -> dict[str, str | None]:
        amount = None if obj.amount is None else str(obj.amount)
        return {"kind": str(obj.kind), "amount": amount, "detail": obj.detail}

    def decode(self, data: dict[str, str | None]) -> Remedy:
        kind, amount = data["kind"], data["amount"]
        assert kind is not None
        return Remedy(
            kind=RemedyKind(kind),
            amount=None if amount is None else Decimal(amount),
            detail=data["detail"],
        )


def register_value_transcodings(transcoder: JSONTranscoder) -> None:
    """The ledger's own value types, as its events store them."""
    transcoder.register(ActorAsDict())
    transcoder.register(SealedComplainantAsDict())
    transcoder.register(SealedTextAsDict())
    transcoder.register(RemedyAsDict())


def replay(aggregate: Any, events: Iterable[Any]) -> Any:
    """Apply ``events`` to ``aggregate`` in order: the library's ``project_aggregate``
    without its per-event ``isinstance`` check against a runtime protocol, which costs
    about 30 µs an event on Python 3.11 (a third of the time of loading a complaint)."""
    for event in events:
        try:
            aggregate = event.mutate(aggregate)
        except (AttributeError, TypeError, ValueError) as e:
            # A stored event whose state holds a field of another type (changed outside the
            # ledger, or written by a newer release) fails to apply; one of its class's shape
            # that fails shows a bug in the code applying it, raised as itself.
            if fits_its_class(event):
                raise
            raise StoredEventUnreadable(
                event.originator_id,
                event.originator_version,
                f"applying it failed: {first_line(e)}",
            ) from e
    return aggregate


class Ledger(Application[UUID]):
    """The complaint ledger: load complaints by reference, save them with their command."""

    name = LEDGER_NAME
    appended = 0  # events this process has saved since the last ANALYZE
    _staff: StaffDirectory | None = None  # the directory as last read, to check roles by
    _login: str | None = None
    _index_secret: bytes | None = None
    read_only = False  # opened on a SQLite file this process may not write
    # Where the evidence files are kept (ledger.store.evidence), set from the URL on opening.
    evidence_dir: Path = Path(FOLDER_NAME)

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        # Only the URL decides where events go; stray POSTGRES_* variables must not.
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=LedgerMapper
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_value_transcodings(transcoder)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        recordings = super().save(*objs, **kwargs)
        self.appended += len(recordings)
        return recordings

    def close(self) -> None:
        """After a bulk load (``ANALYZE_AFTER`` events or more appended by this process),
        refresh the database's statistics before letting go."""
        if self.appended >= ANALYZE_AFTER:
            self.appended = 0
            self.ledger_recorder.analyze()
        super().close()

    @property
    def ledger_recorder(self) -> SQLiteLedgerRecorder | PostgresLedgerRecorder:
        recorder = self.recorder
        assert isinstance(recorder, SQLiteLedgerRecorder | PostgresLedgerRecorder)
        return recorder

    def get_complaint(self, ref: str, version: int | None = None) -> Complaint:
        from ledger.domain.complaint import Complaint

        try:
            complaint: Complaint = self.repository.get(
                reference_id(ref), version=version, projector_func=replay
            )
        except AggregateNotFoundError:
            raise ComplaintNotFound(f"no complaint has reference {ref!r}") from None
        except StoredEventUnreadable as e:
            raise e.of(f"complaint {ref}") from e.__cause__
        assert isinstance(complaint, Complaint)
        return complaint

    def load_complaints(self, refs: Iterable[str]) -> dict[UUID, Complaint]:
        """The current state of many complaints, their events read in one query (what
        ``get_complaint`` gives for each, without a round trip per complaint)."""
        from ledger.domain.complaint import Complaint

        named = {reference_id(r): r for r in refs}
        streams = self.ledger_recorder.select_streams(list(named))
        loaded: dict[UUID, Complaint] = {}
        for stream, stored in streams.items():
            try:
                complaint = replay(None, [self.mapper.to_domain_event(s) for s in stored])
            except StoredEventUnreadable as e:
                raise e.of(f"complaint {named[stream]}") from e.__cause__
            if isinstance(complaint, Complaint):
                loaded[stream] = complaint
        return loaded

    def has_complaint(self, ref: str) -> bool:
        return reference_id(ref) in self.repository

    def complaint_events(self, ref: str) -> list[AggregateEvent]:
        """The events of a complaint (or of a publication stream named ``@…``), in order."""
        from ledger.store.books import stream_id

        try:
            events = [
                cast(AggregateEvent, e)
                for e in self.events.get(stream_id(ref) or reference_id(ref))
            ]
        except StoredEventUnreadable as e:
            raise e.of(f"complaint {ref}") from e.__cause__
        for event in events:  # the readers of these read fields that replaying need not
            field = misfit(event)
            if field is not None:
                what = f"its {field} is not of its type"
                raise StoredEventUnreadable(
                    event.originator_id, event.originator_version, what, f"complaint {ref}"
                )
        if not events:
            raise ComplaintNotFound(f"no complaint has reference {ref!r}")
        return events

    def find_command(self, command_id: str) -> CommandRecord | None:
        return self.ledger_recorder.select_command(command_id)

    def staff_directory(self) -> StaffDirectory | None:
        """The staff directory to check identities and roles by (not to change: handlers
        read their own copy). Read again only when its stream has moved, which one query
        tells, so a busy writer does not replay the directory for every command."""
        from ledger.domain.staff import STAFF_DIRECTORY_ID
        from ledger.store.books import load_staff_directory

        version = self.ledger_recorder.stream_versions([STAFF_DIRECTORY_ID]).get(STAFF_DIRECTORY_ID)
        if version is None:
            return None
        cached = self._staff
        if cached is None or cached.version != version:
            cached = self._staff = load_staff_directory(self)
        return cached

    def proof(self) -> Proof:
        """What this connection proves of its caller: on PostgreSQL the login it connected
        as (``session_user``, which ``SET ROLE`` cannot change); on SQLite, nothing."""
        recorder = self.ledger_recorder
        if not isinstance(recorder, PostgresLedgerRecorder):
            return Proof(Method.ASSERTED)
        if self._login is None:
            self._login = recorder.session_login()
        return Proof(Method.DATABASE, self._login)

    def record(
        self, aggregate: Aggregate, command: CommandRecord, keys: KeyChanges | None = None
    ) -> None:
        """Append the aggregate's new events, the command that caused them and the
        personal-data keys they create or destroy, atomically."""
        self.save(aggregate, command=command, keys=keys)
        if keys is not None and keys.destroyed:
            self.ledger_recorder.purge_destroyed()

    def reveal(self, complaint: Complaint, current: bool = False) -> Complainant | None:
        """The complainant's personal data, or None once it was erased (its key destroyed);
        ``current`` as for ``complaint_key``."""
        key = self.complaint_key(complaint, current)
        return (
            None if key is None else open_complainant(complaint.complainant, key.key, complaint.id)
        )

    def text_reader(self, complaint: Complaint, current: bool = False) -> TextReader:
        """What opens the complaint's sealed free text (``[erased]`` once erased)."""
        key = self.complaint_key(complaint, current)
        return TextReader(complaint.id, None if key is None else key.key)

    def complaint_key(self, complaint: Complaint, current: bool = False) -> PersonKey | None:
        """The key of the complaint's personal data and free text, None once erased.

        Whether it was erased is asked of the complaint as it stands now (``complaint`` may
        be an earlier version of it), so a key put back by restoring a backup never opens
        an erased complaint's data, even on a read-only connection. A key is only ever
        destroyed by an erasure, which is an event: a key missing without one was deleted
        behind the ledger's back, and is not shown as erased. ``current``: the caller holds
        the complaint as it stands (a handler), so it need not be read again."""
        key_id = complaint.complainant.key_id
        if complaint.personal_data_erased:
            return None
        key = self.ledger_recorder.person_keys([key_id]).get(key_id)
        if not current and self.get_complaint(complaint.ref).personal_data_erased:
            return None
        if key is not None:
            return PersonKey(key_id, key)
        raise IntegrityViolation(
            f"{complaint.ref}: the key of the complainant's personal data is missing, but no "
            "erasure was recorded: it was deleted outside the ledger (run complaint-ledger verify)"
        )

    def erased_key_ids(self) -> set[str]:
        """The keys the ledger's ``PersonalDataErased`` events destroyed: the register of
        erasures, which outlives any copy of the key table (read through a partial index
        of those events alone)."""
        return {str(json.loads(state)["key_id"]) for state in self.ledger_recorder.erasure_states()}

    def reapply_erasures(self) -> list[str]:
        """Destroy again every key an erasure destroyed that is back in the key table (a
        restored backup of it); the ids of those destroyed."""
        erased = sorted(self.erased_key_ids())
        back = sorted(self.ledger_recorder.person_keys(erased)) if erased else []
        if back:
            self.ledger_recorder.destroy_keys(back)
            self.ledger_recorder.purge_destroyed()
        # Blind-index rows a restored backup brought back leave the index again.
        indexed = self.ledger_recorder.index_digests(erased)
        if indexed:
            self.ledger_recorder.unindex(sorted(indexed))
        return back

    def index_secret(self) -> bytes:
        """The secret the blind index of complainants is keyed with (see
        ``ledger.store.blind_index``)."""
        if self._index_secret is None:
            self._index_secret = self.ledger_recorder.index_secret()
        return self._index_secret

    def count_events(self) -> int:
        return self.recorder.max_notification_id() or 0

    def iter_refs(self) -> Iterator[str]:
        """Every complaint reference, in the order the complaints were received."""
        import ledger.domain.complaint  # noqa: F401  (registers the complaint's events)

        received = topic_of("Complaint.Received")
        start = 1
        while True:
            batch = self.recorder.select_notifications(start, 500, topics=[received])
            for notification in batch:
                event = self.mapper.to_domain_event(notification)
                yield str(event.ref)  # type: ignore[attr-defined]
            if len(batch) < 500:
                return
            start = batch[-1].id + 1


def open_ledger(url: str | None = None, **extra_env: Any) -> Ledger:
    """The composition root: build the ledger the URL names, creating its tables on first use.

    An empty URL is an error, not the default: ``--db ""`` must not quietly mean
    ``./complaints.db``."""
    url = DEFAULT_URL if url is None else url
    env = persistence_env(url)
    env.update({k: str(v) for k, v in extra_env.items()})
    if READ_ONLY in env:
        raise StoreUnavailable(f"{shown(url)} is opened read only (mode=ro): this command writes")
    try:
        if env["PERSISTENCE_MODULE"] != "eventsourcing.postgres":
            check_sqlite_file(env["SQLITE_DBNAME"])
            return _erasures_reapplied(_with_evidence(Ledger(env=env), url))
        refuse_db_functions(env, os.environ)
        # Concurrent CREATE ... IF NOT EXISTS / CREATE OR REPLACE FUNCTION statements can fail
        # with "tuple concurrently updated": processes that start together take turns here.
        with connect_postgres(env) as conn:
            schema = env["POSTGRES_SCHEMA"] or "public"
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"complaint-ledger:{schema}",))
            check_postgres_schema(conn, schema, POSTGRES_EVENTS)
            return _erasures_reapplied(_with_evidence(Ledger(env=env), url))
    except (PersistenceError, OSError, sqlite3.Error) as e:
        raise StoreUnavailable(f"cannot open the ledger at {shown(url)}: {e}") from None
    except psycopg.Error as e:
        reason = libpq_reason(e)
        raise StoreUnavailable(f"cannot open the ledger at {shown(url)}: {reason}") from None


def _with_evidence(ledger: Ledger, url: str) -> Ledger:
    ledger.evidence_dir = evidence_folder(url)
    return ledger


def _erasures_reapplied(ledger: Ledger) -> Ledger:
    """A ledger opened to write first re-applies its erasures: a key table restored from a
    backup taken before an erasure must not bring the destroyed key back."""
    try:
        ledger.reapply_erasures()
    except BaseException:
        ledger.close()
        raise
    return ledger


def open_reader(url: str | None = None) -> Ledger:
    """The ledger the URL names, opened to read: no table is created and no DDL runs, a
    SQLite file this process may not write is opened read-only (``read_only``), and a
    database that holds no ledger is an error rather than a new, empty ledger."""
    url = DEFAULT_URL if url is None else url
    env = {**persistence_env(url), "CREATE_TABLE": "no"}
    events = POSTGRES_EVENTS
    try:
        if env["PERSISTENCE_MODULE"] != "eventsourcing.postgres":
            env["SQLITE_DBNAME"], writable = sqlite_for_reading(
                env["SQLITE_DBNAME"], url, READ_ONLY in env
            )
            ledger = _with_evidence(Ledger(env=env), url)
            ledger.read_only = not writable
            if not sqlite_has_table(ledger.recorder.datastore, STORED_EVENTS):  # type: ignore[attr-defined]
                ledger.close()
                raise no_ledger(url)
            return ledger
        # Refused on every open: the misconfiguration shows at the first command, not a write.
        refuse_db_functions(env, os.environ)
        with connect_postgres(env) as conn:
            schema = env["POSTGRES_SCHEMA"] or "public"
            check_postgres_schema(conn, schema, events)
            if not postgres_has_table(conn, schema, events):
                raise no_ledger(url)
        return _with_evidence(Ledger(env=env), url)
    except (PersistenceError, OSError, sqlite3.Error) as e:
        raise StoreUnavailable(f"cannot open the ledger at {shown(url)}: {e}") from None
    except psycopg.Error as e:
        reason = libpq_reason(e)
        raise StoreUnavailable(f"cannot open the ledger at {shown(url)}: {reason}") from None
