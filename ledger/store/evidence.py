"""The evidence folder: files attached to complaints, kept under their SHA-256 (issue 15).

Content-addressed (``sha256/ab/cdef…``): the event records the hash, so a file is found by
it, a changed file no longer matches it, and the same file attached twice is kept once. The
folder sits beside a SQLite ledger (``evidence/`` next to its file) unless
``LEDGER_EVIDENCE_DIR`` (or a command's ``--evidence-dir``) names another; a PostgreSQL
ledger's default is ``./evidence``.

Evidence is personal data (a recording of the complainant's call): files are written
readable by their owner only, and an erasure deletes them (``purge``) unless a complaint not
erased holds the same file.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from ledger.domain.errors import EvidenceUnreadable
from ledger.store.location import persistence_env

EVIDENCE_ENV = "LEDGER_EVIDENCE_DIR"
FOLDER_NAME = "evidence"
_CHUNK = 1 << 20


def evidence_folder(db_url: str, given: str | Path | None = None) -> Path:
    """Where the evidence of the ledger at ``db_url`` is kept: ``given`` (an option),
    else ``LEDGER_EVIDENCE_DIR``, else ``evidence/`` beside a SQLite file (or in the
    current directory for a PostgreSQL ledger)."""
    chosen = given or os.environ.get(EVIDENCE_ENV)
    if chosen:
        return Path(chosen)
    if urlsplit(db_url).scheme == "sqlite":
        name = persistence_env(db_url).get("SQLITE_DBNAME", "")
        if name and name != ":memory:":
            return Path(name).parent / FOLDER_NAME
    return Path(FOLDER_NAME)


def stored_path(sha256: str) -> str:
    """Where a file with this hash is kept, relative to the folder: ``sha256/ab/cdef…``."""
    return f"sha256/{sha256[:2]}/{sha256[2:]}"


def _copy(source: BinaryIO, target: BinaryIO | None) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if target is not None:
            target.write(chunk)
    return digest.hexdigest(), size


def file_digest(path: Path) -> tuple[str, int]:
    """The SHA-256 (hex) and size of the file at ``path``."""
    try:
        with path.open("rb") as source:
            return _copy(source, None)
    except OSError as e:
        raise EvidenceUnreadable(f"cannot read {path}: {e.strerror or e}") from None


def check_source(path: Path) -> Path:
    """``path`` if it names a readable regular file; otherwise why not."""
    if not path.exists():
        raise EvidenceUnreadable(f"{path} does not exist; attach a file that does")
    if path.is_dir():
        raise EvidenceUnreadable(f"{path} is a directory; attach one file at a time")
    if not path.is_file():
        raise EvidenceUnreadable(f"{path} is not a regular file")
    if not os.access(path, os.R_OK):
        raise EvidenceUnreadable(f"{path} cannot be read (permission denied)")
    return path


# Where the folder itself cannot be locked (NFS), the file locked instead.
LOCK_FILE = ".lock"


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """The folder to this process alone, among the ledger's writers (an advisory lock on the
    folder itself, so it holds no file of its own): a file is put in, its event recorded and
    the file checked again, or a file is found held by no event and deleted, with no other
    writer's step between. A folder not there yet holds nothing to guard.

    On NFS, Linux emulates ``flock`` by a byte-range lock, which needs a file open for
    writing: on a folder (opened read-only) it fails. There the lock is taken on a file of
    the folder's own (``LOCK_FILE``, by ``lockf``, which the NFS server keeps)."""
    try:
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        yield
        return
    except OSError as e:
        raise EvidenceUnreadable(f"cannot open the evidence folder {folder}: {e}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:
            os.close(handle)
            handle = -1
            handle = _lock_file(folder)
        yield
    finally:
        if handle >= 0:
            os.close(handle)  # releases the lock


def _lock_file(folder: Path) -> int:
    """``LOCK_FILE`` of ``folder``, open and locked (``lockf``)."""
    path = folder / LOCK_FILE
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as e:
        raise EvidenceUnreadable(f"cannot lock the evidence folder {folder}: {e}") from None
    try:
        fcntl.lockf(handle, fcntl.LOCK_EX)
    except OSError as e:
        os.close(handle)
        raise EvidenceUnreadable(f"cannot lock the evidence folder {folder}: {e}") from None
    return handle


@dataclass
class Staged:
    """A copy of the attached file in the folder, under a temporary name until ``keep``."""

    folder: Path
    sha256: str
    size: int
    temporary: Path
    kept: bool = False

    @property
    def location(self) -> str:
        return stored_path(self.sha256)

    def keep(self) -> bool:
        """Give the copy its name; an identical file kept already stays as it is. True when
        this call put the file there (``discard`` may take it away again)."""
        final = self.folder / self.location
        try:
            final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if final.exists():
                self.temporary.unlink()
                placed = False
            else:
                os.replace(self.temporary, final)
                placed = True
        except OSError as e:
            raise EvidenceUnreadable(f"cannot keep the file in the evidence folder: {e}") from None
        self.kept = True
        return placed

    def discard(self) -> None:
        """Take away the file ``keep`` put there (its event was not recorded); best effort,
        so that the reason the event was not recorded is the one reported."""
        with suppress(OSError):
            (self.folder / self.location).unlink()


@contextmanager
def staged(source: Path, folder: Path, sha256: str) -> Iterator[Staged]:
    """Copy ``source`` into ``folder`` while hashing it; the copy is removed again unless
    ``keep`` was called (a refused command leaves nothing behind). A file that changed since
    it was hashed (``sha256``) is refused."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, name = tempfile.mkstemp(prefix=".attach-", suffix=".part", dir=folder)
    except OSError as e:
        raise EvidenceUnreadable(f"cannot write to the evidence folder {folder}: {e}") from None
    stage = Staged(folder, sha256, 0, Path(name))
    try:
        try:
            with os.fdopen(handle, "wb") as target, source.open("rb") as reading:
                copied, stage.size = _copy(reading, target)
        except OSError as e:
            raise EvidenceUnreadable(f"cannot copy {source} to {folder}: {e}") from None
        if copied != sha256:
            raise EvidenceUnreadable(f"{source} changed while it was being attached; try again")
        yield stage
    finally:
        if not stage.kept:
            with suppress(OSError):
                stage.temporary.unlink()


@dataclass(frozen=True)
class Checked:
    """What a look at the folder found for one hash: ``ok``, ``changed`` or ``missing``."""

    sha256: str
    path: Path
    status: str


def check_file(folder: Path, sha256: str, size: int) -> Checked:
    path = folder / stored_path(sha256)
    if not path.is_file():
        return Checked(sha256, path, "missing")
    found, found_size = file_digest(path)
    return Checked(sha256, path, "ok" if (found, found_size) == (sha256, size) else "changed")


def purge(folder: Path, hashes: Iterable[str], keep: set[str]) -> list[Path]:
    """Delete the files of ``hashes`` from ``folder``, but not those in ``keep`` (held by a
    complaint not erased); the paths deleted."""
    deleted = []
    for sha256 in sorted(set(hashes) - keep):
        path = folder / stored_path(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as e:
            raise EvidenceUnreadable(f"cannot delete the evidence file {path}: {e}") from None
        deleted.append(path)
    return deleted
