"""Evidence files around the commands (issue 15): ``attach`` keeps a copy of the file in
the evidence folder before its event is recorded (and takes it away if the event is not),
and an erasure deletes the files of the erased complaint.

The event holds the file's hash, so the folder (``ledger.store.evidence``) needs no table:
what a complaint holds is read from its events, what other complaints hold from the log's
``EvidenceAttached`` events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from commands.handlers import Outcome, handle
from commands.models import parse_command
from ledger.domain.events import topic_of
from ledger.domain.values import reference_id
from ledger.store.evidence import (
    check_source,
    file_digest,
    folder_lock,
    purge,
    staged,
    stored_path,
)
from ledger.store.root import Ledger

_BATCH = 1000


def attach_file(ledger: Ledger, data: dict[str, Any], source: Path, folder: Path) -> Outcome:
    """Record ``data`` (an ``attach`` command without its file's fields) for the file at
    ``source``, keeping a copy under its hash in ``folder``: the command is validated
    before anything is copied, and a refused one leaves no copy behind.

    The file lands under its name before the event is recorded, so no event names a file the
    folder failed to keep. If the event is then not recorded, the file goes again, unless it
    was there already or a complaint not erased attaches the same file (an erased one's
    event still names the hash, but its erasure deleted the file, and nothing would again).
    If the event is recorded and the file has gone meanwhile, it is put back."""
    sha256, size = file_digest(check_source(source))
    fields = {"sha256": sha256, "size": size, "filename": source.name}
    command = parse_command({**data, **fields, "location": "pending"})  # validated, not applied
    with staged(source, folder, sha256) as copy:
        command = parse_command({**data, **fields, "location": copy.location})
        # Under the folder's lock, from putting the file in to checking it after the event:
        # another failed attach of the same file cannot delete it between this one's event
        # and its check, having found before that event that no event held it.
        with folder_lock(folder):
            placed = copy.keep()
            try:
                outcome = handle(ledger, command)
            except BaseException:
                if placed and not _held_elsewhere(ledger, None, {sha256}):
                    copy.discard()
                raise
            if not (folder / stored_path(sha256)).is_file():
                # An erasure of another complaint holding the same file deleted it while this
                # event was being recorded, not seeing it yet (an erasure by a release that
                # did not take the lock): put it back.
                with staged(source, folder, sha256) as again:
                    again.keep()
    return outcome


@dataclass(frozen=True)
class Purged:
    """What an erasure did to the evidence: files deleted, files kept because a complaint
    not erased holds the same file, and files attached that the folder does not hold."""

    deleted: list[Path]
    shared: list[str]
    elsewhere: list[str]


def purge_evidence(ledger: Ledger, ref: str, folder: Path) -> Purged:
    """Delete the evidence files of the erased complaint ``ref`` from ``folder``."""
    complaint = ledger.get_complaint(ref)
    hashes = {sha256 for sha256, *_ in complaint.attachments}
    if not hashes:
        return Purged([], [], [])
    # Under the folder's lock, from looking for other holders to deleting: an attach of the
    # same file to another complaint cannot record its event and check its file in between
    # (it would be left holding a file deleted after its check).
    with folder_lock(folder):
        shared = _held_elsewhere(ledger, reference_id(ref), hashes)
        present = {h for h in hashes if (folder / stored_path(h)).is_file()}
        deleted = purge(folder, present, shared)
    return Purged(deleted, sorted(shared & hashes), sorted(hashes - present - shared))


def _attachments(ledger: Ledger, besides: Any = None) -> Iterator[tuple[Any, str]]:
    """Every file attached to a complaint but ``besides``, as (complaint id, SHA-256), from
    the log's ``EvidenceAttached`` events: read only when a file may be deleted (erasures and
    failed attachments are rare, and the log needs no index for them)."""
    topic = topic_of("Complaint.EvidenceAttached")
    recorder = ledger.recorder
    position = 0
    while True:
        batch = recorder.select_notifications(position + 1, _BATCH, topics=[topic])
        for notification in batch:
            if notification.originator_id == besides:
                continue
            event: Any = ledger.mapper.to_domain_event(notification)
            yield notification.originator_id, event.sha256
        if len(batch) < _BATCH:
            break
        position = batch[-1].id


def _held_elsewhere(ledger: Ledger, own: Any, hashes: set[str]) -> set[str]:
    """Which of ``hashes`` another complaint, not erased, attached too (read from the log)."""
    holders: dict[str, set[Any]] = {}
    for complaint, sha256 in _attachments(ledger, besides=own):
        if sha256 in hashes:
            holders.setdefault(sha256, set()).add(complaint)
    kept = set()
    for sha256, complaints in holders.items():
        if any(not ledger.repository.get(c).personal_data_erased for c in complaints):
            kept.add(sha256)
    return kept


def purge_lines(purged: Purged) -> list[str]:
    """What an erasure did to the evidence, for a person."""
    lines = [f"evidence file deleted: {path}" for path in purged.deleted]
    lines += [
        f"evidence file kept: sha256 {h[:12]} is also held by a complaint not erased"
        for h in purged.shared
    ]
    lines += [
        f"evidence file not in the evidence folder: sha256 {h[:12]} (whoever keeps it must "
        "delete it)"
        for h in purged.elsewhere
    ]
    return lines
