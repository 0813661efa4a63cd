"""The SLA report: every breached, overdue and at-risk clock as of a moment.

A clock's stored deadline (``sla_clocks``) judges it exactly from ``fixed_from`` on (see
``ledger.sla.Deadline``): the report judges those clocks in SQL, from the stored deadline,
met and end times and at-risk time, as ``ledger.sla.status_at`` does. The few clocks whose
stored deadline is not exact at the moment asked for (an extension or pause dated later, a
pause still open) are worked out from their case's facts by ``ledger.sla.evaluate``, the
function ``sla REF`` calls, so the report and ``sla`` agree on every clock at every moment.

With ``known_at``, the report is what the ledger knew then: every complaint is replayed from
the events recorded by then, with the publications recorded by then.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Protocol

from ledger.domain.values import reference_id
from projections.db import Cursor
from projections.queries import day_bounds, received_between
from projections.schema import stamp
from projections.sla_report import REPORTED, Totals, family

if TYPE_CHECKING:
    from ledger.domain.rulebook import Rulebook
    from ledger.store.root import Ledger
    from projections.casefold import State

STATUSES = REPORTED  # in rank order
RANKS = {status: rank for rank, status in enumerate(REPORTED)}
Row = tuple[Any, ...]  # ref, clock, rank, due_at, met_at, late, estimated, team, handler,
#                        channel, changes (JSON text or None), late in business seconds (None:
#                        the same as late, a wall clock's; an overdue clock's is worked out)
Changed = tuple[str, str, str]  # ref, clock, changes (JSON text)


class Reads(Protocol):
    """What a read of the read models alone needs: a transaction (``Query``, a runner, or
    ``projections.lean.LeanQuery``)."""

    def transaction(self) -> AbstractContextManager[Cursor]: ...


class ReadModels(Reads, Protocol):
    """Where the report reads: the query side (``projections.query.Query``), or a runner that
    has just caught the read models up."""

    @property
    def ledger(self) -> Ledger: ...


def sla_rows(
    cur: Cursor, as_of: datetime, first: date | None = None, last: date | None = None
) -> tuple[list[Row], set[str]]:
    """The reported clocks whose stored deadline is exact at ``as_of``, in reference order,
    and the references of the cases with a clock whose stored deadline is not (to be worked
    out from their facts). Only the query runs in the caller's transaction."""
    now = stamp(as_of)
    between, params = received_between("s", first, last)
    breached = "(s.late_seconds > 0 AND (s.met_at <= ? OR (s.met_at IS NULL AND s.ended_at <= ?)))"
    running = "((s.met_at IS NULL OR s.met_at > ?) AND (s.ended_at IS NULL OR s.ended_at > ?))"
    rank = f"CASE WHEN {breached} THEN 0 WHEN s.due_at < ? THEN 1 ELSE 2 END"
    text = cur.binary_order  # sort text by code point, as SQLite does, whatever the locale
    rows = cur.tuples(
        f"SELECT s.ref, s.clock, {rank} AS rank, s.due_at, s.met_at, s.late_seconds,"
        " s.estimated, s.team, s.handler, s.channel, s.changes, s.late_business_seconds,"
        " s.schedule, s.received_at,"
        " CASE WHEN s.fixed_from <= ? THEN 1 ELSE 0 END AS exact FROM {sla_clocks} s"
        f" WHERE s.started_at <= ? AND (s.fixed_from IS NULL OR s.fixed_from > ? OR {breached}"
        f" OR ({running} AND s.risk_at <= ?))" + between +
        f" ORDER BY s.ref{text}, s.clock{text}",
        [now, now, now, now, now, now, now, now, now, now, now, *params],
    )  # fmt: skip
    inexact = {row[0] for row in rows if not row[14]}
    return [row[:14] for row in rows if row[0] not in inexact], inexact


def needs_rules(rows: list[Row]) -> bool:
    """Whether a row of ``sla_rows`` is an overdue business-hours clock, whose lateness in
    business time is worked out with the publications."""
    return any(row[2] == 1 and row[12] is not None for row in rows)


