"""Randomised histories with backdated actions, through the real write path and the real
read models, on both backends (issue 12, "done when" 2).

A seeded generator writes ``HISTORIES`` complaint histories (default 2,000; env
``SLA_HISTORIES`` and ``SLA_SEED`` change them): triage, findings, plans, executions,
outcomes, closures, reopenings, withdrawals, extensions, pauses and notes, a third of them
dated before the action recorded last. They are applied in bulk (the ledger refuses what the
rules refuse), the read models are caught up, and then for every history:

* ``report sla`` and ``sla`` give the same clocks, statuses, deadlines and lateness at 10
  as-of instants (half at random over its life, half just around its actions);
* replayed as the ledger knew it after each of its events was recorded (``--known-at``), no
  clock judged ``breached`` is ever ``met`` later, and a clock overdue in real time is met
  later only as a late entry (``recorded_after_due``);
* the time its pausable clocks were moved by never exceeds the wall time from the first
  pause to the last resume.

Improvement measures (issue 15) are added and marked done among the actions, so their clocks
(``improvement:<id>``) are compared too.

Each complaint is received on a day of its own, so ``report sla --from D --to D`` is the
report of that one complaint.

The same histories (``BUSINESS_HISTORIES``, default 600; env ``SLA_BUSINESS_HISTORIES``) are
judged again under a policy whose hour clocks count business hours on two schedules (issue
18): the two agree there too, lateness in business seconds included.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from commands.bulk import apply_in_batches
from commands.models import Envelope, parse_command
from ledger.domain.facts import case_facts
from ledger.domain.policy import parse_policy
from ledger.domain.sla import deadlines, evaluate
from ledger.store.books import load_rulebook
from ledger.store.root import open_ledger
from projections.clocks import judge
from projections.runner import Runner
from projections.sla_query import sla_report_at
from tests.helpers import run

HISTORIES = int(os.environ.get("SLA_HISTORIES", "2000"))
# Histories judged under a business-hours policy (issue 18), on each backend.
BUSINESS_HISTORIES = int(os.environ.get("SLA_BUSINESS_HISTORIES", "600"))
SEED = int(os.environ.get("SLA_SEED", "12"))
SH = ZoneInfo("Asia/Shanghai")
FIRST_DAY = datetime(2021, 3, 1, tzinfo=SH)
REPORTED = ("breached", "overdue", "at_risk")
# About how long after receipt each clock's first deadline falls, and its first step.
LIMITS = {"investigation": (24, 1), "plan": (48, 2), "execution": (240, 7),
          "summary": (500, 15), "regulatory": (360, 15)}  # fmt: skip
STOPPED_BY = {"record_findings": "investigation", "plan": "plan", "execute": "execution",
              "notify_outcome": "regulatory", "close": "summary"}  # fmt: skip
TEAM = {"id": "wang", "role": "handling_team"}
CS = {"id": "li", "role": "customer_service"}
LEADER = {"id": "chen", "role": "leadership"}


class _History:
    def __init__(self, rng: random.Random, index: int) -> None:
        self.rng, self.ref = rng, f"RND-{index:05d}"
        self.received = FIRST_DAY + timedelta(days=index, hours=rng.uniform(0, 22))
        self.t = self.received
        self.commands: list[dict[str, Any]] = []
        self.stage = "received"
        self.measures = 0  # improvement measures asked for (some refused by the rules)

    def when(self) -> datetime:
        """Mostly later than the last action; a third of the time dated before it."""
        rng = self.rng
        if rng.random() < 0.33:
            return self.received + (self.t - self.received) * rng.random()
        self.t += timedelta(hours=rng.choice([0.2, 0.5, 1, 3, 8, 20, 40, 100]) * rng.random())
        return self.t

    def add(
        self, command: str, actor: dict[str, str], at: datetime | None = None, **fields: Any
    ) -> None:
        n, at = len(self.commands), at or self.when()
        self.commands.append({"command": command, "command_id": f"{self.ref}-{n}",
                              "ref": self.ref, "actor": actor, "occurred_at": at.isoformat(),
                              **fields})  # fmt: skip

    def step(self) -> None:
        rng, stage = self.rng, self.stage
        roll = rng.random()
        if roll < 0.12:
            # A pause, mostly with its resume (some stay open).
            start = self.when()
            self.add("pause", TEAM, start, reason="等待")
            if rng.random() < 0.75:
                end = start + timedelta(hours=rng.uniform(0.5, 60))
                self.t = max(self.t, end)
                self.add("resume", TEAM, end, reason="收到")
        elif roll < 0.2:
            # Often the clock just stopped, dated close to its first deadline: where the rules
            # bite (an extension must not turn that stop's breach into met).
            last = STOPPED_BY.get(self.commands[-1]["command"])
            clock = last if last and rng.random() < 0.5 else rng.choice(list(LIMITS))
            hours, step = LIMITS[clock]
            edge = self.received + timedelta(hours=hours * rng.uniform(0.6, 1.05))
            at = edge if rng.random() < 0.7 and edge < self.t else None
            self.add("extend", LEADER, at, clock=clock, days=rng.randint(1, step), reason="复杂",
                     approved_by="chen")  # fmt: skip
        elif roll < 0.26:
            self.add("add_note", CS, text="备注")
        elif roll < 0.29 and stage not in ("closed", "withdrawn"):
            self.add("withdraw", CS, reason="撤诉")
            self.stage = "withdrawn"
        elif roll < 0.33:
            # An improvement measure (issue 15) due hours or days on, or one marked done
            # (perhaps late, or again: refused), open or closed alike.
            if self.measures and rng.random() < 0.6:
                item = str(rng.randint(1, self.measures))
                self.add("complete_improvement", TEAM, improvement_id=item)
            else:
                self.measures += 1
                due = self.t + timedelta(hours=rng.choice([2, 24, 100]) * rng.random())
                self.add("add_improvement", TEAM, action="整改", owner="wang",
                         due=due.isoformat())  # fmt: skip
        elif stage in ("received", "reopened"):
            self.add("triage", TEAM, severity="normal", category="fees", assessment="一般")
            self.stage = "triaged"
        elif stage == "triaged":
            self.add("record_findings", TEAM, substantiated="no", findings="核实")
            self.stage = "found"
        elif stage in ("found", "notified") and roll < 0.7:
            self.add("plan", TEAM, remedies=[{"kind": "apology"}])
            self.stage = "planned"
        elif stage == "planned":
            self.add("execute", TEAM, detail="已执行")
            self.stage = "executed"
        elif stage in ("executed", "found"):
            self.add("notify_outcome", TEAM, channel="phone", summary="告知")
            self.stage = "notified" if stage == "found" else "done"
        elif stage == "done":
            self.add("close", TEAM, root_cause="x", improvement="y")
            self.stage = "closed"
        elif stage == "closed":
            self.add("reopen", CS, reason="不满意")
            self.stage = "reopened"


def histories(count: int, seed: int) -> Iterator[list[dict[str, Any]]]:
    rng = random.Random(seed)
    for index in range(count):
        h = _History(rng, index)
        recorded = h.received + timedelta(minutes=rng.choice([1, 10, 50, 90]))
        h.commands.append({"command": "receive", "command_id": f"{h.ref}-r", "ref": h.ref,
                           "actor": CS, "occurred_at": recorded.isoformat(), "channel": "phone",
                           "received_at": h.received.isoformat(), "content": "催收投诉",
                           "category": "fees"})  # fmt: skip
        h.t = recorded
        for _ in range(rng.randint(4, 16)):
            h.step()
        yield h.commands


POLICY = """
version = "random-1"
[clocks.intake]
limit = 1
unit = "hours"
[clocks.investigation]
limit = 24
unit = "hours"
pausable = true
extension_steps = [1, 2]
[clocks.plan]
limit = 48
unit = "hours"
pausable = true
extension_steps = [2]
[clocks.execution]
limit = 7
unit = "working_days"
pausable = true
extension_steps = [7]
[clocks.summary]
limit = 15
unit = "working_days"
pausable = true
extension_steps = [15]
[clocks.regulatory]
limit = 15
unit = "days"
extension_steps = [15, 30]
"""


# The same clocks, the hour clocks counting an office's hours (two intervals a day, a make-up
# working day with Wednesday's hours), intake and plan in a fixed-offset zone's hours.
BUSINESS_POLICY = POLICY.replace(
    'version = "random-1"',
    """version = "random-business-1"
