"""Fault points for the tests that hold a process of the ledger at one moment, kept out of
the ledger's own code: a test that starts a process with this folder on ``PYTHONPATH`` has
Python import this module first (``site``), which wraps one function of the ledger when the
process's environment names a hold, and does nothing otherwise. Processes started from that
one (a rebuild's spawned workers) inherit the environment, and the hold with it.

``LEDGER_HOLD_FOLD=FOLDER``: each worker of a sharded rebuild, once its first chunk is
committed, leaves ``shard-N`` in FOLDER and waits to be killed, so the kill never races the
fold. ``LEDGER_HOLD_DISCARD=FOLDER``: an attach that failed, about to delete the file it put
in the evidence folder, leaves ``discarding`` there and waits for ``go`` (at most a minute).
``LEDGER_HOLD_SLOW_FOLD=SECONDS``: each worker of a sharded rebuild, once its first chunk is
committed, sleeps SECONDS and goes on, as a worker starved of CPU on a loaded machine does.
``LEDGER_HOLD_VERIFY=FOLDER``: ``verify``, every event read and checked, about to check the
command log and the keys against them, leaves ``verifying`` there and waits for ``go`` (at
most a minute).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HOLD_FOLD = "LEDGER_HOLD_FOLD"
HOLD_DISCARD = "LEDGER_HOLD_DISCARD"
HOLD_SLOW_FOLD = "LEDGER_HOLD_SLOW_FOLD"
HOLD_VERIFY = "LEDGER_HOLD_VERIFY"


def _after_first_chunk(then: Any) -> None:
    """Call ``then(shard)`` in each worker of a sharded rebuild once its first chunk is
    committed."""
    from projections import sharded

    sink = sharded._sink

    @contextmanager
    def held_sink(ledger: Any, shard: Any) -> Iterator[Any]:
        with sink(ledger, shard) as transaction:
            chunks = 0

            @contextmanager
            def held() -> Iterator[Any]:
                nonlocal chunks
                with transaction() as cur:
                    yield cur
                chunks += 1
                if chunks == 1:
                    then(shard)

            yield held

    sharded._sink = held_sink  # type: ignore[assignment]


def _hold_fold(folder: Path) -> None:
    def wait_for_the_kill(shard: Any) -> None:  # committed: say so, and wait
        (folder / f"shard-{shard.index}").touch()
        while True:
            time.sleep(0.05)

    _after_first_chunk(wait_for_the_kill)


def _hold_slow_fold(seconds: float) -> None:
    _after_first_chunk(lambda shard: time.sleep(seconds))


def _hold_discard(folder: Path) -> None:
    from commands import evidence

    held_elsewhere = evidence._held_elsewhere

    def held(ledger: Any, erased: Any, hashes: set[str]) -> Any:
        found = held_elsewhere(ledger, erased, hashes)
        if erased is None and not found:  # a failed attach, about to delete its file
            (folder / "discarding").touch()
            deadline = time.monotonic() + 60
            while not (folder / "go").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        return found

    evidence._held_elsewhere = held  # type: ignore[assignment]


def _hold_verify(folder: Path) -> None:
    from ledger.integrity import logcheck

    finish = logcheck.SideTables.finish

    def held(self: Any) -> None:
        (folder / "verifying").touch()
        deadline = time.monotonic() + 60
        while not (folder / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        finish(self)

    logcheck.SideTables.finish = held  # type: ignore[method-assign]


if fold := os.environ.get(HOLD_FOLD):
    _hold_fold(Path(fold))
if discard := os.environ.get(HOLD_DISCARD):
    _hold_discard(Path(discard))
if slow := os.environ.get(HOLD_SLOW_FOLD):
    _hold_slow_fold(float(slow))
if verifying := os.environ.get(HOLD_VERIFY):
    _hold_verify(Path(verifying))


def held_env(name: str, folder: Path | str) -> dict[str, str]:
    """What to add to a process's environment to hold it at ``name``'s point, ``folder``
    where it signals (for ``HOLD_SLOW_FOLD``, the seconds it sleeps)."""
    path = os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, name: str(folder)}
