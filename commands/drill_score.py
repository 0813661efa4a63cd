"""A drill's score, from the scratch ledger it was replayed in (docs/drills.md, "Scoring").

Every check is passed or failed, and ``score`` is the share passed, 0–100 (rounded half up):

- each clock of each complaint, judged at the scenario's end with the same rules as ``sla``:
  met passes; breached or overdue fails; pending, at risk and cancelled are not judged;
- for each complaint judged ``urgent`` or ``major``, the escalation loop's four steps:
  escalated; acknowledged within the acknowledgement clock (or, with no addressee and so no
  clock, acknowledged at all); instructed (批示); signed off, before the closure when closed;
- each scenario command the scratch ledger refused fails.

A scenario with nothing to judge scores 0.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from commands.drill_scenario import Scenario
from ledger.domain.events import name_of
from ledger.domain.values import Severity
from ledger.store.root import Ledger
from projections.clocks import clock_report

JUDGED = {"met": True, "breached": False, "overdue": False}
LOOP_SEVERITIES = {Severity.URGENT, Severity.MAJOR}


def score_scratch(
    scratch: Ledger, scenario: Scenario, version: str, failed: list[dict[str, Any]]
) -> dict[str, Any]:
    clocks: list[dict[str, Any]] = []
    stages: list[dict[str, Any]] = []
    loops: list[dict[str, Any]] = []
    for ref in scratch.iter_refs():
        complaint = scratch.get_complaint(ref)
        report = clock_report(scratch, ref, scenario.end)
        for v in report.verdicts:
            clocks.append({"ref": ref, "clock": v.clock, "status": v.status})
            stages.append(_stage(ref, complaint.received_at, v))
        if complaint.severity in LOOP_SEVERITIES:
            acknowledged = [v.status for v in report.verdicts if v.clock == "acknowledgement"]
            loops.append(_loop(ref, str(complaint.severity), scratch.complaint_events(ref),
                               acknowledged))  # fmt: skip
    checks = [JUDGED[c["status"]] for c in clocks if c["status"] in JUDGED]
    checks += [passed for loop in loops for passed in loop["steps"].values()]
    checks += [False for _ in failed]
    passed = sum(checks)
    score = 0 if not checks else int(
        (Decimal(100 * passed) / len(checks)).quantize(Decimal(1), ROUND_HALF_UP)
    )  # fmt: skip
    return {
        "score": score,
        "scenario": scenario.title,
        "scenario_sha256": scenario.sha256,
        "policy_version": version,
        "as_of": scenario.end.isoformat(),
        "checks": {"passed": passed, "failed": len(checks) - passed},
        "clocks": clocks,
        "stages": stages,
        "escalation_loop": loops,
        "failed_steps": failed,
    }


def _stage(ref: str, received_at: datetime, v: Any) -> dict[str, Any]:
    """How long the stage took from receipt, against the time it was allowed."""
    return {
        "ref": ref,
        "clock": v.clock,
        "allowed_seconds": int((v.due_at - received_at).total_seconds()),
        "took_seconds": None if v.met_at is None else int((v.met_at - received_at).total_seconds()),
        "late_by_seconds": v.late_by_seconds,
        "status": v.status,
    }


def _loop(ref: str, severity: str, events: list[Any], acknowledged: list[str]) -> dict[str, Any]:
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    for e in events:
        name = name_of(e).partition(".")[2]
        first.setdefault(name, e.occurred_at)
        last[name] = e.occurred_at
    if acknowledged:
        in_time = all(status == "met" for status in acknowledged)
    else:
        in_time = "EscalationAcknowledged" in first
    signed = "SignedOff" in last and ("Closed" not in last or last["SignedOff"] <= last["Closed"])
    return {
        "ref": ref,
        "severity": severity,
        "steps": {
            "escalated": "Escalated" in first,
            "acknowledged_in_time": in_time,
            "instructed": "LeadershipInstructed" in first,
            "signed_off_before_closing": signed,
        },
    }
