"""The alerter: a consumer of the log that acts. A pass finds the alerts due (``due``), sends
each one and records it through ``handle`` (``record_alert``), at most once per rule, clock,
recipient and channel, whoever runs it and however often (docs/alerts.md).

It reads the ledger like a projection and writes only through commands. It acts as a member
of staff (``--actor``, by default ``alerts``) in the ``operator`` role, proven as any writer
on the same connection is: by the database login on PostgreSQL, asserted on SQLite.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.persistence import MapperDeserialisationError

from commands.handlers import handle
from commands.models import ActorIn, RecordAlert
from consumers.alerts import messages
from consumers.alerts.channels import DeliveryFailed, SmtpSettings, post_webhook, send_mail
from consumers.alerts.due import DEFAULT_HORIZON, Channels, Due, due_alerts
from consumers.alerts.messages import WebhookFormat
from consumers.alerts.watch import Watch
from ledger.domain.complaint import Complaint
from ledger.domain.errors import (
    CommandIdReused,
    LedgerError,
    StoredEventUnreadable,
    unreadable_said,
)
from ledger.domain.values import Role
from ledger.store.books import load_rulebook
from ledger.store.root import Ledger

log = logging.getLogger("complaint_ledger.alerts")
CHUNK = 500  # complaints loaded in one query


@dataclass(frozen=True)
class AlertSettings:
    """How alerts go out: the channels, who the alerter is, how hard it tries."""

    smtp: SmtpSettings | None = None
    webhook: str | None = None
    webhook_format: WebhookFormat = "plain"
    actor: str = "alerts"
    tries: int = 3
    backoff: float = 1.0  # seconds before the second try; doubled before each later one
    horizon: timedelta = DEFAULT_HORIZON
    timeout: float = 20.0

    @property
    def channels(self) -> Channels:
        webhook = None if self.webhook is None else Channels.recorded_url(self.webhook)
        return Channels(email=self.smtp is not None, webhook=webhook)


@dataclass
class PassReport:
    """What one pass did, alert by alert (by the alert's command id)."""

    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # recorded meanwhile by another runner
    unreadable: list[str] = field(default_factory=list)  # complaints not judged: what is wrong

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": len(self.sent),
            "failed": len(self.failed),
            "skipped": len(self.skipped),
            "unreadable": len(self.unreadable),
        }


