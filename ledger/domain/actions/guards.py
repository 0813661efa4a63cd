"""The checks every command method of a complaint makes before it records anything."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from ledger.domain.codes import Business, Cause
from ledger.domain.errors import ComplaintClosed, ComplaintWithdrawn, OccurredInFuture
from ledger.domain.facts import Fact
from ledger.domain.timerule import check_next
from ledger.domain.values import Severity, Stamp, Status

if TYPE_CHECKING:
    from ledger.domain.complaint import Complaint

# Client clocks drift; an occurred_at this far ahead of ours still counts as "now".
CLOCK_SKEW = timedelta(seconds=60)

# Severities that escalate at triage and need leadership's sign-off before closure.
ESCALATING_SEVERITIES = frozenset({Severity.URGENT, Severity.MAJOR})


def record(complaint: Complaint, name: str, stamp: Stamp, /, **fields: Any) -> None:
    """Record the complaint's event named ``name`` (``Complaint.<name>``) with the stamp's
    fields and ``fields``, every one of them named, through the library's ``trigger_event``.

    The same event, applied by the same ``@event`` body, as calling that body's method; without
    the method's mapping of its arguments to the event's fields on every call (a third of the
    library's cost of an event, docs/performance.md, "Deciding for less"). Mypy cannot check
    the name or the fields against the event, as it checked the method's arguments:
    tests/unit/test_record_calls.py reads every call site and does."""
    complaint.trigger_event(
        getattr(type(complaint), name),
        actor=stamp.actor,
        occurred_at=stamp.occurred_at,
        command_id=stamp.command_id,
        **fields,
    )


class Coded(TypedDict):
    cause: str | None
    business_type: str | None
    business_channel: str | None
    codes_version: str | None


def coded(cause: Cause | None, business: Business | None) -> Coded:
    """The code fields of a triage or closure: the cause, the regulator's business type and
    channel, and the version of the code list they were checked against (one list: the
    handler checks them all against the list in force)."""
    checked = cause or business
    return {
        "cause": None if cause is None else cause.code,
        "business_type": None if business is None else business.type,
        "business_channel": None if business is None else business.channel,
        "codes_version": None if checked is None else checked.version,
    }


def check_not_future(moment: datetime, now: datetime) -> None:
    if moment > now + CLOCK_SKEW:
        raise OccurredInFuture(f"occurred_at {moment.isoformat()} is in the future")


def check_open(complaint: Complaint, stamp: Stamp, now: datetime, action: str) -> None:
    check_recordable(complaint, stamp, now, action)
    if complaint.status is Status.CLOSED:
        raise ComplaintClosed(
            f"{complaint.ref} is closed; only reopen, record-callback and add-note are "
            f"allowed, not {action}"
        )


def check_recordable(complaint: Complaint, stamp: Stamp, now: datetime, action: str) -> None:
    if complaint.status is Status.WITHDRAWN:
        raise ComplaintWithdrawn(
            f"{complaint.ref} was withdrawn by the complainant; {action} is not allowed"
        )
    check_not_future(stamp.occurred_at, now)


def check_time(complaint: Complaint, kind: str, stamp: Stamp, **fields: Any) -> None:
    """The time rule (``ledger.domain.timerule``): not before a recorded action it follows."""
    # Against the fold the complaint keeps of its timeline: the same verdict as folding
    # ``complaint.timeline`` again (``check_new``), without the cost growing with its length.
    check_next(complaint.time_fold, Fact(kind, complaint.version + 1, stamp.occurred_at, **fields))
