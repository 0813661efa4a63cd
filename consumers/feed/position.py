"""How far the feed has published, kept in the ledger's own database (``feed_positions``).

One row per destination (``nats:STREAM``): the log position of the last event the server
acknowledged. It is moved only after the acknowledgement, and only from the value this feed
read, so two feeds started on one destination cannot both move it (the second stops), and a
feed killed at any moment resumes after the last batch the server confirmed.

On PostgreSQL the table is created by the ledger's owner (the first feed it runs, or
``sql/roles.sql``), which lets a ``<prefix>feed`` login read the log and write this table
and nothing else (docs/feed.md, "Which login").
"""

from __future__ import annotations

from ledger.domain.errors import LedgerError
from ledger.store.root import Ledger
from projections.db import ReadStore

TABLE = "feed_positions"
DDL = "CREATE TABLE IF NOT EXISTS {positions} (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"


class FeedBusy(LedgerError):
    """Another feed moved this destination's position: two feeds publish to one stream."""


class FeedPositions:
    """The ``feed_positions`` table of one ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.store = ReadStore(ledger)
        self.names = {"positions": self.store.name(TABLE)}
        self._ready = False

    def ensure(self) -> None:
        if self._ready:
            return
        with self.store.transaction(self.names, commit=False) as cur:
            exists = self.store.table_exists(cur, TABLE)
        if not exists:
            with self.store.transaction(self.names) as cur:
                cur.execute(DDL)
        self._ready = True

    def get(self, name: str) -> int:
        self.ensure()
        with self.store.transaction(self.names, commit=False) as cur:
            row = cur.execute("SELECT position FROM {positions} WHERE name = ?", (name,)).fetchone()
        return 0 if row is None else int(row["position"])

    def move(self, name: str, expected: int, new: int) -> None:
        """Move ``name`` from ``expected`` to ``new``, or raise ``FeedBusy``."""
        self.ensure()
        with self.store.transaction(self.names) as cur:
            cur.execute(
                "INSERT INTO {positions} VALUES (?, 0) ON CONFLICT (name) DO NOTHING", (name,)
            )
            cur.execute(
                "UPDATE {positions} SET position = ? WHERE name = ? AND position = ?",
                (new, name, expected),
            )
            if cur.rowcount != 1:
                raise FeedBusy(
                    f"another feed moved the position of {name} past {expected}: "
                    "run one feed per stream"
                )
