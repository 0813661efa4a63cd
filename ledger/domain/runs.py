"""How a complaint's facts lay out its clocks' runs (pure).

Each clock runs once from receipt. A reopening starts a new run of investigation, plan,
execution and summary, and of the intake and regulatory clocks if the reopening says so
(the policy decided when it was recorded). A new plan after the current one was executed
starts a new run of the execution clock. A run stops at the first action, in the order the
actions were recorded, that completes its stage. Runs are named ``clock`` for the first,
``clock#2``, ``clock#3`` … for later ones.

An improvement measure (溯源整改) has a clock of its own, ``improvement:<id>``: it runs from
the moment the measure was added to the deadline promised with it, and stops when the measure
is marked done. The policy has no say in it (``Item``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.domain.facts import CaseFacts, Fact
from ledger.domain.values import ClockName

INTAKE_RECORD = "intake_record"
CLOCK_ORDER = (
    ClockName.INTAKE,
    ClockName.INVESTIGATION,
    ClockName.PLAN,
    ClockName.EXECUTION,
    ClockName.SUMMARY,
    ClockName.REGULATORY,
    ClockName.ACKNOWLEDGEMENT,
    ClockName.REGULATOR_REPLY,
)
# The clocks that start at receipt; the acknowledgement clock starts at an escalation that
# names who it goes to ("addressed") and stops when the leadership group acknowledges it;
# the regulator-reply clock starts at the receipt of a regulator referral ("referred") and
# stops at the company's reply to the regulator ("replied").
RECEIPT_CLOCKS = CLOCK_ORDER[:-2]
ROUND_CLOCKS = (ClockName.INVESTIGATION, ClockName.PLAN, ClockName.EXECUTION, ClockName.SUMMARY)
# Which clock's current run each kind of action stops.
STOPS = {
    "triaged": ClockName.INTAKE,
    "findings": ClockName.INVESTIGATION,
    "planned": ClockName.PLAN,
    "executed": ClockName.EXECUTION,
    "closed": ClockName.SUMMARY,
    "outcome": ClockName.REGULATORY,
    "acknowledged": ClockName.ACKNOWLEDGEMENT,
    "replied": ClockName.REGULATOR_REPLY,
}


@dataclass(frozen=True)
class Run:
    """The ``number``-th run of ``clock``, from ``started_at`` to ``stop`` (None: not yet)."""

    clock: ClockName
    number: int
    started_at: datetime
    stop: Fact | None = None

    @property
    def name(self) -> str:
        return str(self.clock) if self.number == 1 else f"{self.clock}#{self.number}"


IMPROVEMENT = "improvement"


@dataclass(frozen=True)
class Item:
    """An improvement measure's clock: added by ``added`` (which carries its id and its due
    time), done by ``done`` (None: not yet)."""

    added: Fact
    done: Fact | None = None

    @property
    def name(self) -> str:
        return f"{IMPROVEMENT}:{self.added.item}"

    @property
    def due_at(self) -> datetime:
        assert self.added.due is not None  # every improvement fact carries its due time
        return self.added.due


@dataclass(frozen=True)
class Layout:
    """The runs of a case's clocks (report order), and what bears on their deadlines."""

    received_at: datetime
    received: Fact
    runs: tuple[Run, ...]
    withdrawal: Fact | None
    extensions: tuple[tuple[Run, Fact], ...]
    pauses: tuple[tuple[Fact, Fact | None], ...]
    items: tuple[Item, ...] = ()

    def extensions_of(self, run: Run) -> tuple[Fact, ...]:
        return tuple(e for r, e in self.extensions if r is run)

    def run_at(self, clock: ClockName, moment: datetime) -> Run | None:
        """The run of ``clock`` in progress at ``moment``: the latest started by then."""
        return _run_at(self.runs, clock, moment)


def layout(facts: CaseFacts) -> Layout:
    """Lay out the runs; ``facts`` are taken as they are (apply corrections first)."""
    if not facts.facts or facts.facts[0].kind != "received":
        raise ValueError("a complaint's facts must start with its receipt")
    received = facts.facts[0]
    runs: list[_Open] = []
    current: dict[ClockName, _Open] = {}

    def start(clock: ClockName, at: datetime) -> None:
        number = sum(1 for r in runs if r.clock == clock) + 1
        current[clock] = _Open(clock, number, at)
        runs.append(current[clock])

    for clock in RECEIPT_CLOCKS:
        start(clock, facts.received_at)
    withdrawal: Fact | None = None
    extensions: list[Fact] = []
    pauses: list[list[Fact | None]] = []
    items: dict[str, Item] = {}
    for fact in facts.facts[1:]:
        kind = fact.kind
        if kind == "planned" and current[ClockName.EXECUTION].stop is not None:
            start(ClockName.EXECUTION, fact.at)  # a new plan for an executed one
        if kind == "referred":
            if ClockName.REGULATOR_REPLY not in current:  # one reply per referral
                start(ClockName.REGULATOR_REPLY, facts.received_at)
        elif kind == "addressed":
            waiting = current.get(ClockName.ACKNOWLEDGEMENT)
            if waiting is None or waiting.stop is not None:  # one wait at a time
                start(ClockName.ACKNOWLEDGEMENT, fact.at)
        elif kind in STOPS:
            run = current.get(STOPS[kind])
            if run is not None and run.stop is None:
                run.stop = fact
        elif kind == "reopened":
            for clock in CLOCK_ORDER:
                if clock in ROUND_CLOCKS or clock in fact.restarts:
                    start(clock, fact.at)
        elif kind == "withdrawn" and withdrawal is None:
            withdrawal = fact
        elif kind == "extended":
            extensions.append(fact)
        elif kind == "paused" and not (pauses and pauses[-1][1] is None):
            pauses.append([fact, None])
        elif kind == "resumed" and pauses and pauses[-1][1] is None:
            pauses[-1][1] = fact
        elif kind == "improvement" and fact.item is not None:
            items[fact.item] = Item(fact)
        elif kind == "improved" and fact.item in items and items[fact.item].done is None:
            items[fact.item] = Item(items[fact.item].added, fact)
    ordered = tuple(sorted((Run(r.clock, r.number, r.started_at, r.stop) for r in runs),
                           key=_report_order))  # fmt: skip
    assigned: list[tuple[Run, Fact]] = []
    for e in extensions:
        assert e.clock is not None
        target = _run_at(ordered, e.clock, e.at)
        if target is not None:
            assigned.append((target, e))
    return Layout(
        facts.received_at,
        received,
        ordered,
        withdrawal,
        tuple(assigned),
        tuple((p, r) for p, r in pauses if p is not None),
        tuple(items.values()),
    )


@dataclass
class _Open:
    """A run being laid out (its stop may still come)."""

    clock: ClockName
    number: int
    started_at: datetime
    stop: Fact | None = None


def _report_order(run: Run) -> tuple[int, datetime | int, int, int]:
    if run.number == 1:
        return (0, 0, CLOCK_ORDER.index(run.clock), 1)
    return (1, run.started_at, CLOCK_ORDER.index(run.clock), run.number)


def _run_at(runs: tuple[Run, ...], clock: ClockName, moment: datetime) -> Run | None:
    started = [r for r in runs if r.clock == clock and r.started_at <= moment]
    return max(started, key=lambda r: (r.started_at, r.number), default=None)
