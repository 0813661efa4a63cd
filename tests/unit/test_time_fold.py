"""The time rule's fold kept by the Complaint (``Complaint.time_fold``) gives the verdicts of
folding the whole timeline again (``timerule.check_new``, the rule as it was checked before),
on random histories: any order of actions, dates going back and forth, reopenings with
restarted clocks, improvement measures and corrections that re-date earlier actions.

The histories are applied through the aggregate's ``@event`` methods, which record without
checking the rules, so that histories the rules would refuse are covered too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain import timerule
from ledger.domain.complaint import Complaint
from ledger.domain.errors import OccurredTooEarly
from ledger.domain.facts import Fact
from ledger.domain.values import Actor, Role, Stamp
from tests.unit.test_complaint import RECEIVED, received

ACTOR = Actor("wang", Role.HANDLING_TEAM)
ITEMS = ("m1", "m2")
# A narrow range, so that ties (two actions at one time) are common; before the receipt too.
HOURS = st.integers(min_value=-3, max_value=24)
# Times are written with different offsets: the rule compares instants, never wall times (one
# instant in two zones is a tie, as common as ties are).
ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5)),
     timezone(timedelta(hours=5, minutes=45))]
)  # fmt: skip


def _apply(c: Complaint, kind: str, hours: int, item: str, other: int, zone: tzinfo = UTC) -> None:
    """Record one action of ``kind`` on ``c`` through its @event method, unchecked, dated
    ``hours`` after the receipt and written with ``zone``'s offset."""
    when = (RECEIVED + timedelta(hours=hours)).astimezone(zone)
    head = (ACTOR, when, f"c{c.version + 1}")
    text = "x"
    actions: dict[str, Callable[[], Any]] = {
        "triaged": lambda: c._triaged(*head, severity="normal", category="a", assessment=text),
        "findings": lambda: c._findings_recorded(
            *head, substantiated="yes", findings=text, evidence=[]
        ),
        "planned": lambda: c._resolution_planned(*head, remedies=[]),
        "executed": lambda: c._resolution_executed(*head, detail=text),
        "outcome": lambda: c._outcome_communicated(*head, channel="phone", summary=text),
        "callback": lambda: c._callback_recorded(*head, satisfaction=4, comment=text),
        "closed": lambda: c._closed(*head, root_cause=text, improvement=text),
        "reopened": lambda: c._reopened(*head, reason=text),
        "withdrawn": lambda: c._withdrawn(*head, reason=text),
        "extended": lambda: c._deadline_extended(
            *head, clock="investigation", days=1, reason=text, approved_by="chen"
        ),
        "paused": lambda: c._clocks_paused(*head, reason=text),
        "resumed": lambda: c._clocks_resumed(*head, reason=text),
        "escalated": lambda: c._escalated(*head, reason=text, automatic=False),
        "addressed": lambda: c._escalation_addressed(
            *head, to="leadership_group", public_attention=False
        ),
        "acknowledged": lambda: c._escalation_acknowledged(*head),
        "note": lambda: c._note_added(*head, text=text),
        "contact": lambda: c._contacted(*head, channel="phone", reached=True, summary=text),
        "improvement": lambda: c._improvement_added(
            *head, improvement_id=item, measure=text, owner="li", due=when
        ),
        "improved": lambda: c._improvement_completed(*head, improvement_id=item, note=None),
        "assigned": lambda: c._assigned(*head, handler="li", team="t"),
        "agency": lambda: c._agency_named(*head, agency="a"),
        "instructed": lambda: c._leadership_instructed(*head, text=text),
        "signed_off": lambda: c._signed_off(*head, text=text),
        "accountability": lambda: c._accountability_recorded(
            *head, staff="li", team=None, finding=text, decision=text
        ),
        "replied": lambda: c._regulator_replied(*head, summary=text),
        "linked": lambda: c._complaint_linked(*head, other="TS-2", reason=text),
        "evidence": lambda: c._evidence_attached(
            *head, sha256="0" * 64, size=1, kind="audio", location=text, filename=None, note=None
        ),
    }
    if kind == "improved" and item not in c.improvements:
        kind = "improvement"
    if kind == "restarted":  # a reopening that restarts clocks, as ``reopen`` records it
        actions["reopened"]()
        c._clocks_restarted(*head, clocks=["intake", "regulatory"])
    elif kind == "corrected":
        target = c.timeline[other % len(c.timeline)]
        c._occurrence_corrected(
            *head, event=target.version, corrected_occurred_at=when,
            previous_occurred_at=target.at, reason=text, approved_by="chen",
        )  # fmt: skip
    else:
        actions[kind]()


KINDS = [*(k for k in timerule.WORDS if k != "received"), "restarted", "corrected"]
ACTIONS = st.lists(
    st.tuples(st.sampled_from(KINDS), HOURS, st.sampled_from(ITEMS), st.integers(0, 50), ZONES),
    max_size=40,
)
CANDIDATES = st.lists(
    st.tuples(st.sampled_from(list(timerule.WORDS)), HOURS, st.sampled_from(ITEMS), ZONES),
    min_size=1,
    max_size=8,
)


