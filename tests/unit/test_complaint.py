"""The Complaint aggregate's rules, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledger.domain.calendar import WorkCalendar
from ledger.domain.complaint import Complaint
from ledger.domain.errors import (
    ComplaintClosed,
    ComplaintNotClosed,
    ComplaintWithdrawn,
    OccurredInFuture,
    OccurredTooEarly,
    OutOfOrder,
)
from ledger.domain.policy import DEFAULT_POLICY
from ledger.domain.values import (
    Actor,
    Channel,
    ClockName,
    Complainant,
    ContactChannel,
    Remedy,
    RemedyKind,
    Role,
    Severity,
    Stage,
    Stamp,
    Status,
    Substantiated,
    reference_id,
)
from ledger.store.crypto import seal_complainant

RECEIVED = datetime(2026, 9, 24, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)
TEAM = Actor("wang", Role.HANDLING_TEAM)


def at(hours: float, command_id: str = "c") -> Stamp:
    return Stamp(TEAM, RECEIVED + timedelta(hours=hours), command_id)


def received(**overrides: object) -> Complaint:
    sealed, key = seal_complainant(Complainant("张三", "13800000000"), reference_id("TS-1"))
    fields: dict[str, object] = {
        "ref": "TS-1",
        "stamp": at(0.5, "c-receive"),
        "now": NOW,
        "channel": Channel.PHONE,
        "received_at": RECEIVED,
        "complainant": sealed,
        "person_key": key,
        "account_ref": "LN1",
        "collector": "外包一部",
        "content": "深夜来电",
        "category": "harassment",
        "tags": ("night",),
        "referral_number": None,
        "policy_version": "default-2026.1",
    }
    fields.update(overrides)
    return Complaint.receive(**fields)  # type: ignore[arg-type]


def planned() -> Complaint:
    c = received()
    c.triage(at(1), NOW, Severity.NORMAL, "harassment", "一般")
    c.record_findings(at(2), NOW, Substantiated.YES, "属实", ("REC-1",))
    c.plan(at(3), NOW, (Remedy(RemedyKind.REFUND, Decimal("100.00")), Remedy(RemedyKind.APOLOGY)))
    return c


def closed() -> Complaint:
    c = planned()
    c.execute(at(4), NOW, "已退款")
    c.notify_outcome(at(5), NOW, ContactChannel.PHONE, "已告知")
    c.close(at(6), NOW, "违规", "培训")
    return c


def event_names(c: Complaint) -> list[str]:
    return [type(e).__name__ for e in c.pending_events]


def test_aggregate_id_is_derived_from_the_reference() -> None:
    c = received()

    assert c.id == reference_id("TS-1")
    assert reference_id("TS-1") != reference_id("TS-2")


def test_received_complaint_is_open_in_intake_stage() -> None:
    c = received()

    assert (c.status, c.stage, c.version) == (Status.OPEN, Stage.INTAKE, 1)
    assert event_names(c) == ["Received"]


def test_received_event_carries_actor_occurred_at_and_command_id() -> None:
    c = received()

    event = c.pending_events[0]
    assert event.actor == TEAM  # type: ignore[attr-defined]
    assert event.occurred_at == RECEIVED + timedelta(hours=0.5)  # type: ignore[attr-defined]
    assert event.command_id == "c-receive"  # type: ignore[attr-defined]


def test_receipt_in_the_future_is_refused() -> None:
    with pytest.raises(OccurredInFuture):
        received(received_at=NOW + timedelta(hours=1), stamp=at(0.5))


def test_intake_recorded_before_receipt_is_refused() -> None:
    with pytest.raises(OccurredTooEarly):
        received(stamp=at(-1))


@pytest.mark.parametrize("severity", [Severity.URGENT, Severity.MAJOR])
def test_urgent_and_major_triage_escalates_to_leadership(severity: Severity) -> None:
    c = received()

    c.triage(at(1), NOW, severity, "harassment", "严重")

    assert event_names(c) == ["Received", "Triaged", "Escalated"]
    assert c.escalated


def test_normal_triage_does_not_escalate() -> None:
    c = received()

    c.triage(at(1), NOW, Severity.NORMAL, "harassment", "一般")

    assert event_names(c) == ["Received", "Triaged"]
    assert not c.escalated


def test_findings_before_triage_are_out_of_order() -> None:
    c = received()

    with pytest.raises(OutOfOrder):
        c.record_findings(at(1), NOW, Substantiated.NO, "x", ())


def test_plan_before_findings_is_out_of_order() -> None:
    c = received()
    c.triage(at(1), NOW, Severity.NORMAL, "harassment", "一般")

    with pytest.raises(OutOfOrder):
        c.plan(at(2), NOW, (Remedy(RemedyKind.APOLOGY),))


def test_execution_before_a_plan_is_out_of_order() -> None:
    c = received()
    c.triage(at(1), NOW, Severity.NORMAL, "harassment", "一般")
    c.record_findings(at(2), NOW, Substantiated.NO, "x", ())

    with pytest.raises(OutOfOrder):
        c.execute(at(3), NOW, "done")


def test_close_before_the_outcome_was_communicated_is_out_of_order() -> None:
    c = planned()
    c.execute(at(4), NOW, "已退款")

    with pytest.raises(OutOfOrder, match="outcome has not been communicated"):
        c.close(at(5), NOW, "违规", "培训")


def test_failed_rule_appends_nothing() -> None:
    c = received()
    before = list(c.pending_events)

    with pytest.raises(OutOfOrder):
        c.plan(at(2), NOW, (Remedy(RemedyKind.APOLOGY),))

    assert c.pending_events == before
    assert c.version == 1


@pytest.mark.parametrize(
    "act",
    [
        lambda c: c.triage(at(8), NOW, Severity.NORMAL, "x", "y"),
        lambda c: c.assign(at(8), NOW, "zhao", "一组"),
        lambda c: c.escalate(at(8), NOW, "x"),
        lambda c: c.withdraw(at(8), NOW, "x"),
        lambda c: c.extend(
            at(8), NOW, ClockName.SUMMARY, 3, "x", "chen", DEFAULT_POLICY, WorkCalendar({})
        ),
    ],
)
def test_closed_case_refuses_everything_but_reopen_callback_and_notes(act: object) -> None:
    c = closed()

    with pytest.raises(ComplaintClosed):
        act(c)  # type: ignore[operator]


def test_closed_case_takes_callback_note_and_reopen() -> None:
    c = closed()

    c.record_callback(at(7), NOW, 4, "满意")
    c.add_note(at(8), NOW, "备注")
    c.reopen(at(9), NOW, "不满意")

    assert c.status is Status.OPEN
    assert c.reopened_count == 1


def test_reopened_case_must_be_investigated_again_before_a_new_plan() -> None:
    c = closed()
    c.reopen(at(9), NOW, "不满意")

    with pytest.raises(OutOfOrder):
        c.plan(at(10), NOW, (Remedy(RemedyKind.APOLOGY),))

    assert c.stage is Stage.INVESTIGATION


def test_reopen_of_an_open_case_is_refused() -> None:
    c = received()

    with pytest.raises(ComplaintNotClosed):
        c.reopen(at(1), NOW, "x")


@pytest.mark.parametrize(
    "act",
    [
        lambda c: c.add_note(at(3), NOW, "x"),
        lambda c: c.reopen(at(3), NOW, "x"),
        lambda c: c.record_callback(at(3), NOW, 3, ""),
        lambda c: c.triage(at(3), NOW, Severity.NORMAL, "x", "y"),
    ],
)
def test_withdrawn_case_refuses_everything(act: object) -> None:
    c = received()
    c.withdraw(at(2), NOW, "撤诉")

    with pytest.raises(ComplaintWithdrawn):
        act(c)  # type: ignore[operator]


def test_action_in_the_future_is_refused() -> None:
    c = received()

    with pytest.raises(OccurredInFuture):
        c.add_note(Stamp(TEAM, NOW + timedelta(minutes=5), "n"), NOW, "x")


def test_action_a_few_seconds_ahead_of_our_clock_is_accepted_as_skew() -> None:
    c = received()

    c.add_note(Stamp(TEAM, NOW + timedelta(seconds=30), "n"), NOW, "x")

    assert c.notes == 1


def test_action_before_receipt_is_refused() -> None:
    c = received()

    with pytest.raises(OccurredTooEarly):
        c.add_note(at(-2), NOW, "x")


def test_step_dated_before_the_step_it_follows_is_refused() -> None:
    c = received()
    c.triage(at(5), NOW, Severity.NORMAL, "harassment", "一般")

    with pytest.raises(OccurredTooEarly, match="before the triage"):
        c.record_findings(at(4), NOW, Substantiated.NO, "x", ())


def test_refund_total_sums_refund_remedies_only() -> None:
    c = received()
    c.triage(at(1), NOW, Severity.NORMAL, "fees", "一般")
    c.record_findings(at(2), NOW, Substantiated.YES, "属实", ())

    c.plan(
        at(3),
        NOW,
        (
            Remedy(RemedyKind.REFUND, Decimal("120.50")),
            Remedy(RemedyKind.REFUND, Decimal("0.25")),
            Remedy(RemedyKind.FEE_WAIVER, Decimal("300")),
        ),
    )

    assert c.refund_total == Decimal("120.75")


def test_executing_the_same_plan_twice_is_refused() -> None:
    c = planned()
    c.execute(at(4), NOW, "done")

    with pytest.raises(OutOfOrder, match="already executed"):
        c.execute(at(5), NOW, "again")


def test_callback_before_the_outcome_is_refused() -> None:
    c = planned()

    with pytest.raises(OutOfOrder):
        c.record_callback(at(4), NOW, 5, "")


def test_replaying_events_rebuilds_the_same_state() -> None:
    c = closed()
    events = c.collect_events()

    copy: Complaint | None = None
    for e in events:
        copy = e.mutate(copy)  # type: ignore[arg-type]

    assert copy is not None
    assert (copy.status, copy.refund_total, copy.version) == (c.status, c.refund_total, c.version)