class Alerter:
    """Sends the alerts due; with ``watch``, judges only the complaints that may still call
    for one (``consumers.alerts.watch``: for a long-running alerter), else every complaint."""

    def __init__(
        self,
        ledger: Ledger,
        settings: AlertSettings,
        sleep: Callable[[float], None] = time.sleep,
        watch: bool = False,
    ) -> None:
        self.ledger, self.settings, self.sleep = ledger, settings, sleep
        self.watch = Watch(ledger, settings.horizon) if watch else None

    def run_pass(self, as_of: datetime | None = None) -> PassReport:
        """Send and record every alert due at ``as_of`` (now) that no one has recorded."""
        moment = as_of or datetime.now(UTC)
        report = PassReport()
        book = load_rulebook(self.ledger)
        directory = self.ledger.staff_directory()
        told = report.unreadable.append
        batches = self._complaints(told) if self.watch is None else self.watch.complaints(told)
        for complaints in batches:
            found = due_alerts(
                complaints, book, directory, self.settings.channels, moment,
                self.settings.horizon,
            )  # fmt: skip
            for due in found:
                self._deliver(due, moment, report)
            if self.watch is not None:
                self.watch.keep(complaints, moment)
        return report

    def _complaints(self, unreadable: Callable[[str], None]) -> Iterator[list[Complaint]]:
        refs = list(self.ledger.iter_refs())
        for start in range(0, len(refs), CHUNK):
            chunk = refs[start : start + CHUNK]
            try:
                loaded = list(self.ledger.load_complaints(chunk).values())
            except (MapperDeserialisationError, StoredEventUnreadable):
                loaded = self._one_by_one(chunk, unreadable)
            yield loaded

    def _one_by_one(self, refs: list[str], unreadable: Callable[[str], None]) -> list[Complaint]:
        """The complaints of ``refs`` that can be read; what is wrong with each other one is
        told to ``unreadable``, so that one complaint does not stop every other's alerts."""
        loaded: list[Complaint] = []
        for ref in refs:
            try:
                loaded.extend(self.ledger.load_complaints([ref]).values())
            except (MapperDeserialisationError, StoredEventUnreadable) as e:
                unreadable(unreadable_said(e, f"complaint {ref}"))
        return loaded

    # ------------------------------------------------------------------ one alert

    def _deliver(self, due: Due, now: datetime, report: PassReport) -> None:
        if self.ledger.find_command(due.command_id) is not None:
            report.skipped.append(due.command_id)
            return
        mine = False
        attempt = 0

        def commit() -> bool:
            nonlocal mine
            if not mine:
                mine = self._record(due, due.command_id, "sent", attempt, None)
            return mine

        error = ""
        for attempt in range(1, self.settings.tries + 1):
            try:
                if not self._send(due, commit, now):
                    report.skipped.append(due.command_id)
                    return
            except DeliveryFailed as e:
                error = str(e)
                log.warning("alert %s, try %d: %s", due.command_id, attempt, error)
                if attempt < self.settings.tries:
                    self.sleep(self.settings.backoff * 2 ** (attempt - 1))
                continue
            report.sent.append(due.command_id)
            return
        # The last try failed: recorded as failed, under the alert's own id while nothing
        # was recorded yet, else as a failure after the record of its sending.
        command_id = due.failed_after_sending_id if mine else due.command_id
        if self._record(due, command_id, "failed", self.settings.tries, error):
            report.failed.append(due.command_id)
        else:
            report.skipped.append(due.command_id)

    def _send(self, due: Due, commit: Callable[[], bool], now: datetime) -> bool:
        settings = self.settings
        if due.channel == "email":
            assert settings.smtp is not None
            message = messages.email(due, settings.smtp.mail_from, now)
            return send_mail(settings.smtp, message, commit)
        assert settings.webhook is not None
        payload = messages.webhook_payload(due, settings.webhook_format)
        return post_webhook(settings.webhook, payload, due.command_id, commit, settings.timeout)

    def _record(
        self, due: Due, command_id: str, outcome: str, attempts: int, error: str | None
    ) -> bool:
        """Record the alert; False when the command id was recorded already (by another
        runner, or by this one before a restart)."""
        command = RecordAlert(
            command_id=command_id,
            actor=ActorIn(id=self.settings.actor, role=Role.OPERATOR),
            ref=due.ref,
            rule=due.rule.name,
            clock=due.clock,
            recipient=due.recipient,
            address=due.address,
            channel=due.channel,  # type: ignore[arg-type]
            outcome=outcome,  # type: ignore[arg-type]
            attempts=attempts,
            error=_printable(error)[:4000] if error else None,
        )
        try:
            outcome_ = handle(self.ledger, command)
        except CommandIdReused:
            return False  # the same alert, recorded by another runner (its tries differed)
        return not outcome_.duplicate


def follow(
    ledger: Ledger, settings: AlertSettings, interval: float, wakeups: Iterator[None]
) -> Iterator[PassReport]:
    """A pass at every wake-up, for ever; a pass that fails is logged and the next one runs."""
    alerter = Alerter(ledger, settings, watch=True)
    for _ in wakeups:
        try:
            report = alerter.run_pass()
        except LedgerError as e:
            log.warning("alerts pass refused: %s", e)
            time.sleep(interval)
            continue
        for said in report.unreadable:  # said once: the watch leaves such a complaint out
            log.warning("alerts: a complaint was not judged: %s", said)
        yield report


def _printable(error: str) -> str:
    """A receiver's words as the ledger may keep them: its control characters (a webhook's
    answer may hold any) become spaces."""
    return "".join(c if c.isprintable() or c in "\n\t" else " " for c in error).strip() or "?"