def _given(book: Rulebook | None) -> Rulebook:
    assert book is not None  # read in the report's transaction whenever a clock needs it
    return book


def business_lateness(rows: list[Row], as_of: datetime, rules: Callable[[], Rulebook]) -> list[Row]:
    """The rows of ``sla_rows`` with their lateness in business time: stored for a clock that
    ended, worked out for an overdue business-hours clock (the time its schedule was open from
    its deadline to ``as_of``, by the policy it is judged by), the wall clock's otherwise
    (None). ``rules`` gives the publications, read only if a clock needs them."""
    if not needs_rules(rows):
        return [(*row[:11], row[11] if row[2] == 0 else None) for row in rows]
    from ledger.domain.clocktime import ClockTime

    book = rules()
    found: list[Row] = []
    for row in rows:
        late_business, schedule, received = row[11:14]
        if row[2] == 1 and schedule is not None:
            policy = book.policy_for(datetime.fromisoformat(received))
            # None only if a policy was published since the read model caught up
            chosen = next((s for s in policy.schedules if s.name == schedule), None)
            time = ClockTime(chosen, book.calendar, policy.zone)
            late_business = time.late_seconds(datetime.fromisoformat(row[3]), as_of)
        elif row[2] != 0:
            late_business = None
        found.append((*row[:11], late_business))
    return found


def late_entries(
    cur: Cursor, as_of: datetime, first: date | None = None, last: date | None = None
) -> Counter[str]:
    """Clocks met as of ``as_of`` only thanks to something recorded after their deadline,
    per clock (a met clock's stored deadline is always exact: nothing later moves it)."""
    now = stamp(as_of)
    between, params = received_between("s", first, last)
    rows = cur.tuples(
        "SELECT s.clock, COUNT(*) FROM {sla_clocks} s WHERE s.recorded_after_due = 1"
        " AND s.met_at <= ?" + between + " GROUP BY s.clock",
        [now, *params],
    )
    counts: Counter[str] = Counter()
    for clock, n in rows:
        counts[family(clock)] += int(n)
    return counts


def changed_clocks(
    cur: Cursor, as_of: datetime, first: date | None = None, last: date | None = None
) -> list[Changed]:
    """The clocks (started by ``as_of``) whose outcome a correction or a publication changed."""
    between, params = received_between("s", first, last)
    text = cur.binary_order
    found: list[Changed] = cur.tuples(
        "SELECT s.ref, s.clock, s.changes FROM {sla_clocks} s WHERE s.changes IS NOT NULL"
        " AND s.started_at <= ?" + between + f" ORDER BY s.ref{text}, s.clock{text}",
        [stamp(as_of), *params],
    )
    return found


def case_rows(
    state: State, book: Rulebook, as_of: datetime, changes: dict[str, Any] | None = None
) -> tuple[list[Row], Counter[str], list[Changed]]:
    """One case's reported clocks as of ``as_of``, worked out from its facts, its clocks met
    thanks to a late entry, and its clocks with marks. ``changes`` are the clocks' marks
    (JSON text or lists; worked out if None)."""
    from ledger.domain.facts import to_case_facts
    from ledger.domain.marks import clock_changes
    from ledger.domain.sla import evaluate

    facts = to_case_facts(state["facts"])
    policy = book.policy_for(facts.received_at)
    if changes is None:
        changes = clock_changes(state["ref"], facts, book)
    rows, late, changed = [], Counter[str](), []
    for v in evaluate(facts, policy, book.calendar, as_of):
        if v.recorded_after_due:
            late[family(v.clock)] += 1
        marks = changes.get(v.clock)
        text = marks if marks is None or isinstance(marks, str) else json.dumps(marks)
        if text:
            changed.append((state["ref"], v.clock, text))
        if v.status in RANKS:
            rows.append(
                (state["ref"], v.clock, RANKS[v.status], stamp(v.due_at), stamp(v.met_at),
                 v.late_by_seconds, int(v.estimated), state["team"], state["handler"],
                 state["channel"], text, v.late_business)
            )  # fmt: skip
    return rows, late, changed


