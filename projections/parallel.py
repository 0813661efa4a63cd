"""A rebuild's worker processes: one per read model built from the log, or one per shard.

Each worker holds the reading end of a pipe whose only writing end the parent keeps.
However the parent ends (kill -9 included) the kernel closes that end, the worker's read
returns, and the worker exits at once, rather than go on holding the database (SQLite's
single write lock) for the rest of the rebuild. Whatever a worker had not committed is
rolled back, and running the rebuild again resumes it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from contextlib import suppress
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from projections.sharded import Folded, Shard


def rebuild_in_processes(url: str, names: list[str], batch_size: int) -> list[int]:
    """Bring each named unit's ``__rebuild`` tables up to the head of the log, each in a
    process of its own; the events each applied."""
    context = multiprocessing.get_context("spawn")
    lifeline, held = context.Pipe(duplex=False)
    try:
        with context.Pool(len(names), _exit_with_parent, (lifeline,)) as pool:
            pending = [pool.apply_async(_rebuild_one, (url, n, batch_size)) for n in names]
            return [p.get() for p in pending]
    finally:
        lifeline.close()
        held.close()


def _exit_with_parent(lifeline: Connection) -> None:
    """In a worker: end this process as soon as the parent's end of ``lifeline`` closes."""

    def watch() -> None:
        with suppress(EOFError):
            lifeline.recv()
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _rebuild_one(url: str, name: str, batch_size: int) -> int:
    """In a worker process: bring one unit's ``__rebuild`` tables up to the head of the log."""
    from ledger.store.root import open_ledger
    from projections.runner import REBUILD, UNITS, Runner

    with open_ledger(url) as ledger:
        runner = Runner(ledger, batch_size)
        unit = UNITS[name]
        return runner._run([(unit, unit.name + REBUILD)], rebuild=True, progress=None)


def fold_in_processes(shards: list[Shard]) -> list[Folded]:
    """Fold each shard of a sharded rebuild in a process of its own (one process per shard,
    so each one's peak memory is its own)."""
    from projections.sharded import fold_shard

    context = multiprocessing.get_context("spawn")
    lifeline, held = context.Pipe(duplex=False)
    try:
        with context.Pool(len(shards), _exit_with_parent, (lifeline,), 1) as pool:
            pending = [pool.apply_async(fold_shard, (shard,)) for shard in shards]
            return [p.get() for p in pending]
    finally:
        lifeline.close()
        held.close()
