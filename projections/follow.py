"""Following the log: catch the read models up whenever events are appended, until stopped.

On PostgreSQL the runner is woken by LISTEN/NOTIFY (the library notifies on every append);
on SQLite, which cannot notify, it polls.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from eventsourcing.persistence import MapperDeserialisationError
from psycopg.sql import SQL, Identifier

from ledger.domain.errors import LedgerError, StoredEventUnreadable, unreadable_event
from ledger.store.root import Ledger
from projections.runner import Runner

log = logging.getLogger("complaint_ledger.follow")


def wakeups(ledger: Ledger, interval: float) -> Iterator[None]:
    """Yield at once, then whenever events may have been appended."""
    recorder = ledger.recorder
    channel = getattr(recorder, "channel_name", None)
    if channel is None:
        while True:
            yield
            time.sleep(interval)
    datastore = recorder.datastore  # type: ignore[attr-defined]
    with datastore.get_connection() as conn:
        conn.execute(SQL("LISTEN {}").format(Identifier(channel)))
        conn.commit()
        while True:
            yield
            for _ in conn.notifies(timeout=max(interval, 5.0), stop_after=1):
                pass


def follow_quietly(url: str, interval: float) -> None:
    """Keep the read models of the ledger at ``url`` fresh for ever, logging failures and
    carrying on (another runner holding a position is doing the work meanwhile). A stored
    event that cannot be decoded is said once, in one line pointing to ``verify``."""
    from ledger.store.root import open_ledger

    with open_ledger(url) as ledger:
        runner = Runner(ledger)
        unreadable = ""  # said once, not on every wakeup while it stands in the way
        for _ in wakeups(ledger, interval):
            try:
                runner.catch_up_all()
            except (MapperDeserialisationError, StoredEventUnreadable) as e:
                # Not the code's fault but the stored data's: no traceback, where to look.
                said = str(e) if isinstance(e, StoredEventUnreadable) else unreadable_event(e)
                if said != unreadable:
                    unreadable = said
                    log.warning("projection follower stopped at a stored event: %s", unreadable)
                time.sleep(interval)
            except LedgerError as e:
                log.info("projection follower: %s", e)
            except Exception:
                log.exception("projection follower failed; trying again")
                time.sleep(interval)
