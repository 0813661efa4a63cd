"""A complaint's SLA clocks, judged straight from its events (no read model needed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.domain.errors import ComplaintNotFound
from ledger.domain.events import name_of
from ledger.domain.facts import case_facts
from ledger.domain.marks import Mark, clock_changes
from ledger.domain.policy import Policy
from ledger.domain.rulebook import Rulebook
from ledger.domain.sla import Verdict, evaluate
from ledger.store.books import load_rulebook
from ledger.store.root import Ledger


@dataclass(frozen=True)
class ClockReport:
    ref: str
    policy: Policy
    in_force: str  # the version the case is judged by (``policy`` differs in a what-if)
    as_of: datetime
    known_at: datetime | None
    verdicts: list[Verdict]
    changes: dict[str, list[Mark]]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [{**v.as_dict(), "changes": self.changes.get(v.clock, [])} for v in self.verdicts]


def clock_report(
    ledger: Ledger,
    ref: str,
    as_of: datetime,
    version: str | None = None,
    known_at: datetime | None = None,
) -> ClockReport:
    """The verdicts of ``ref`` at ``as_of`` under the policy in force at its receipt, or
    ``version`` (what-if); with ``known_at``, on what had been recorded by then."""
    events = ledger.complaint_events(ref)
    if name_of(events[0]) != "Complaint.Received":  # a publication stream (@policies …)
        raise ComplaintNotFound(f"no complaint has reference {ref!r}")
    if known_at is not None:
        events = [e for e in events if e.timestamp <= known_at]
        if not events:
            raise ComplaintNotFound(f"{ref} had not been recorded by {known_at.isoformat()}")
    book = load_rulebook(ledger).known_at(known_at)
    return judge(ref, events, book, as_of, version, known_at)


def judge(
    ref: str,
    events: Sequence[Any],
    book: Rulebook,
    as_of: datetime,
    version: str | None = None,
    known_at: datetime | None = None,
) -> ClockReport:
    """The clocks of one complaint from its events and the publications in ``book``."""
    facts = case_facts(events)
    in_force = book.policy_for(facts.received_at)
    policy = in_force if version is None else book.policy(version)
    verdicts = evaluate(facts, policy, book.calendar, as_of)
    what_if = None if policy == in_force else policy
    changes = clock_changes(ref, facts, book, what_if)
    return ClockReport(ref, policy, in_force.version, as_of, known_at, verdicts, changes)
