"""Stopping ``alerts follow`` on SIGINT or SIGTERM without losing an alert: the signal is
held back while an alert is between its record and the end of its message (``uninterrupted``)
and acted on right after, so a clean stop never leaves an alert recorded but unfinished."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

_depth = 0
_pending = False


@contextmanager
def uninterrupted() -> Iterator[None]:
    global _depth, _pending
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _pending:
            _pending = False
            raise KeyboardInterrupt


def _interrupt(signum: int, frame: object) -> None:
    global _pending
    if _depth:
        _pending = True
        return
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Ctrl-C and a service manager's SIGTERM end the process with ``KeyboardInterrupt``,
    between alerts or inside one before its record (its message is then never finished).
    Set explicitly because a process started with SIGINT ignored (a shell's background job)
    would never stop."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