def _worked_out(cur: Cursor, refs: set[str]) -> tuple[dict[str, State], dict[str, Any]]:
    """The folds of the cases ``refs`` and their clocks' stored marks."""
    from projections.cases import load_states

    by_id = {reference_id(ref).hex: ref for ref in refs}
    states = {by_id[case_id]: s for case_id, s in load_states(cur, list(by_id)).items()}
    marks: dict[str, Any] = {}
    ordered = sorted(refs)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        cur.execute(
            "SELECT ref, clock, changes FROM {sla_clocks} WHERE changes IS NOT NULL AND ref IN "
            f"({','.join('?' * len(chunk))})",
            chunk,
        )
        for row in cur.fetchall():
            marks.setdefault(row["ref"], {})[row["clock"]] = row["changes"]
    return states, marks


def sla_report_at(
    runner: ReadModels,
    as_of: datetime,
    first: date | None = None,
    last: date | None = None,
    known_at: datetime | None = None,
    book: Rulebook | None = None,
) -> dict[str, Any]:
    """The report as of ``as_of`` from the read models (caught up by the caller), or, with
    ``known_at``, from what the ledger had recorded by then. ``book`` saves reading the
    publications again when the caller has them."""
    if known_at is not None:
        rows, late, changed = _known_rows(runner.ledger, as_of, known_at, first, last)
        return sla_report(rows, as_of, late, changed, known_at)
    with runner.transaction() as cur:
        stored, inexact = sla_rows(cur, as_of, first, last)
        late = late_entries(cur, as_of, first, last)
        changed = [c for c in changed_clocks(cur, as_of, first, last) if c[0] not in inexact]
        states, marks = _worked_out(cur, inexact) if inexact else ({}, {})
        if book is None and (inexact or needs_rules(stored)):
            # The rules the stored clocks were worked out by, from the read model (never
            # the log, which a ledger_reader login may not read), in the same snapshot.
            from projections.publications import stored_rulebook

            book = stored_rulebook(cur)
    rows = business_lateness(stored, as_of, lambda: _given(book))
    if inexact:
        book = _given(book)
        for ref in sorted(inexact):
            found, _, marked = case_rows(states[ref], book, as_of, marks.get(ref, {}))
            rows += found
            changed += marked
        rows.sort(key=itemgetter(0, 1))
        changed.sort(key=itemgetter(0, 1))
    return sla_report(rows, as_of, late, changed)


def _known_rows(
    ledger: Ledger, as_of: datetime, known_at: datetime, first: date | None, last: date | None
) -> tuple[list[Row], Counter[str], list[Changed]]:
    """Every complaint replayed from the events recorded by ``known_at``: the whole log is
    read, a few hundred complaints at a time."""
    from ledger.store.books import load_rulebook
    from projections.casefold import fold_case, new_state

    book = load_rulebook(ledger).known_at(known_at)
    start, end = day_bounds(first, last)
    rows: list[Row] = []
    late: Counter[str] = Counter()
    changed: list[Changed] = []
    for events in _streams(ledger):
        known = [e for e in events if e.timestamp <= known_at]
        if not known:
            continue
        state = new_state()
        for event in known:
            fold_case(state, event)
        received = stamp(datetime.fromisoformat(state["received_at"])) or ""
        if (start is not None and received < start) or (end is not None and received >= end):
            continue
        found, entries, marked = case_rows(state, book, as_of)
        rows += found
        late += entries
        changed += marked
    rows.sort(key=itemgetter(0, 1))
    changed.sort(key=itemgetter(0, 1))
    return rows, late, changed


