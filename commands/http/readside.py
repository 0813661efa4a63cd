"""The one place where the API reads the read models.

Reads never write (DESIGN.md, principle 7): a GET neither catches the read models up nor
creates their tables; it reads them as they are and says how far behind the log they are
(``lag``, in events). Keeping the read models fresh is the follower's job (``serve`` runs
one unless told not to). When the read-only query side of issue 13 lands, this module is
what changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from commands.http.problems import Problem
from ledger.store.root import Ledger
from projections.db import Cursor, ReadStore
from projections.runner import POSITIONS, Runner

FOLLOWED = ("cases", "audit_trail")


@dataclass(frozen=True)
class Freshness:
    head: int
    positions: dict[str, int]

    @property
    def lag(self) -> int:
        return max(self.head - p for p in self.positions.values())


class ReadSide:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.store = ReadStore(ledger)
        self.names = Runner(ledger).names()

    @contextmanager
    def query(self) -> Iterator[Cursor]:
        """A transaction on the read models (503 while they have not been built)."""
        with self.store.transaction(self.names, commit=False) as cur:
            if not self.store.table_exists(cur, "audit_trail"):
                raise Problem(
                    503,
                    "the read models have not been built yet: run complaint-ledger projections "
                    "run (or serve with --follow)",
                )
            yield cur

    def freshness(self) -> Freshness:
        """The log's head and each followed projection's position (0 before it first ran)."""
        head = self.ledger.count_events()
        positions = dict.fromkeys(FOLLOWED, 0)
        with self.store.transaction(self.names, commit=False) as cur:
            if self.store.table_exists(cur, POSITIONS):
                cur.execute("SELECT name, position FROM {positions}")
                for row in cur.fetchall():
                    if row["name"] in positions:
                        positions[row["name"]] = int(row["position"])
        return Freshness(head, positions)
