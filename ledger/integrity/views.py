"""Plain-data views of a complaint replayed from its events (for ``show`` and exports)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from eventsourcing.domain import AggregateEvent

from ledger.domain.complaint import Complaint
from ledger.domain.events import name_of
from ledger.domain.sealed import ERASED, PERSONAL_FIELDS, Text
from ledger.domain.values import Actor, Complainant

__all__ = ["ERASED", "TextOpener", "case_view", "person_view"]

TextOpener = Callable[[Text | None], str | None]


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def person_view(person: Complainant | None) -> dict[str, str | None]:
    """The complainant's fields; ``[erased]`` for each once the data was erased (None)."""
    if person is None:
        return dict.fromkeys(PERSONAL_FIELDS, ERASED)
    return {name: getattr(person, name) for name in PERSONAL_FIELDS}


def case_view(complaint: Complaint, person: Complainant | None, text: TextOpener) -> dict[str, Any]:
    """The complaint's state as plain JSON-safe data; ``person`` is its decrypted personal
    data (``Ledger.reveal``), None once erased; ``text`` opens its sealed free text
    (``Ledger.text_reader``)."""
    c = complaint
    return {
        "ref": c.ref,
        "status": str(c.status),
        "stage": str(c.stage),
        "channel": str(c.channel),
        "received_at": iso(c.received_at),
        "referral_number": c.referral_number,
        "complainant": person_view(person),
        "personal_data_erased": c.personal_data_erased,
        "account_ref": text(c.account_ref),
        "collector": c.collector,
        "content": text(c.content),
        "category": c.category,
        "tags": list(c.tags),
        "severity": None if c.severity is None else str(c.severity),
        "assessment": text(c.assessment),
        "escalated": c.escalated,
        "escalated_to": c.escalated_to,
        "public_attention": c.public_attention,
        "awaiting_acknowledgement": c.acknowledged < c.escalations,
        "instructions": c.instructions,
        "signed_off_at": iso(c.signed_off_at),
        "accountability_records": c.accountability,
        "agency": c.agency,
        "cause_code": c.cause_code,
        "codes_version": c.codes_version,
        "regulator_business_type": c.business_type,
        "regulator_business_channel": c.business_channel,
        "improvements": [
            {
                "id": i.id,
                "action": text(i.measure),
                "owner": i.owner,
                "due": iso(i.due),
                "added_at": iso(i.added_at),
                "done_at": iso(i.done_at),
                "done_by": i.done_by,
                "late": i.late,
                "text": text(i.note),
            }
            for i in c.improvements.values()
        ],
        "regulator_replied_at": iso(c.regulator_replied_at),
        "handler": c.handler,
        "team": c.team,
        "contacts": c.contacts,
        "substantiated": None if c.substantiated is None else str(c.substantiated),
        "findings": text(c.findings),
        "evidence": list(c.evidence),
        # Files attached as evidence (issue 15); the name is sealed like other text.
        "attachments": [
            {
                "kind": kind,
                "sha256": sha256,
                "size": size,
                "version": version,
                "filename": None if filename is None else text(filename),
            }
            for sha256, size, kind, version, filename in c.attachments
        ],
        "remedies": [
            {
                "kind": str(r.kind),
                "amount": None if r.amount is None else str(r.amount),
                "detail": r.detail,
            }
            for r in c.remedies
        ],
        "refund_total": str(c.refund_total),
        "triaged_at": iso(c.triaged_at),
        "findings_at": iso(c.findings_at),
        "planned_at": iso(c.planned_at),
        "executed_at": iso(c.executed_at),
        "outcome_at": iso(c.outcome_at),
        "satisfaction": c.satisfaction,
        "missed_callbacks": c.unreached_callbacks,
        "closed_at": iso(c.closed_at),
        "root_cause": text(c.root_cause),
        "improvement": text(c.improvement),
        "reopened_count": c.reopened_count,
        "withdrawn_at": iso(c.withdrawn_at),
        "extensions": [{"clock": str(clock), "days": days} for clock, days, _ in c.extensions],
        "paused_since": iso(c.paused_since),
        "notes": c.notes,
        "policy_version": c.policy_version,
        "last_activity_at": iso(c.last_activity_at),
        "version": c.version,
    }


def happened_by(events: Sequence[AggregateEvent], as_of: datetime) -> list[AggregateEvent]:
    """The events of actions that had happened by ``as_of`` (by their dates as corrected;
    the receipt by when the complaint was received), in version order."""
    dated: dict[int, datetime] = {}
    for e in events:
        if name_of(e) == "Complaint.OccurrenceCorrected":
            dated[int(e.event)] = e.corrected_occurred_at  # type: ignore[attr-defined]
    kept, previous = [], None
    for e in events:
        name = name_of(e)
        if name == "Complaint.Received":
            moment = e.received_at  # type: ignore[attr-defined]
        elif name == "Complaint.ClocksRestarted":
            moment = previous  # recorded with its reopening, and moved with it
        else:
            moment = dated.get(e.originator_version, getattr(e, "occurred_at", e.timestamp))
        previous = moment
        if moment is not None and moment <= as_of:
            kept.append(e)
    return kept


def replay_some(events: Sequence[AggregateEvent]) -> Any:
    """Apply ``events`` in order even where versions were left out (``happened_by``)."""
    aggregate: Any = None
    for e in events:
        if aggregate is None:
            aggregate = e.mutate(None)
            continue
        e.apply(aggregate)
        aggregate.version = e.originator_version
    return aggregate


def history_rows(events: Sequence[AggregateEvent]) -> list[dict[str, Any]]:
    """One row per event: what happened, who recorded it, when it happened, when it was recorded."""
    rows = []
    for e in events:
        actor = getattr(e, "actor", None)
        rows.append(
            {
                "version": e.originator_version,
                "event": type(e).__name__,
                "actor_id": actor.id if isinstance(actor, Actor) else None,
                "actor_role": str(actor.role) if isinstance(actor, Actor) else None,
                "actor_method": str(actor.method) if isinstance(actor, Actor) else None,
                "actor_credential": actor.credential if isinstance(actor, Actor) else None,
                "occurred_at": iso(getattr(e, "occurred_at", None)),
                "recorded_at": iso(e.timestamp),
                "command_id": getattr(e, "command_id", None),
            }
        )
    return rows
