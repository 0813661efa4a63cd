"""Improvement measures (溯源整改): what the complaint's findings said must change, who owns
the change, and when it is due.

Each measure is numbered per complaint (``1``, ``2`` …, in the order they were added) and
has its own clock, ``improvement:<id>`` (``ledger.domain.runs.Item``): due when promised,
met when marked done by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.domain.sealed import Text


@dataclass
class Improvement:
    """One measure as the aggregate knows it; ``measure`` and ``note`` stay sealed."""

    id: str
    measure: Text
    owner: str
    due: datetime
    added_at: datetime
    done_at: datetime | None = None
    done_by: str | None = None
    note: Text | None = None

    @property
    def late(self) -> bool:
        """Marked done after its deadline (False while open)."""
        return self.done_at is not None and self.done_at > self.due
