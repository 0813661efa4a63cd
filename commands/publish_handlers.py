"""The handlers that publish into the ledger's books: the plan (policy), cause codes,
calendars."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from commands.handler_table import handles
from commands.models import Envelope, PublishCalendar, PublishCodes, PublishPolicy
from ledger.domain.calendar import calendar_to_dict, package_year, parse_calendar_file
from ledger.domain.codes import codes_to_dict, parse_codes
from ledger.domain.policy import parse_policy, policy_to_dict
from ledger.domain.readiness import ReadinessBook
from ledger.domain.values import Stamp
from ledger.store.books import (
    CalendarBook,
    PolicyBook,
    load_calendar_book,
    load_policy_book,
    load_readiness_book,
)

if TYPE_CHECKING:
    from commands.handlers import Handler, LedgerPort


def publish_policy(
    ledger: LedgerPort, cmd: PublishPolicy, stamp: Stamp, now: datetime
) -> PolicyBook:
    policy = parse_policy(cmd.text, cmd.format)
    if cmd.drill is not None:  # a revision names only a drill the ledger recorded
        drills = load_readiness_book(ledger) or ReadinessBook()
        drills.check_drill(cmd.drill)
    book = load_policy_book(ledger) or PolicyBook()
    effective_from = cmd.effective_from or stamp.occurred_at
    book.publish(
        stamp, policy.version, effective_from.astimezone(UTC), policy_to_dict(policy),
        reason=cmd.reason, drill=cmd.drill,
    )  # fmt: skip
    return book


def publish_codes(ledger: LedgerPort, cmd: PublishCodes, stamp: Stamp, now: datetime) -> PolicyBook:
    codes = parse_codes(cmd.text, cmd.format)
    book = load_policy_book(ledger) or PolicyBook()
    effective_from = cmd.effective_from or stamp.occurred_at
    book.publish_codes(stamp, codes.version, effective_from.astimezone(UTC), codes_to_dict(codes))
    return book


def publish_calendar(
    ledger: LedgerPort, cmd: PublishCalendar, stamp: Stamp, now: datetime
) -> CalendarBook:
    if cmd.text is None:
        year = package_year(cmd.year)
    else:
        year = parse_calendar_file(cmd.year, cmd.text, cmd.format)
    book = load_calendar_book(ledger) or CalendarBook()
    book.publish(stamp, cmd.year, calendar_to_dict(year))
    return book


PUBLISH_HANDLERS: dict[type[Envelope], Handler] = dict(
    [
        handles(PublishPolicy, publish_policy),
        handles(PublishCodes, publish_codes),
        handles(PublishCalendar, publish_calendar),
    ]
)
