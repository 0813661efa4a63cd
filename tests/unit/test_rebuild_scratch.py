"""The scratch folders of sharded rebuilds (``projections.scratch``): those of ended processes
are removed by the next rebuild; those of running ones, and any of another name, are kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from projections.scratch import PREFIX, remove_stale


def ended_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_the_folders_of_ended_processes_are_removed(tmp_path: Path) -> None:
    dead = tmp_path / f"{PREFIX}{ended_pid()}-abc"
    live = tmp_path / f"{PREFIX}{os.getpid()}-def"
    legacy = tmp_path / f"{PREFIX}7bqz5okf"  # named before the pid was in the name
    other = tmp_path / "something-else"
    for folder in (dead, live, legacy, other):
        folder.mkdir()
        (folder / "shard-0.db").write_bytes(b"x" * 10)
    plain_file = tmp_path / f"{PREFIX}{ended_pid()}-file"
    plain_file.write_text("not a folder")

    removed = remove_stale(str(tmp_path))

    assert removed == [dead]
    assert sorted(tmp_path.iterdir()) == sorted([live, legacy, other, plain_file])


def test_a_folder_named_after_no_possible_process_is_kept_without_failing(tmp_path: Path) -> None:
    # Anyone may make such a name in a shared /tmp: it must not stop a rebuild (os.kill
    # raised OverflowError for a pid beyond the system's pid type).
    huge = tmp_path / f"{PREFIX}{2**64}-abc"
    beyond = tmp_path / f"{PREFIX}{2**31}-def"
    for folder in (huge, beyond):
        folder.mkdir()

    assert remove_stale(str(tmp_path)) == []
    assert huge.is_dir()
    assert beyond.is_dir()
