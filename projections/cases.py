"""Read models ``case_state`` (one row per complaint) and ``sla_clocks`` (one per clock).

Both come from one fold per complaint, kept in ``case_folds`` between batches. Deadlines
are stored; statuses that depend on the moment (pending, at_risk, overdue) are computed at
query time from ``due_at``, ``risk_at`` and ``met_at``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from ledger.domain.calendar import WorkCalendar
from ledger.domain.codes import CodeList, codes_from_dict
from ledger.domain.facts import to_case_facts
from ledger.domain.marks import clock_changes
from ledger.domain.policy import Policy
from ledger.domain.rulebook import Rulebook, publication
from ledger.domain.sla import deadlines
from ledger.store.books import CALENDAR_BOOK_ID, CALENDAR_BOOK_REF, POLICY_BOOK_REF
from ledger.store.codelists import CodesPublication, codes_publication
from projections.casefold import State, fold_case, new_state, stage, stored_state
from projections.db import Cursor
from projections.publications import keep_publications
from projections.schema import stamp
from projections.tally import add as tally

CASE_COLUMNS = (
    "ref", "status", "stage", "channel", "category", "severity", "handler", "team", "collector",
    "received_at", "month", "last_activity_at", "escalated", "reopened_count", "remedies",
    "refund_total", "satisfaction", "policy_version", "closed_at", "withdrawn_at",
    "handling_seconds", "version", "escalated_to", "acknowledged", "public_attention",
    "instructions", "signed_off", "accountability", "agency", "cause_code",
    "regulator_cause_code", "codes_version", "improvements", "improvements_open",
    "evidence_files", "regulator_business_type", "regulator_business_channel",
)  # fmt: skip


def _stamp_text(text: str | None) -> str | None:
    return None if text is None else stamp(datetime.fromisoformat(text))


class Rules:
    """The policies and calendars a projection judges clocks by, kept current from the log,
    and the code lists a case's cause codes map to the regulator's by.

    A runner starts from every publication on record (``current_rules``), so a read model is
    worked out with the same rules however the log is cut into batches. Code lists stay out
    of the rulebook: they change no clock.
    """

    def __init__(
        self,
        book: Rulebook | None = None,
        codes: dict[str, CodeList] | None = None,
        published_codes: Sequence[CodesPublication] = (),
    ) -> None:
        self.book = book or Rulebook()
        self.codes: dict[str, CodeList] = dict(codes or {})
        # The code lists as published, kept in ``publications`` for logins that may not
        # read the log (``codes list``).
        self.published_codes: list[CodesPublication] = list(published_codes)
        self.kept: set[str] = set()  # labels written to ``publications`` by this runner

    @property
    def policies(self) -> dict[str, Policy]:
        return self.book.policies

    @property
    def calendar(self) -> WorkCalendar:
        return self.book.calendar

    def learn(self, event: Any) -> bool:
        """Take in a publication; True when every deadline must be worked out again."""
        found_codes = codes_publication(event)
        if found_codes is not None:
            # A case's codes name their list's version, published before them: nothing to redo.
            self.codes[event.version] = codes_from_dict(event.document)
            if all(p.label != found_codes.label for p in self.published_codes):
                self.published_codes.append(found_codes)
            return False
        ref = CALENDAR_BOOK_REF if event.originator_id == CALENDAR_BOOK_ID else POLICY_BOOK_REF
        found = publication(event, f"{ref} v{event.originator_version}")
        if found is None:
            return False
        if all(p.label != found.label for p in self.book.publications):
            self.book = Rulebook([*self.book.publications, found])
        return True


def case_row(state: State, rules: Rules) -> tuple[Any, ...]:
    handling = None
    received = state["received_at"]
    if state["first_closed_at"] is not None:
        closed = datetime.fromisoformat(state["first_closed_at"])
        handling = int((closed - datetime.fromisoformat(received)).total_seconds())
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
        "acknowledged": int(state["acknowledged"]),
        "public_attention": int(state["public_attention"]),
        "signed_off": int(state["signed_off"]),
        "accountability": (
            json.dumps(state["accountability"], ensure_ascii=False)
            if state["accountability"]
            else None
        ),
        # The policy the clocks are judged by: in force at receipt, by every publication.
        "policy_version": rules.book.policy_for(datetime.fromisoformat(received)).version,
        "regulator_cause_code": _regulator_cause(state, rules),
    }
    return tuple(row[c] for c in CASE_COLUMNS)


def _regulator_cause(state: State, rules: Rules) -> str | None:
    """The regulator cause code the case's cause maps to, in the list it was checked against."""
    codes = rules.codes.get(state.get("codes_version") or "")
    return None if codes is None else codes.regulator_for(state.get("cause_code"))