def _verdict(check: Callable[..., None], *args: Any) -> str | None:
    try:
        check(*args)
    except OccurredTooEarly as e:
        return str(e)
    return None


@settings(max_examples=300, deadline=None)
@given(history=ACTIONS, candidates=CANDIDATES)
def test_the_kept_fold_gives_the_verdicts_of_folding_the_timeline_again(
    history: list[tuple[str, int, str, int, tzinfo]],
    candidates: list[tuple[str, int, str, tzinfo]],
) -> None:
    c = received()
    steps = [(None, 0, "", 0, UTC), *history]
    for kind, hours, item, other, zone in steps:
        if kind is not None:
            _apply(c, kind, hours, item, other, zone)
        assert c.time_fold == timerule.fold(c.received_at, c.timeline)
        for new_kind, new_hours, new_item, new_zone in candidates:
            new_at = (RECEIVED + timedelta(hours=new_hours)).astimezone(new_zone)
            new = Fact(new_kind, c.version + 1, new_at, item=new_item)
            before = _verdict(timerule.check_new, c.received_at, c.timeline, new)
            after = _verdict(timerule.check_next, c.time_fold, new)
            assert after == before


@settings(max_examples=100, deadline=None)
@given(history=ACTIONS)
def test_a_complaint_replayed_from_its_events_has_the_same_fold(
    history: list[tuple[str, int, str, int, tzinfo]],
) -> None:
    c = received()
    for kind, hours, item, other, zone in history:
        _apply(c, kind, hours, item, other, zone)
    replayed: Any = None
    for event in c.collect_events():
        replayed = event.mutate(replayed)
    assert replayed.time_fold == c.time_fold
    replayed.key_changes = c.key_changes  # not state: the keys to save with the events
    assert replayed == c


def test_the_verdicts_go_through_the_kept_fold() -> None:
    """A complaint's commands are checked against its ``time_fold``: a fold that forgot an
    action would let a command dated before it through (this test fails if the fold is not
    extended by the actions applied)."""
    c = received()
    c.triage(Stamp(ACTOR, RECEIVED + timedelta(hours=5), "t"), RECEIVED + timedelta(days=30),
             *_triage_args())  # fmt: skip
    assert c.time_fold.count == len(c.timeline) == 2
    new = Fact("findings", 3, RECEIVED + timedelta(hours=4))
    assert _verdict(timerule.check_next, c.time_fold, new) == (
        f"occurred_at {new.at.isoformat()} is before the triage at "
        f"{(RECEIVED + timedelta(hours=5)).isoformat()} (event 2)"
    )


def _triage_args() -> tuple[Any, ...]:
    from ledger.domain.values import Severity

    return (Severity.NORMAL, "harassment", "一般")


def test_of_bounds_at_the_same_time_the_first_is_named() -> None:
    """The reopening and a closure at the same hour, both after the new action: the message
    names the reopening, as the rule always did (the first of equal bounds)."""
    c = received()
    for kind in ("triaged", "closed", "reopened", "closed"):
        _apply(c, kind, 5, "m1", 0)
    new = Fact("note", c.version + 1, RECEIVED + timedelta(hours=4))
    expected = _verdict(timerule.check_new, c.received_at, c.timeline, new)
    assert expected is not None
    assert "the reopening" in expected
    assert _verdict(timerule.check_next, c.time_fold, new) == expected


def test_a_fact_without_a_time_zone_is_refused_with_the_words_it_had() -> None:
    naive = datetime(2026, 9, 24, 8, 0)
    aware = RECEIVED
    cases = [
        ({"at": naive}, "note time 2026-09-24T08:00:00 has no time zone"),
        ({"at": aware, "recorded": naive}, "note recording time 2026-09-24T08:00:00 has no"),
        ({"at": aware, "due": naive}, "note due time 2026-09-24T08:00:00 has no time zone"),
    ]
    for fields, words in cases:
        with pytest.raises(ValueError, match=words):
            Fact("note", 2, **fields)  # type: ignore[arg-type]
    Fact("note", 2, aware, aware, due=aware)


def test_a_replay_does_not_fold_the_timeline_until_a_command_is_checked() -> None:
    """Reading a complaint (a replay) does not pay for the fold; the first command checked
    makes it, and from then on each action applied extends it."""
    c = received()
    c.triage(Stamp(ACTOR, RECEIVED + timedelta(hours=5), "t"), RECEIVED + timedelta(days=30),
             *_triage_args())  # fmt: skip
    replayed: Any = None
    for event in c.collect_events():
        replayed = event.mutate(replayed)
    assert replayed._time_fold is None
    stamp = Stamp(ACTOR, RECEIVED + timedelta(hours=6), "a")
    replayed.assign(stamp, RECEIVED + timedelta(days=30), "li", "t")
    assert replayed._time_fold == timerule.fold(replayed.received_at, replayed.timeline)
    assert replayed._time_fold.count == len(replayed.timeline) == 3
