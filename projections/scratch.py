"""The scratch folder of a sharded rebuild (``projections.sharded``), named after the process
that made it, so that a rebuild finds and removes the folders of rebuilds killed before they
could remove their own (``kill -9``, a machine stopped): on SQLite those hold a copy of every
worker's read models, as large as the ledger's."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

PREFIX = "ledger-rebuild-"
_OWN = re.compile(re.escape(PREFIX) + r"(\d+)-[^/]*")


def rebuild_scratch() -> tempfile.TemporaryDirectory[str]:
    """A fresh scratch folder for this process's rebuild, once the stale ones are gone."""
    remove_stale()
    return tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-")


def remove_stale(folder: str | None = None) -> list[Path]:
    """Remove the scratch folders (of this user) whose process has ended; the removed."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        match = _OWN.fullmatch(path.name)
        if match is None or _running(int(match[1])):
            continue  # a folder of a release before the pid was in the name, or still in use
        try:
            if not path.is_dir() or path.is_symlink() or path.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OverflowError:  # no process can have it: not a rebuild's name, so left alone
        return True
    return True
