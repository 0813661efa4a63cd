"""The projection follower ``serve`` runs beside the API, so that GETs read fresh read models:
it catches them up whenever events are appended (woken by LISTEN/NOTIFY on PostgreSQL,
polling on SQLite), in a thread of its own, until the server stops."""

from __future__ import annotations

import logging
import threading

from psycopg.sql import SQL, Identifier

from ledger.domain.errors import LedgerError
from ledger.store.root import Ledger
from projections.runner import Runner

log = logging.getLogger("complaint_ledger.follower")


class Follower(threading.Thread):
    def __init__(self, ledger: Ledger, interval: float = 0.2) -> None:
        super().__init__(name="projection-follower", daemon=True)
        self.ledger = ledger
        self.interval = interval
        self.stopping = threading.Event()
        self.caught_up = threading.Event()  # set after the first pass

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)

    def run(self) -> None:
        runner = Runner(self.ledger)
        channel = getattr(self.ledger.recorder, "channel_name", None)
        if channel is None:
            self._poll(runner)
        else:
            self._listen(runner, channel)

    def _catch_up(self, runner: Runner) -> None:
        try:
            runner.catch_up_all()
        except LedgerError as e:  # another runner holds the position: it is doing the work
            log.info("projection follower: %s", e)
        except Exception:
            log.exception("projection follower failed; retrying")
        self.caught_up.set()

    def _poll(self, runner: Runner) -> None:
        while not self.stopping.is_set():
            self._catch_up(runner)
            self.stopping.wait(self.interval)

    def _listen(self, runner: Runner, channel: str) -> None:
        datastore = self.ledger.recorder.datastore  # type: ignore[attr-defined]
        with datastore.get_connection() as conn:
            conn.execute(SQL("LISTEN {}").format(Identifier(channel)))
            conn.commit()
            while not self.stopping.is_set():
                self._catch_up(runner)
                # A short timeout: the only way to notice ``stop`` while no event arrives.
                for _ in conn.notifies(timeout=1.0, stop_after=1):
                    pass
