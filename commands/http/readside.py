"""The one place where the API reads the read models: through the query side
(``projections.query``), as the read commands of the command line do.

Reads never write (DESIGN.md, principle 7): a GET neither catches the read models up nor
creates their tables; it reads them as they are and says how far behind the log they are
(``lag``, in events). Keeping the read models fresh is the follower's job (``serve`` runs
one unless told not to).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from commands.http.problems import Problem
from ledger.store.root import Ledger
from projections.db import Cursor
from projections.query import Query

FOLLOWED = ("cases", "audit_trail")


@dataclass(frozen=True)
class Freshness:
    head: int | None  # None: this login may not read how long the log is
    positions: dict[str, int]

    @property
    def lag(self) -> int | None:
        if self.head is None:
            return None
        return max(self.head - p for p in self.positions.values())


class ReadSide:
    def __init__(self, ledger: Ledger) -> None:
        self.reads = Query(ledger)

    @property
    def ledger(self) -> Ledger:
        return self.reads.ledger

    @contextmanager
    def query(self) -> Iterator[Cursor]:
        """A read of the read models, rolled back (503 while they have not been built)."""
        with self.reads.transaction() as cur:
            if not self.reads.store.table_exists(cur, "audit_trail"):
                raise Problem(
                    503,
                    "the read models have not been built yet: run complaint-ledger projections "
                    "run (or serve with --follow)",
                )
            outdated = self.reads.outdated(cur)
            if outdated is not None:
                raise Problem(503, outdated)
            yield cur

    def freshness(self) -> Freshness:
        """The log's head and each followed projection's position (0 before it first ran)."""
        rows = self.reads.status()
        positions = {
            r["projection"]: r["position"] or 0 for r in rows if r["projection"] in FOLLOWED
        }
        return Freshness(rows[0]["head"], positions)
