"""The projection follower ``serve`` runs beside the API, so that GETs read fresh read models.

It runs in a process of its own, so that decoding events never competes with the requests
for the interpreter, and it ends with the server however the server ends: it holds the
reading end of a pipe whose only writing end the server keeps (``projections.parallel``).
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from projections.follow import follow_quietly
from projections.parallel import _exit_with_parent


class Follower:
    def __init__(self, url: str, interval: float = 0.2) -> None:
        self.url, self.interval = url, interval
        self.process: BaseProcess | None = None
        self.held: Connection | None = None

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        lifeline, self.held = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_follow, args=(self.url, self.interval, lifeline), name="projection-follower"
        )
        self.process.start()
        lifeline.close()

    def stop(self) -> None:
        if self.held is not None:
            self.held.close()  # the follower sees the pipe close and exits
        if self.process is not None:
            self.process.join(timeout=10)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()


def _follow(url: str, interval: float, lifeline: Connection) -> None:
    _exit_with_parent(lifeline)
    follow_quietly(url, interval)
