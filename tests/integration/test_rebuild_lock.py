"""The SQLite rebuild lock is one per database file, however the file is named."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from ledger.store.root import open_ledger
from projections.db import ReadStore
from projections.rebuild_lock import LOCK_SUFFIX, rebuild_lock


def test_a_rebuild_through_a_link_to_the_file_holds_the_files_lock(tmp_path: Path) -> None:
    # SQLite follows the link (its -wal file lies beside the file itself): a rebuild named by
    # the link and one named by the file rebuild the same read models, and must take turns.
    real = tmp_path / "data" / "ledger.db"
    real.parent.mkdir()
    link = tmp_path / "ledger.db"
    with open_ledger(f"sqlite:///{real}"):
        pass
    link.symlink_to(real)

    with (
        open_ledger(f"sqlite:///{link}") as ledger,
        rebuild_lock(ReadStore(ledger)),
        open(f"{real}{LOCK_SUFFIX}", "ab") as other,
        pytest.raises(BlockingIOError),
    ):
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
