"""Fewer garbage collections while a bulk path decides and writes (issue 17, item 3).

Deciding a command makes many short-lived objects (the event, its stamp, the fingerprint's
strings) and almost no reference cycles, while the batch keeps thousands of long-lived ones
(its cached complaints). With the interpreter's default threshold of 700 new objects, the
young generation is collected every few commands and its survivors are walked again and again
on their way to the old generation: a tenth of the CPU of a bulk import on this project's
machines (docs/performance.md, "Deciding for less"). ``fewer_collections`` raises that
threshold for as long as the bulk path runs and puts the previous one back after; the objects
collected, and every decision, stay the same.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# New objects between two collections of the youngest generation while importing: a batch's
# worth of commands or so (the interpreter's default is 700).
BULK_THRESHOLD = 50_000


class _Raised:
    """The threshold is one setting of the whole process: the first user raises it, the last
    one to end (in whatever order they end: two generators consumed in turn, two threads) puts
    back what the first found."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.found: tuple[int, int, int] = gc.get_threshold()

    def enter(self, threshold: int) -> None:
        with self.lock:
            if self.users == 0:
                self.found = gc.get_threshold()
                gc.set_threshold(max(threshold, self.found[0]), *self.found[1:])
            self.users += 1

    def leave(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0:
                gc.set_threshold(*self.found)


_RAISED = _Raised()


@contextmanager
def fewer_collections(threshold: int = BULK_THRESHOLD) -> Iterator[None]:
    """Collect the youngest generation only every ``threshold`` new objects (never more
    often than set already) until the block ends, or the last such block still running does
    (the threshold the first found comes back then)."""
    _RAISED.enter(threshold)
    try:
        yield
    finally:
        _RAISED.leave()
