"""Totals of the SLA report: per status, and per status within each clock, team and channel."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

REPORTED = ("breached", "overdue", "at_risk")


class Totals:
    """Counted while the report's items are read, so a large report is walked only once."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[tuple[str, str], int]] = {
            key: defaultdict(int) for key in ("all", "clock", "team", "channel")
        }

    def add(self, status: str, clock: str, team: str | None, channel: str) -> None:
        counts = self.counts
        counts["all"][("all", status)] += 1
        counts["clock"][(clock.split("#")[0], status)] += 1
        counts["team"][(str(team), status)] += 1
        counts["channel"][(channel, status)] += 1

    def as_dict(self) -> dict[str, Any]:
        def table(key: str) -> dict[str, dict[str, int]]:
            pairs = self.counts[key]
            names = sorted({name for name, _ in pairs})
            return {name: {s: pairs.get((name, s), 0) for s in REPORTED} for name in names}

        return {
            "all": {s: self.counts["all"].get(("all", s), 0) for s in REPORTED},
            "clock": table("clock"),
            "team": table("team"),
            "channel": table("channel"),
        }
