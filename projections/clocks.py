"""A complaint's SLA clocks, judged straight from its events (no read model needed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.domain.facts import case_facts
from ledger.domain.policy import Policy
from ledger.domain.sla import Verdict, evaluate
from ledger.store.books import policy_version, work_calendar
from ledger.store.root import Ledger


@dataclass(frozen=True)
class ClockReport:
    ref: str
    policy: Policy
    pinned_version: str
    as_of: datetime
    verdicts: list[Verdict]


def clock_report(
    ledger: Ledger, ref: str, as_of: datetime, version: str | None = None
) -> ClockReport:
    """The verdicts of ``ref`` at ``as_of`` under its pinned policy, or ``version`` (what-if)."""
    events = ledger.complaint_events(ref)
    pinned = str(events[0].policy_version)  # type: ignore[attr-defined]
    policy = policy_version(ledger, version or pinned)
    verdicts = evaluate(case_facts(events), policy, work_calendar(ledger), as_of)
    return ClockReport(ref, policy, pinned, as_of, verdicts)
