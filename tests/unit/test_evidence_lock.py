"""The evidence folder's lock (``ledger.store.evidence.folder_lock``) where the folder itself
cannot be locked with ``flock``: on NFS, Linux emulates ``flock`` by a byte-range lock, which
needs a file open for writing, so ``flock`` on the folder (opened read-only, as a directory
must be) fails with EBADF. The lock is then taken on a file of the folder's own, and still
keeps another process out until released, on success and on error alike."""

from __future__ import annotations

import errno
import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.store import evidence
from ledger.store.evidence import LOCK_FILE, folder_lock

# Another process tries the lock without waiting: prints "taken" or "free".
PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    print("taken")
else:
    print("free")
"""


def probe(path: Path) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True,
                          text=True, check=True, timeout=60)  # fmt: skip
    return done.stdout.strip()


@pytest.fixture
def no_flock_on_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    """``flock`` fails as it does on an NFS mount for a folder opened read-only."""
    real = fcntl.flock

    def flock(fd: int, operation: int) -> None:
        if Path(f"/proc/self/fd/{fd}").is_dir():
            raise OSError(errno.EBADF, "Bad file descriptor")
        real(fd, operation)

    monkeypatch.setattr(evidence.fcntl, "flock", flock)


@pytest.mark.usefixtures("no_flock_on_folders")
def test_a_folder_flock_refuses_is_locked_by_a_file_of_its_own(tmp_path: Path) -> None:
    with folder_lock(tmp_path):
        assert probe(tmp_path / LOCK_FILE) == "taken"
    assert probe(tmp_path / LOCK_FILE) == "free"


@pytest.mark.usefixtures("no_flock_on_folders")
def test_the_lock_file_is_released_on_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), folder_lock(tmp_path):
        raise RuntimeError("the attach failed")
    assert probe(tmp_path / LOCK_FILE) == "free"


def test_where_flock_works_the_folder_holds_no_lock_file(tmp_path: Path) -> None:
    with folder_lock(tmp_path):
        pass
    assert list(tmp_path.iterdir()) == []