def clock_rows(state: State, rules: Rules) -> list[tuple[Any, ...]]:
    facts = to_case_facts(state["facts"])
    policy = rules.book.policy_for(facts.received_at)
    changes = clock_changes(state["ref"], facts, rules.book)
    # Who owns the case, copied beside each clock so the SLA report reads one table.
    owner = (_stamp_text(state["received_at"]), state["team"], state["handler"], state["channel"])
    texts: dict[datetime | None, str | None] = {None: None}

    def text(moment: datetime | None) -> str | None:
        # A case's clocks share their start (and often their exact-from) time: stamp it once.
        if moment not in texts:
            texts[moment] = stamp(moment)
        return texts[moment]

    rows = []
    share = policy.at_risk_share
    for d in deadlines(facts, policy, rules.calendar):
        risk_at = d.risk_at  # a business-hours clock's, in open time (``ledger.domain.sla``)
        if risk_at is None:
            risk_at = d.started_at + (d.due_at - d.started_at) * share
        marks = changes.get(d.clock)
        time = d.time
        business = time is not None and time.schedule is not None
        # ``d.late_business_seconds`` without working ``d.late_seconds`` out twice: on a
        # clock that counts every second it is ``late_seconds`` itself.
        late = d.late_seconds
        late_business = late if late is None or not business else d.late_business_seconds
        rows.append(
            (state["ref"], d.clock, text(d.started_at), _utc_text(d.due_at),
             _utc_text(risk_at), stamp(d.met_at), late, int(d.cancelled), int(d.estimated),
             *owner, stamp(d.withdrawn_at), text(d.fixed_from), int(d.recorded_after_due),
             json.dumps(marks, ensure_ascii=False) if marks else None, late_business,
             time.schedule.name if business else None)  # type: ignore[union-attr]
        )  # fmt: skip
    return rows


def _utc_text(moment: datetime) -> str:
    """``stamp(moment)`` of a time that is not None (most are in UTC already)."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def group_key(state: State) -> tuple[str, str, str, str]:
    return (state["month"], state["channel"], state["category"], state["severity"] or "untriaged")


def load_states(cur: Cursor, case_ids: Sequence[str]) -> dict[str, State]:
    states: dict[str, State] = {}
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        cur.execute(f"SELECT case_id, state FROM {{case_folds}} WHERE case_id IN ({marks})", chunk)
        states.update((row["case_id"], stored_state(row["state"])) for row in cur.fetchall())
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
    keep_publications(cur, rules)
    cur.insert("statistics_dirty", ("month", "channel", "category", "severity"), sorted(dirty),
               conflict="month, channel, category, severity")  # fmt: skip
    if recompute_all:
        recompute_clocks(cur, rules)


CLOCK_COLUMNS = ("ref", "clock", "started_at", "due_at", "risk_at", "met_at", "late_seconds",
                 "cancelled", "estimated", "received_at", "team", "handler", "channel",
                 "ended_at", "fixed_from", "recorded_after_due", "changes",
                 "late_business_seconds", "schedule")  # fmt: skip


def write_states(cur: Cursor, states: dict[str, State], rules: Rules) -> None:
    if not states:
        return
    folds = [(case_id, json.dumps(s, separators=(",", ":"))) for case_id, s in states.items()]
    cur.insert("case_folds", ("case_id", "state"), folds, conflict="case_id", update=("state",))
    cases = [case_row(s, rules) for s in states.values()]
    cur.insert("case_state", CASE_COLUMNS, cases, conflict="ref", update=CASE_COLUMNS[1:])
    refs = [s["ref"] for s in states.values()]
    tally(cur, refs, -1)  # the breaches these cases counted, out before their clocks go
    cur.delete_in("sla_clocks", "ref", refs)
    clocks = [row for s in states.values() for row in clock_rows(s, rules)]
    cur.insert("sla_clocks", CLOCK_COLUMNS, clocks)
    tally(cur, refs, 1)


def recompute_clocks(cur: Cursor, rules: Rules, chunk: int = 1000) -> None:
    """Work out every complaint's deadlines (and the policy it is judged by) again: a policy
    or a calendar was published. Chunk by chunk."""
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
        states = [stored_state(r["state"]) for r in rows]
        cases = [case_row(s, rules) for s in states]
        cur.insert("case_state", CASE_COLUMNS, cases, conflict="ref", update=CASE_COLUMNS[1:])
        refs = [s["ref"] for s in states]
        tally(cur, refs, -1)
        cur.delete_in("sla_clocks", "ref", refs)
        cur.insert(
            "sla_clocks", CLOCK_COLUMNS, [row for s in states for row in clock_rows(s, rules)]
        )
        tally(cur, refs, 1)
