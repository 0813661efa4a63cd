"""The SLA report: every breached, overdue and at-risk clock, with totals (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.sla import Verdict

REPORTED = ("breached", "overdue", "at_risk")


@dataclass(frozen=True)
class CaseClocks:
    """One complaint's verdicts with what a supervisor needs to chase them."""

    ref: str
    team: str | None
    handler: str | None
    channel: str
    verdicts: list[Verdict]


def sla_report(cases: Iterable[CaseClocks], as_of: datetime) -> dict[str, Any]:
    """``{"as_of", "items": [...], "totals": {...}}`` for the clocks that need attention."""
    items: list[dict[str, Any]] = []
    for case in cases:
        for v in case.verdicts:
            if v.status not in REPORTED:
                continue
            items.append(
                {
                    "ref": case.ref,
                    "clock": v.clock,
                    "status": v.status,
                    "due_at": v.due_at.isoformat(),
                    "met_at": None if v.met_at is None else v.met_at.isoformat(),
                    "late_by_seconds": v.late_by_seconds,
                    "team": case.team,
                    "handler": case.handler,
                    "channel": case.channel,
                    "estimated": v.estimated,
                }
            )
    return report_from_items(items, as_of)


def report_from_items(items: list[dict[str, Any]], as_of: datetime) -> dict[str, Any]:
    """Order the items (worst first) and add totals per status, clock, team and channel."""
    order = {status: i for i, status in enumerate(REPORTED)}
    items.sort(key=lambda i: (order[i["status"]], -int(i["late_by_seconds"]), i["ref"], i["clock"]))
    return {"as_of": as_of.isoformat(), "items": items, "totals": _totals(items)}


def _totals(items: list[dict[str, Any]]) -> dict[str, Any]:
    def count(key: str) -> dict[str, dict[str, int]]:
        table: dict[str, Counter[str]] = {}
        for item in items:
            name = str(item[key] if key != "clock" else item["clock"].split("#")[0])
            table.setdefault(name, Counter())[item["status"]] += 1
        return {name: {s: c[s] for s in REPORTED} for name, c in sorted(table.items())}

    by_status = Counter(item["status"] for item in items)
    return {
        "all": {s: by_status[s] for s in REPORTED},
        "clock": count("clock"),
        "team": count("team"),
        "channel": count("channel"),
    }
