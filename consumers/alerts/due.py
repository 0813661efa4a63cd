"""Which alerts are due at a moment: the policy's alert rules applied to each complaint's
clocks and history, their audiences found in the staff directory as it stands then.

Pure given its inputs (complaints, rulebook, directory, moment): the alerter reads them from
the ledger and hands over what is found here to be sent and recorded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from ledger.domain.alerting import AlertRule, is_unit
from ledger.domain.complaint import Complaint
from ledger.domain.rulebook import Rulebook
from ledger.domain.sla import evaluate
from ledger.domain.staff import Member, StaffDirectory
from ledger.domain.values import Channel, Role, Status, Unit

# Escalations and referrals older than this when a pass first sees them are history, not
# news: a ledger that starts alerting does not page the leadership group about last year.
DEFAULT_HORIZON = timedelta(hours=72)
WEBHOOK_RECIPIENT = "webhook"  # a group robot: one message per rule and clock, to everyone named


@dataclass(frozen=True)
class Due:
    """One alert to send: on complaint ``ref``, by ``rule`` about ``clock``, to ``recipient``
    at ``address`` over ``channel``; ``names`` are the staff it tells (for a webhook, all)."""

    ref: str
    rule: AlertRule
    clock: str
    status: str  # the clock's status (at_risk, overdue) or the happening
    due_at: datetime | None  # the clock's deadline, for a clock rule
    recipient: str
    address: str
    channel: str
    names: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.rule.name, self.clock, self.recipient, self.channel)

    @property
    def command_id(self) -> str:
        """The id of the command that records this alert: the same for the same rule, clock,
        recipient and channel on the same complaint, whoever runs the alerter and when."""
        text = "\x1f".join((self.ref, *self.key))
        return f"alert-{hashlib.sha256(text.encode()).hexdigest()[:40]}"

    @property
    def failed_after_sending_id(self) -> str:
        """The id of the record of a failure reported after the alert was recorded as sent."""
        return f"{self.command_id}-failed"


@dataclass(frozen=True)
class Channels:
    """Where alerts go: e-mail when ``email`` (an SMTP server is configured), and a webhook
    at ``webhook`` (the address recorded: the URL without its query, which holds the
    robot's key)."""

    email: bool
    webhook: str | None

    @staticmethod
    def recorded_url(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"


def happenings(
    complaint: Complaint, book: Rulebook, as_of: datetime, horizon: timedelta
) -> list[tuple[AlertRule, str, str, datetime | None]]:
    """The (rule, clock, status, due) of every rule that fires on ``complaint`` at ``as_of``."""
    policy = book.policy_for(complaint.received_at)
    if not policy.alerts:
        return []
    found: list[tuple[AlertRule, str, str, datetime | None]] = []
    if complaint.status is Status.OPEN:
        for verdict in evaluate(complaint.facts, policy, book.calendar, as_of):
            for rule in policy.alerts:
                if rule.trigger == verdict.status and rule.concerns(verdict.clock):
                    found.append((rule, verdict.clock, verdict.status, verdict.due_at))
    since = as_of - horizon
    for rule in policy.alerts:
        if rule.trigger == "escalated":
            for fact in complaint.timeline:
                if fact.kind == "escalated" and since <= fact.at <= as_of:
                    found.append((rule, f"escalated@{fact.version}", "escalated", None))
        elif (
            rule.trigger == "regulator_referral"
            and complaint.channel is Channel.REGULATOR_REFERRAL
            and since <= complaint.received_at <= as_of
        ):
            found.append((rule, "regulator_referral", "regulator_referral", None))
    return found


def audience(
    rule: AlertRule, complaint: Complaint, directory: StaffDirectory | None, as_of: datetime
) -> list[Member]:
    """The members ``rule`` tells about ``complaint``, in the directory's order: those who
    hold a role at ``as_of`` (a member whose every role was revoked is told nothing)."""
    if directory is None:
        return []
    current = [m for m in directory.members.values() if m.roles_at(as_of)]
    handler = next((m for m in current if m.id == complaint.handler), None)
    chosen: dict[str, Member] = {}
    for name in rule.notify:
        if name == "handler":
            picked = [handler] if handler is not None else []
        elif name == "unit":
            picked = [m for m in current if handler is not None and m.unit is handler.unit]
        elif name == "leadership":
            picked = [
                m for m in current
                if m.unit is Unit.LEADERSHIP_GROUP or m.holds(Role.LEADERSHIP, as_of)
            ]  # fmt: skip
        elif is_unit(name):
            picked = [m for m in current if m.unit is Unit(name)]
        else:  # the policy's validation lets nothing else through
            picked = []
        for member in picked:
            chosen.setdefault(member.id, member)
    return list(chosen.values())


def due_alerts(
    complaints: Iterable[Complaint],
    book: Rulebook,
    directory: StaffDirectory | None,
    channels: Channels,
    as_of: datetime,
    horizon: timedelta = DEFAULT_HORIZON,
) -> list[Due]:
    """Every alert due at ``as_of`` and not yet recorded on its complaint."""
    found: list[Due] = []
    for complaint in complaints:
        for rule, clock, status, due_at in happenings(complaint, book, as_of, horizon):
            members = audience(rule, complaint, directory, as_of)
            names = tuple(m.id for m in members)
            wanted: list[tuple[str, str, str]] = []
            if channels.email:
                wanted += [(m.id, m.email, "email") for m in members if m.email]
            if channels.webhook is not None and members:
                wanted.append((WEBHOOK_RECIPIENT, channels.webhook, "webhook"))
            for recipient, address, channel in wanted:
                if (rule.name, clock, recipient, channel) in complaint.alerted:
                    continue
                found.append(
                    Due(complaint.ref, rule, clock, status, due_at, recipient, address,
                        channel, names)
                )  # fmt: skip
    return found
