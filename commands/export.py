"""Write a ledger back out as the JSON Lines commands that ``apply`` takes.

Every event becomes the command that caused it, in log order, with its own command id,
actor and ``occurred_at``; applied to an empty ledger, the commands rebuild the same
complaints, deadlines and read models. Events a command produces by itself (the escalation
of an urgent triage, the clocks a reopening restarts, the opening of a register) and the
ledger's own seals are left out: the commands produce them again. The staff directory's
events become its commands. Personal data and free text are written decrypted; an erased
complaint is written without its personal data and with ``[erased]`` for its text, followed
by its erasure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import yaml

from ledger.domain.events import Coverage, name_of
from ledger.domain.sealed import LegacyText, SealedText
from ledger.store.crypto import TextReader, open_complainant
from ledger.store.root import Ledger

Command = dict[str, Any]
# Events a command produces by itself, and the seals, by registered name (ledger.domain.events).
SKIPPED = frozenset(
    {"Complaint.ClocksRestarted", "PolicyBook.Opened", "CalendarBook.Opened", "SealBook.Opened",
     "SealBook.LedgerSealed", "StaffDirectory.Opened", "ReadinessBook.Opened"}
)  # fmt: skip


def _common(event: Any, command: str, ref: str) -> Command:
    return {
        "command": command,
        "command_id": event.command_id,
        "ref": ref,
        "actor": {"id": event.actor.id, "role": str(event.actor.role)},
        "occurred_at": event.occurred_at.isoformat(),
    }


def _fields(event: Any, *names: str) -> dict[str, Any]:
    return {name: getattr(event, name) for name in names}


def _remedies(event: Any) -> dict[str, Any]:
    remedies = []
    for r in event.remedies:
        remedy = {"kind": str(r.kind), "amount": None if r.amount is None else str(r.amount),
                  "detail": r.detail}  # fmt: skip
        remedies.append({k: v for k, v in remedy.items() if v is not None})
    return {"remedies": remedies}


def _cause(event: Any) -> dict[str, Any]:
    """The codes a triage or closure gave (cause, the regulator's business type and channel)."""
    names = ("cause", "business_type", "business_channel")
    return {n: getattr(event, n) for n in names if getattr(event, n) is not None}


ALERT_FIELDS = ("rule", "clock", "recipient", "address", "channel", "attempts")
# A complaint's event -> (command, the command's own fields taken from the event).
SIMPLE: dict[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    "Complaint.Triaged": ("triage", lambda e: {
        **_fields(e, "severity", "category", "assessment"), **_cause(e),
    }),
    "Complaint.Escalated": ("escalate", lambda e: _fields(e, "reason")),
    "Complaint.Assigned": ("assign", lambda e: _fields(e, "handler", "team")),
    "Complaint.CustomerContacted": (
        "contact",
        lambda e: _fields(e, "channel", "reached", "summary"),
    ),
    "Complaint.FindingsRecorded": (
        "record_findings",
        lambda e: _fields(e, "substantiated", "findings", "evidence"),
    ),
    "Complaint.ResolutionPlanned": ("plan", _remedies),
    "Complaint.ResolutionExecuted": ("execute", lambda e: _fields(e, "detail")),
    "Complaint.OutcomeCommunicated": ("notify_outcome", lambda e: _fields(e, "channel", "summary")),
    "Complaint.CallbackRecorded": (
        "record_callback",
        lambda e: {"satisfaction": e.satisfaction, "comment": e.comment},
    ),
    "Complaint.Closed": ("close", lambda e: {
        **_fields(e, "root_cause", "improvement"), **_cause(e),
    }),
    "Complaint.Reopened": ("reopen", lambda e: _fields(e, "reason")),
    "Complaint.Withdrawn": ("withdraw", lambda e: _fields(e, "reason")),
    "Complaint.DeadlineExtended": (
        "extend",
        lambda e: _fields(e, "clock", "days", "reason", "approved_by"),
    ),
    "Complaint.ClocksPaused": ("pause", lambda e: _fields(e, "reason")),
    "Complaint.ClocksResumed": ("resume", lambda e: _fields(e, "reason")),
    "Complaint.NoteAdded": ("add_note", lambda e: _fields(e, "text")),
    "Complaint.ComplaintLinked": ("link", lambda e: _fields(e, "other", "reason")),
    "Complaint.OccurrenceCorrected": (
        "correct",
        lambda e: {
            "event": e.event,
            "corrected_occurred_at": e.corrected_occurred_at.isoformat(),
            **_fields(e, "reason", "approved_by"),
        },
    ),
    "Complaint.PersonalDataErased": ("erase", lambda e: _fields(e, "reason")),
    "Complaint.AlertSent": ("record_alert", lambda e: {
        **_fields(e, *ALERT_FIELDS), "outcome": "sent",
    }),
    "Complaint.AlertFailed": ("record_alert", lambda e: {
        **_fields(e, *ALERT_FIELDS, "error"), "outcome": "failed",
    }),
    "Complaint.EscalationAcknowledged": ("acknowledge", lambda e: {}),
    "Complaint.RegulatorReplied": ("reply_regulator", lambda e: _fields(e, "summary")),
    "Complaint.LeadershipInstructed": ("instruct", lambda e: _fields(e, "text")),
    "Complaint.SignedOff": ("sign_off", lambda e: _fields(e, "text")),
    "Complaint.ImprovementAdded": ("add_improvement", lambda e: {
        "action": e.measure, "owner": e.owner, "due": e.due.isoformat(),
    }),
    "Complaint.ImprovementCompleted": ("complete_improvement", lambda e: {
        "improvement_id": e.improvement_id, **({"text": e.note} if e.note is not None else {}),
    }),
    "Complaint.AccountabilityRecorded": (
        "record_accountability",
        lambda e: {
            **_fields(e, "staff", "finding", "decision"),
            **({"team": e.team} if e.team else {}),
        },
    ),
    "Complaint.EvidenceAttached": ("attach", lambda e: {
        **_fields(e, "sha256", "size", "kind", "location"),
        **{k: getattr(e, k) for k in ("filename", "note") if getattr(e, k) is not None},
    }),
    "Complaint.CallbackNotReached": ("record_callback", lambda e: {
        "reached": False, "comment": e.comment,
    }),
}  # fmt: skip
# Recorded beside the Escalated event of the command (receive, triage or escalate) that
# named who the escalation goes to: folded back into that command's fields.
ADDRESSED = "Complaint.EscalationAddressed"
AGENCY = "Complaint.AgencyNamed"  # likewise, the agency named at receipt or triage
ADDRESS_FIELDS = {
    "receive": ("escalate_to", "public_attention"),
    "triage": ("escalate_to", "public_attention"),
    "escalate": ("to", "public_attention"),
}


def _revoked(event: Any) -> dict[str, Any]:
    # One id: the command named it (or it was the only valid one). Several: the command named
    # none and revoked every token valid at the time, as the exported command will again.
    ids = list(event.token_ids)
    return {"staff_id": event.staff_id, **({"token_id": ids[0]} if len(ids) == 1 else {})}


# The staff directory's events -> (command, its fields); these commands name no complaint.
DIRECTORY: dict[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    "StaffDirectory.MemberAdded": ("add_staff", lambda e: {
        **_fields(e, "staff_id", "name", "unit", "roles", "login"),
        **({"email": e.email} if e.email else {}), "effective_from": e.start.isoformat(),
    }),
    "StaffDirectory.RoleGranted": ("grant_role", lambda e: {
        **_fields(e, "staff_id", "role"), "effective_from": e.start.isoformat(),
    }),
    "StaffDirectory.RoleRevoked": ("revoke_role", lambda e: {
        **_fields(e, "staff_id", "role"), "effective_from": e.end.isoformat(),
    }),
    "StaffDirectory.TokenIssued": ("issue_token", lambda e: {
        **_fields(e, "staff_id", "token_hash"), "expires_at": e.expires_at.isoformat(),
    }),
    "StaffDirectory.TokenRevoked": ("revoke_token", _revoked),
    "StaffDirectory.AuthenticationRequired": ("require_authentication", lambda e: {}),
    "StaffDirectory.ServiceLoginAllowed": ("allow_service_login", lambda e: _fields(e, "login")),
    # The readiness book's (training and drills): commands that name no complaint either.
    "ReadinessBook.TrainingRecorded": ("record_training", lambda e: {
        **_fields(e, "topic", "attendees"), "date": e.held_on,
        **({"unit": e.unit} if e.unit else {}),
    }),
    "ReadinessBook.DrillCompleted": ("record_drill", lambda e: _fields(
        e, "scenario_sha256", "policy_version", "score", "summary")),
}  # fmt: skip
SPECIAL = ("Complaint.Received", "PolicyBook.PolicyPublished", "PolicyBook.CodesPublished",
           "CalendarBook.CalendarPublished")  # fmt: skip
COVERAGE = Coverage.of(
    "export-commands (commands.export)",
    ["Complaint", "StaffDirectory", "PolicyBook", "CalendarBook", "SealBook", "ReadinessBook"],
    handled=[*SIMPLE, *DIRECTORY, *SPECIAL, ADDRESSED, AGENCY],
    ignored=SKIPPED,
)


def _address(command: Command, event: Any) -> None:
    if name_of(event) == AGENCY:
        command["agency"] = event.agency
        return
    to_field, flag = ADDRESS_FIELDS[command["command"]]
    command[to_field] = event.to
    if event.public_attention:
        command[flag] = True


class Exporter:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.refs: dict[UUID, str] = {}
        self.texts: dict[UUID, TextReader] = {}
        # A key an erasure destroyed opens nothing, even if a restored backup brought it back.
        self.erased = ledger.erased_key_ids()

    def commands(self, batch_size: int = 2000) -> Iterator[Command]:
        """Every command of the ledger, in log order."""
        position = 0
        held: Command | None = None  # the last command, until no later event adds to it
        while True:
            notifications = self.ledger.recorder.select_notifications(position + 1, batch_size)
            if not notifications:
                if held is not None:
                    yield held
                return
            events: list[Any] = [self.ledger.mapper.to_domain_event(n) for n in notifications]
            keys = self._keys(events)
            for event in events:
                if name_of(event) in (ADDRESSED, AGENCY):
                    if held is not None and held["command_id"] == event.command_id:
                        _address(held, event)
                    continue
                command = self._command(event, keys)
                if command is not None:
                    if held is not None:
                        yield held
                    held = command
            position = notifications[-1].id

    def _keys(self, events: list[Any]) -> dict[str, bytes]:
        ids = [e.complainant.key_id for e in events if name_of(e) == "Complaint.Received"]
        found = self.ledger.ledger_recorder.person_keys(ids)
        return {k: v for k, v in found.items() if k not in self.erased}

    def _command(self, event: Any, keys: dict[str, bytes]) -> Command | None:
        kind = name_of(event)
        if kind in SKIPPED or (kind == "Complaint.Escalated" and event.automatic):
            return None
        if kind == "Complaint.Received":
            return self._receive(event, keys)
        if kind in DIRECTORY:
            command, fields = DIRECTORY[kind]
            return self._publication(event, command, fields(event))
        if kind == "PolicyBook.PolicyPublished":
            return self._publication(event, "publish_policy", {
                "text": yaml.safe_dump(event.document, allow_unicode=True, sort_keys=False),
                "format": "yaml",
                "effective_from": event.effective_from.isoformat(),
                **({"reason": event.reason} if event.reason else {}),
                **({"drill": event.drill} if event.drill else {}),
            })  # fmt: skip
        if kind == "PolicyBook.CodesPublished":
            return self._publication(event, "publish_codes", {
                "text": json.dumps(event.document, ensure_ascii=False),
                "format": "json",
                "effective_from": event.effective_from.isoformat(),
            })  # fmt: skip
        if kind == "CalendarBook.CalendarPublished":
            document = {"base": "none", **{k: event.document[k] for k in
                                           ("days_off", "working_days", "source")}}  # fmt: skip
            return self._publication(event, "publish_calendar", {
                "year": event.year, "format": "yaml",
                "text": yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
            })  # fmt: skip
        command, fields = SIMPLE[kind]
        opened = self._opened(event.originator_id, fields(event))
        if (
            kind in ("Complaint.CallbackRecorded", "Complaint.CallbackNotReached")
            and not opened["comment"]
        ):
            del opened["comment"]
        return {**_common(event, command, self.refs[event.originator_id]), **opened}

    def _opened(self, stream: UUID, fields: dict[str, Any]) -> dict[str, Any]:
        """The fields with their sealed text opened (``[erased]`` once erased)."""
        reader = self.texts[stream]
        return {
            k: reader(v) if isinstance(v, SealedText | LegacyText) else v for k, v in fields.items()
        }

    def _receive(self, event: Any, keys: dict[str, bytes]) -> Command:
        self.refs[event.originator_id] = event.ref
        key = keys.get(event.complainant.key_id)
        self.texts[event.originator_id] = TextReader(event.originator_id, key)
        person: dict[str, Any] = {}
        if key is not None:
            opened = open_complainant(event.complainant, key, event.originator_id)
            person = {k: v for k, v in vars(opened).items() if v is not None}
        fields = self._opened(event.originator_id, _fields(
            event, "channel", "account_ref", "collector", "content", "category", "tags",
            "referral_number"))  # fmt: skip
        return {
            **_common(event, "receive", event.ref),
            "received_at": event.received_at.isoformat(),
            "complainant": person,
            **{k: v for k, v in fields.items() if v not in (None, [])},
        }

    @staticmethod
    def _publication(event: Any, command: str, fields: dict[str, Any]) -> Command:
        exported = _common(event, command, "")
        del exported["ref"]
        return {**exported, **fields}
