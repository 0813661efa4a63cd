"""Read models ``case_state`` (one row per complaint) and ``sla_clocks`` (one per clock).

Both come from one fold per complaint, kept in ``case_folds`` between batches. Deadlines
are stored; statuses that depend on the moment (pending, at_risk, overdue) are computed at
query time from ``due_at``, ``risk_at`` and ``met_at``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from ledger.domain.calendar import WorkCalendar, calendar_from_dict
from ledger.domain.facts import to_case_facts
from ledger.domain.policy import DEFAULT_POLICY, Policy, policy_from_dict
from ledger.domain.sla import deadlines
from projections.casefold import State, fold_case, new_state, stage
from projections.db import Cursor
from projections.schema import stamp

SECOND = timedelta(seconds=1)
CASE_COLUMNS = (
    "ref", "status", "stage", "channel", "category", "severity", "handler", "team", "collector",
    "received_at", "month", "last_activity_at", "escalated", "reopened_count", "remedies",
    "refund_total", "satisfaction", "policy_version", "closed_at", "withdrawn_at",
    "handling_seconds", "version",
)  # fmt: skip


def _stamp_text(text: str | None) -> str | None:
    return None if text is None else stamp(datetime.fromisoformat(text))


class Rules:
    """The policies and calendars a projection judges clocks by, kept current from the log."""

    def __init__(self) -> None:
        self.policies: dict[str, Policy] = {DEFAULT_POLICY.version: DEFAULT_POLICY}
        self.calendar = WorkCalendar({})

    def learn(self, event: Any) -> bool:
        """Take in a publication; True when every deadline must be worked out again."""
        kind = type(event).__name__
        if kind == "PolicyPublished":
            self.policies[event.version] = policy_from_dict(event.document)
        elif kind == "CalendarPublished":
            years = dict(self.calendar.years)
            years[int(event.year)] = calendar_from_dict(event.document)
            self.calendar = WorkCalendar(years)
            return True
        return False


def case_row(state: State) -> tuple[Any, ...]:
    handling = None
    if state["first_closed_at"] is not None:
        closed = datetime.fromisoformat(state["first_closed_at"])
        handling = int((closed - datetime.fromisoformat(state["received_at"])).total_seconds())
    row = {
        **state,
        "stage": stage(state),
        "severity": state["severity"],
        "escalated": int(state["escalated"]),
        "remedies": ",".join(state["remedies"]),
        "received_at": _stamp_text(state["received_at"]),
        "last_activity_at": _stamp_text(state["last_activity_at"]),
        "closed_at": _stamp_text(state["closed_at"]),
        "withdrawn_at": _stamp_text(state["withdrawn_at"]),
        "handling_seconds": handling,
    }
    return tuple(row[c] for c in CASE_COLUMNS)


def clock_rows(state: State, rules: Rules) -> list[tuple[Any, ...]]:
    policy = rules.policies[state["policy_version"]]
    # Who owns the case, copied beside each clock so the SLA report reads one table.
    owner = (_stamp_text(state["received_at"]), state["team"], state["handler"], state["channel"])
    rows = []
    for d in deadlines(to_case_facts(state["facts"]), policy, rules.calendar):
        risk_at = d.started_at + (d.due_at - d.started_at) * policy.at_risk_share
        late = None if d.met_at is None else max(0, -(-(d.met_at - d.due_at) // SECOND))
        rows.append(
            (state["ref"], d.clock, stamp(d.started_at), stamp(d.due_at), stamp(risk_at),
             stamp(d.met_at), late, int(d.cancelled), int(d.estimated), *owner)
        )  # fmt: skip
    return rows


def group_key(state: State) -> tuple[str, str, str, str]:
    return (state["month"], state["channel"], state["category"], state["severity"] or "untriaged")


def load_states(cur: Cursor, case_ids: Sequence[str]) -> dict[str, State]:
    states: dict[str, State] = {}
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        cur.execute(f"SELECT case_id, state FROM {{case_folds}} WHERE case_id IN ({marks})", chunk)
        states.update((row["case_id"], json.loads(row["state"])) for row in cur.fetchall())
    return states


def apply_events(cur: Cursor, events: Iterable[Any], rules: Rules) -> None:
    """Fold a batch of events (in log order) into the case read models."""
    touched: dict[str, list[Any]] = {}
    recompute_all = False
    for event in events:
        if type(event).__module__ == "ledger.domain.complaint":
            touched.setdefault(event.originator_id.hex, []).append(event)
        elif rules.learn(event):
            recompute_all = True
    states = load_states(cur, list(touched))
    dirty: set[tuple[str, str, str, str]] = set()
    for case_id, case_events in touched.items():
        state = states.setdefault(case_id, new_state())
        if state["ref"] is not None:
            dirty.add(group_key(state))
        for event in case_events:
            fold_case(state, event)
        dirty.add(group_key(state))
    write_states(cur, states, rules)
    cur.insert("statistics_dirty", ("month", "channel", "category", "severity"), sorted(dirty),
               conflict="month, channel, category, severity")  # fmt: skip
    if recompute_all:
        recompute_clocks(cur, rules)


CLOCK_COLUMNS = ("ref", "clock", "started_at", "due_at", "risk_at", "met_at", "late_seconds",
                 "cancelled", "estimated", "received_at", "team", "handler", "channel")  # fmt: skip


def write_states(cur: Cursor, states: dict[str, State], rules: Rules) -> None:
    if not states:
        return
    folds = [(case_id, json.dumps(s, separators=(",", ":"))) for case_id, s in states.items()]
    cur.insert("case_folds", ("case_id", "state"), folds, conflict="case_id", update=("state",))
    cases = [case_row(s) for s in states.values()]
    cur.insert("case_state", CASE_COLUMNS, cases, conflict="ref", update=CASE_COLUMNS[1:])
    cur.delete_in("sla_clocks", "ref", [s["ref"] for s in states.values()])
    clocks = [row for s in states.values() for row in clock_rows(s, rules)]
    cur.insert("sla_clocks", CLOCK_COLUMNS, clocks)


def recompute_clocks(cur: Cursor, rules: Rules, chunk: int = 1000) -> None:
    """Work out every complaint's deadlines again (a calendar was published), chunk by chunk."""
    last = ""
    while True:
        cur.execute(
            "SELECT case_id, state FROM {case_folds} WHERE case_id > ? ORDER BY case_id LIMIT ?",
            (last, chunk),
        )
        rows = cur.fetchall()
        if not rows:
            return
        last = rows[-1]["case_id"]
        states = [json.loads(r["state"]) for r in rows]
        cur.delete_in("sla_clocks", "ref", [s["ref"] for s in states])
        cur.insert(
            "sla_clocks", CLOCK_COLUMNS, [row for s in states for row in clock_rows(s, rules)]
        )