timezone = "+08:00"
[schedules.office]
make_up_day = "wednesday"
monday = ["09:00-12:00", "13:30-18:00"]
tuesday = ["09:00-12:00", "13:30-18:00"]
wednesday = ["08:30-12:00", "13:00-17:30"]
thursday = ["09:00-12:00", "13:30-18:00"]
friday = ["09:00-12:00", "13:30-16:00"]
[schedules.evenings]
working_days_only = false
monday = ["08:00-22:00"]
tuesday = ["08:00-22:00"]
wednesday = ["08:00-22:00"]
thursday = ["08:00-22:00"]
friday = ["08:00-22:00"]
saturday = ["10:00-16:00"]
""",
).replace('unit = "hours"', 'unit = "hours"\nschedule = "office"', 2)
BUSINESS_POLICY = BUSINESS_POLICY.replace(
    'limit = 48\nunit = "hours"', 'limit = 48\nunit = "hours"\nschedule = "evenings"'
)


def publish(url: str, tmp_path: Path, policy: str = POLICY) -> None:
    """A policy whose internal clocks pause, in force before every receipt; the calendars of
    2022 to 2026 (2021 stays unpublished: its working-day deadlines are estimated)."""
    lead = ["--actor", "chen", "--role", "leadership", "--occurred-at", "2020-06-01T00:00:00Z"]
    document = tmp_path / "random-1.toml"
    document.write_text(policy, encoding="utf-8")
    published = run(url, "policy", "publish", str(document), "--effective-from",
                    "2020-01-01T00:00:00+08:00", *lead)  # fmt: skip
    assert published.exit_code == 0, published.stderr
    for year in range(2022, 2027):
        assert run(url, "calendar", "publish", str(year), *lead).exit_code == 0


def key(item: dict[str, Any]) -> tuple[str, str, datetime, int, int]:
    due = datetime.fromisoformat(item["due_at"])
    late = item["late_by_seconds"], item["late_by_business_seconds"]
    return item["clock"], item["status"], due, *late


def instants(rng: random.Random, events: list[Any], received: datetime) -> list[datetime]:
    dated = [getattr(e, "occurred_at", received) for e in events]
    last = max(dated)
    spread = [received - timedelta(hours=2) + (last - received + timedelta(days=40)) * rng.random()
              for _ in range(5)]  # fmt: skip
    near = [rng.choice(dated) + timedelta(seconds=rng.randint(-3600, 3600)) for _ in range(5)]
    return spread + near


@pytest.mark.timeout(1200)
def test_report_and_sla_agree_and_no_recorded_breach_turns_met(
    ledger_url: str, tmp_path: Path
) -> None:
    publish(ledger_url, tmp_path)

    _agree(ledger_url, HISTORIES, _paused_within_wall_time)


@pytest.mark.timeout(1200)
def test_report_and_sla_agree_on_business_hours_clocks(ledger_url: str, tmp_path: Path) -> None:
    publish(ledger_url, tmp_path, BUSINESS_POLICY)

    _agree(ledger_url, BUSINESS_HISTORIES, _paused_moves_business_clocks_later)


def _agree(ledger_url: str, count: int, paused_check: Any) -> None:
    """Apply ``count`` generated histories; then ``report sla`` equals ``sla`` at 10 instants
    of each, no recorded breach turns met, and ``paused_check`` holds for each paused one."""
    generated = list(histories(count, SEED))
    numbered: list[tuple[int, Envelope | Exception]] = [
        (n, parse_command(c)) for n, c in enumerate((c for h in generated for c in h), 1)
    ]
    rng = random.Random(SEED + 1)
    with open_ledger(ledger_url) as ledger:
        refused = list(apply_in_batches(ledger, numbered, batch_size=500))
        runner = Runner(ledger)
        runner.catch_up_all()
        book = load_rulebook(ledger)
        compared = paused_checks = measures = 0
        for commands in generated:
            ref = commands[0]["ref"]
            events = ledger.complaint_events(ref)
            received = datetime.fromisoformat(commands[0]["received_at"])
            day = received.astimezone(SH).date()
            moments = instants(rng, events, received)
            for as_of in moments:
                by_sla = sorted(key(v) for v in judge(ref, events, book, as_of).as_dicts()
                                if v["status"] in REPORTED)  # fmt: skip
                report = sla_report_at(runner, as_of, day, day, book=book)
                by_report = sorted(key(i) for i in report["items"])
                assert by_report == by_sla, (ref, as_of.isoformat())
                compared += 1
                measures += sum(1 for k in by_sla if k[0].startswith("improvement:"))
            _never_met_after_a_recorded_breach(ref, events, book, moments)
            paused_checks += paused_check(events, book)
    assert compared == 10 * count
    assert len(refused) > count  # the rules refused many backdated actions
    assert paused_checks > count // 10
    assert measures > count // 10  # improvement clocks reported (breached, overdue, at risk)


def _never_met_after_a_recorded_breach(
    ref: str, events: list[Any], book: Any, moments: list[datetime]
) -> None:
    """Judged as the ledger knew it after each event was recorded: at three of the as-of
    instants, and in real time (as of the moment of knowing, ``None`` below)."""
    facts = case_facts(events)
    seen: dict[tuple[datetime | None, str], str] = {}
    for known in sorted({e.timestamp for e in events}):
        then = facts.known_at(known)
        rules = book.known_at(known)
        policy = rules.policy_for(facts.received_at)
        for as_of in [*moments[:3], None]:
            verdicts = evaluate(then, policy, rules.calendar, known if as_of is None else as_of)
            for v in verdicts:
                before = seen.get((as_of, v.clock))
                if before == "breached":
                    assert v.status != "met", (ref, v.clock, as_of, known)
                if before == "overdue" and as_of is None and v.status == "met":
                    assert v.recorded_after_due, (ref, v.clock, known)
                seen[(as_of, v.clock)] = v.status


def _paused_within_wall_time(events: list[Any], book: Any) -> int:
    facts = case_facts(events).corrected()
    pauses = [f.at for f in facts.facts if f.kind == "paused"]
    resumes = [f.at for f in facts.facts if f.kind == "resumed"]
    if not pauses or len(resumes) < len(pauses):
        return 0
    policy = book.policy_for(facts.received_at)
    still = replace(policy, rules=tuple(replace(r, pausable=False) for r in policy.rules))
    moved = {d.clock: d.due_at for d in deadlines(facts, policy, book.calendar)}
    fixed = {d.clock: d.due_at for d in deadlines(facts, still, book.calendar)}
    wall = max(resumes) - min(pauses)
    for clock, due in moved.items():
        assert timedelta(0) <= due - fixed[clock] <= wall, clock
    return 1


def _paused_moves_business_clocks_later(events: list[Any], book: Any) -> int:
    """On business-hours clocks a pause moves a deadline by the open time paused, which is
    never more than the wall time paused: the deadline moves later (or stays), and the open
    time between the unpaused and the paused deadline is at most the wall time paused."""
    facts = case_facts(events).corrected()
    pauses = [f.at for f in facts.facts if f.kind == "paused"]
    resumes = [f.at for f in facts.facts if f.kind == "resumed"]
    if not pauses or len(resumes) < len(pauses):
        return 0
    policy = book.policy_for(facts.received_at)
    assert policy.version == "random-business-1"
    still = replace(policy, rules=tuple(replace(r, pausable=False) for r in policy.rules))
    moved = {d.clock: d for d in deadlines(facts, policy, book.calendar)}
    fixed = {d.clock: d.due_at for d in deadlines(facts, still, book.calendar)}
    wall = max(resumes) - min(pauses)
    for clock, d in moved.items():
        assert fixed[clock] <= d.due_at, clock
        if d.time is not None and d.time.business:
            assert d.time.between(fixed[clock], d.due_at)[0] <= wall, clock
    return 1


def test_the_business_policy_has_hour_clocks_on_two_schedules() -> None:
    policy = parse_policy(BUSINESS_POLICY, "toml")

    assert {str(r.clock): r.schedule for r in policy.rules if r.unit == "hours"} == {
        "intake": "office", "investigation": "office", "plan": "evenings",
        "acknowledgement": "office",  # left out of the document: counted like intake
    }  # fmt: skip


def test_the_generator_dates_a_third_of_the_actions_before_the_last_one() -> None:
    commands = [c for h in histories(200, SEED) for c in h if c["command"] != "receive"]
    earlier = 0
    for previous, current in pairwise(commands):
        if previous["ref"] == current["ref"] and current["occurred_at"] < previous["occurred_at"]:
            earlier += 1
    assert 0.2 < earlier / len(commands) < 0.45
    assert {c["command"] for c in commands} >= {"pause", "resume", "extend", "withdraw", "reopen",
                                               "plan", "execute", "close", "add_improvement",
                                               "complete_improvement"}  # fmt: skip
