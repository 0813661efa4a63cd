"""Which verdicts a correction or a republication changed (pure).

Nothing that changes a recorded verdict goes unmarked. A correction re-dates an action:
every clock whose outcome it changed is marked with the outcome before and after it. A
policy or calendar published after a clock had finished (its stop or the withdrawal that
ended it was on record) is compared with the publications known then: every clock whose
outcome a later publication changed is marked, naming the publication. ``sla`` and the
read models call the same function, so both show the same marks.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from ledger.domain.facts import CaseFacts
from ledger.domain.policy import Policy
from ledger.domain.rulebook import Rulebook
from ledger.domain.runs import INTAKE_RECORD, layout
from ledger.domain.sla import Deadline, deadlines

Mark = dict[str, Any]


def outcome(d: Deadline | None) -> dict[str, Any] | None:
    """How a clock ends up on every fact: met, breached, cancelled, or still open."""
    if d is None:
        return None
    if d.met_at is not None:
        status = "met" if d.met_at <= d.due_at else "breached"
    elif d.withdrawn_at is not None:
        status = "cancelled" if d.cancelled else "breached"
    else:
        status = "open"
    return {
        "status": status,
        "due_at": d.due_at.astimezone(UTC).isoformat(),
        "late_by_seconds": d.late_seconds or 0,
    }


def _table(facts: CaseFacts, policy: Policy, book: Rulebook) -> dict[str, dict[str, Any] | None]:
    return {d.clock: outcome(d) for d in deadlines(facts, policy, book.calendar)}


def finished(facts: CaseFacts) -> dict[str, datetime]:
    """When each finished clock's end was recorded: its stop, or the withdrawal that ended it."""
    lay = layout(facts.corrected())
    found = {}
    if lay.received.recorded is not None:
        found[INTAKE_RECORD] = lay.received.recorded
    w = lay.withdrawal
    for run in lay.runs:
        stop = run.stop
        end = w if w is not None and (stop is None or stop.at > w.at) else stop
        if end is not None and end.recorded is not None:
            found[run.name] = end.recorded
    return found


def clock_changes(
    ref: str, facts: CaseFacts, book: Rulebook, policy: Policy | None = None
) -> dict[str, list[Mark]]:
    """The marks of each clock of the case, in the order their causes were recorded.

    ``policy`` (a what-if) replaces the one in force; republications are then not compared.
    """
    marks: dict[str, list[Mark]] = defaultdict(list)
    applied = policy or book.policy_for(facts.received_at)
    if facts.corrections:
        before = _table(CaseFacts(facts.received_at, facts.facts), applied, book)
        for count, correction in enumerate(facts.corrections, start=1):
            partial = CaseFacts(facts.received_at, facts.facts, facts.corrections[:count])
            after = _table(partial, applied, book)
            for clock in sorted(before.keys() | after.keys()):
                if before.get(clock) != after.get(clock):
                    marks[clock].append(_mark("correction", f"{ref} v{correction.version}",
                                              correction.recorded, before.get(clock),
                                              after.get(clock)))  # fmt: skip
            before = after
    if policy is None and book.publications:
        _republications(facts, book, marks)
    for found in marks.values():
        found.sort(key=lambda m: m["recorded_at"] or "")
    return dict(marks)


def _republications(facts: CaseFacts, book: Rulebook, marks: dict[str, list[Mark]]) -> None:
    latest = book.publications[-1].recorded
    receipt = facts.facts[0].recorded
    if receipt is not None and receipt >= latest:
        return  # every clock finished after the last publication: nothing to compare
    ended = {clock: at for clock, at in finished(facts).items() if at < latest}
    tables: dict[int, dict[str, dict[str, Any] | None]] = {}

    def table(count: int) -> dict[str, dict[str, Any] | None]:
        if count not in tables:
            known = book.prefix(count)
            tables[count] = _table(facts, known.policy_for(facts.received_at), known)
        return tables[count]

    for clock, at in ended.items():
        first = next(i for i, p in enumerate(book.publications) if p.recorded > at)
        previous = table(first).get(clock)
        for index in range(first, len(book.publications)):
            current = table(index + 1).get(clock)
            if current != previous:
                p = book.publications[index]
                marks[clock].append(_mark("republication", p.label, p.recorded, previous, current))
            previous = current


def _mark(
    cause: str,
    event: str,
    recorded: datetime | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> Mark:
    return {
        "cause": cause,
        "event": event,
        "recorded_at": None if recorded is None else recorded.astimezone(UTC).isoformat(),
        "before": before,
        "after": after,
    }