def _streams(ledger: Ledger, chunk: int = 500) -> Iterator[list[Any]]:
    refs = list(ledger.iter_refs())
    for offset in range(0, len(refs), chunk):
        ids = [reference_id(r) for r in refs[offset : offset + chunk]]
        streams = ledger.ledger_recorder.select_streams(ids)
        for stream in ids:
            stored = streams.get(stream, [])
            yield [ledger.mapper.to_domain_event(s) for s in stored]


def sla_report(
    rows: list[Row],
    as_of: datetime,
    late: Counter[str] | None = None,
    changed: list[Changed] | None = None,
    known_at: datetime | None = None,
) -> dict[str, Any]:
    """The SLA report: every breached, overdue and at-risk clock as of ``as_of``; how many
    clocks were met only by a late entry; every clock a correction or publication changed.

    Worst first: breaches by lateness, then overdue clocks by how long overdue (the oldest
    deadline first), then those at risk; ties by reference and clock. Times are given as the
    read model stores them (fixed-width UTC). One table is read (``sla_clocks`` carries each
    case's owner) in reference order; the rest of the order is two stable sorts here, which
    costs less than the database sorting on computed keys. Each pass over the rows is a
    comprehension or a C-level map: at 100,000s of rows a Python loop body is the cost.
    """
    second = timedelta(seconds=1)
    parse = datetime.fromisoformat
    marks = json.loads
    breached = [
        {"ref": ref, "clock": clock, "due_at": due_at, "met_at": met_at,
         "estimated": bool(estimated), "team": team, "handler": handler, "channel": channel,
         "status": "breached", "late_by_seconds": late_by,
         "late_by_business_seconds": late_by if business is None else business,
         "changes": marks(changes) if changes else []}
        for ref, clock, rank_, due_at, met_at, late_by, estimated, team, handler, channel,
        changes, business in rows
        if rank_ == 0
    ]  # fmt: skip
    # Overdue: late by the time since the deadline, in whole seconds rounded up.
    overdue = [
        {"ref": ref, "clock": clock, "due_at": due_at, "met_at": None,
         "estimated": bool(estimated), "team": team, "handler": handler, "channel": channel,
         "status": "overdue", "late_by_seconds": -((parse(due_at) - as_of) // second),
         "late_by_business_seconds": business,
         "changes": marks(changes) if changes else []}
        for ref, clock, rank_, due_at, _met, _late, estimated, team, handler, channel,
        changes, business in rows
        if rank_ == 1
    ]  # fmt: skip
    for item in overdue:  # a wall clock's: the same as late_by_seconds
        if item["late_by_business_seconds"] is None:
            item["late_by_business_seconds"] = item["late_by_seconds"]
    at_risk = [
        {"ref": ref, "clock": clock, "due_at": due_at, "met_at": None,
         "estimated": bool(estimated), "team": team, "handler": handler, "channel": channel,
         "status": "at_risk", "late_by_seconds": 0, "late_by_business_seconds": 0,
         "changes": marks(changes) if changes else []}
        for ref, clock, rank_, due_at, _met, _late, estimated, team, handler, channel,
        changes, _business in rows
        if rank_ == 2
    ]  # fmt: skip
    # Sorting is stable: within equal lateness or deadline, the order by ref and clock stays.
    breached.sort(key=itemgetter("late_by_seconds"), reverse=True)
    overdue.sort(key=itemgetter("due_at"))
    counts = Totals()
    for (rank_, clock, team, channel), n in Counter(map(itemgetter(2, 1, 7, 9), rows)).items():
        counts.add(STATUSES[rank_], clock, team, channel, n)
    late = late or Counter()
    report = {
        "as_of": as_of.isoformat(),
        "items": breached + overdue + at_risk,
        "totals": counts.as_dict(),
        "recorded_after_due": {"all": sum(late.values()), "clock": dict(sorted(late.items()))},
        "changed": [
            {"ref": ref, "clock": clock, "changes": json.loads(text)}
            for ref, clock, text in changed or []
        ],
    }
    if known_at is not None:
        report["known_at"] = known_at.isoformat()
    return report
