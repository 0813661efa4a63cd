"""Totals of the SLA report: per status, and per status within each clock, team and channel."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

REPORTED = ("breached", "overdue", "at_risk")


def family(clock: str) -> str:
    """The clock a run is counted under: ``investigation#2`` under ``investigation``, every
    improvement measure's clock (``improvement:3``) under ``improvement``."""
    return clock.split("#")[0].split(":")[0]


class Totals:
    """Counted from how many items share a status, clock, team and channel, so a report of
    100,000s of items is tallied once per combination rather than once per item."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[tuple[str, str], int]] = {
            key: defaultdict(int) for key in ("all", "clock", "team", "channel")
        }

    def add(self, status: str, clock: str, team: str | None, channel: str, n: int = 1) -> None:
        counts = self.counts
        counts["all"][("all", status)] += n
        counts["clock"][(family(clock), status)] += n
        counts["team"][(str(team), status)] += n
        counts["channel"][(channel, status)] += n

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
