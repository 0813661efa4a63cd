"""The SLA policies, code lists and working-day calendars published into the ledger.

Each lives in one stream with a fixed id, so every verdict can be re-derived
from the ledger alone: the policy a complaint pinned at receipt, and the
calendar years published so far. Documents are stored as plain JSON data.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event

from ledger.domain.calendar import WorkCalendar, calendar_from_dict
from ledger.domain.errors import CalendarUnavailable, CodesInvalid, PolicyInvalid
from ledger.domain.events import register
from ledger.domain.policy import DEFAULT_POLICY, Policy, policy_from_dict
from ledger.domain.rulebook import Rulebook, rulebook
from ledger.domain.staff import STAFF_DIRECTORY_ID, STAFF_REF, StaffDirectory
from ledger.domain.topics import keep_topics
from ledger.domain.values import Actor, Stamp

POLICY_BOOK_ID = uuid.UUID("0b7c7f4e-2f1d-5a6b-9c3d-7e8f9a0b1c2d")
CALENDAR_BOOK_ID = uuid.UUID("1c8d8a5f-3a2e-5b7c-8d4e-8f9a0b1c2d3e")

# Names under which the command log files publications (never valid complaint references).
POLICY_BOOK_REF = "@policies"
CALENDAR_BOOK_REF = "@calendars"


class PolicyBook(Aggregate):
    """Every SLA policy version ever published, each with the moment it takes effect; and
    every code list (cause codes, the regulator's classification), versioned alike.

    Code lists are a second kind of publication in this book rather than a book of their
    own: they belong to the plan (its appendix of causes), the leadership group publishes
    them as it publishes the plan, and they take effect the same way (the latest with
    ``effective_from`` at or before an action's time). One stream keeps every publication of
    the plan in the order it was recorded, and the seal, the bulk loader, the audit trail and
    the command log already know it (``@policies``). Their versions are a namespace of their
    own: a code list and a policy may share a version string."""

    @staticmethod
    def create_id() -> uuid.UUID:
        return POLICY_BOOK_ID

    @event("Opened")
    def __init__(self) -> None:
        self.ref = POLICY_BOOK_REF
        self.documents: dict[str, dict[str, Any]] = {}
        self.effective: list[tuple[datetime, str]] = []
        self.code_lists: dict[str, dict[str, Any]] = {}
        self.codes_effective: list[tuple[datetime, str]] = []

    def publish(
        self, stamp: Stamp, version: str, effective_from: datetime, document: dict[str, Any]
    ) -> None:
        if version in self.documents:
            raise PolicyInvalid(
                f"policy version {version!r} was already published; give the revision a new version"
            )
        self._published(
            stamp.actor,
            stamp.occurred_at,
            stamp.command_id,
            version=version,
            effective_from=effective_from,
            document=document,
        )

    @event("PolicyPublished")
    def _published(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        version: str,
        effective_from: datetime,
        document: dict[str, Any],
    ) -> None:
        self.documents[version] = document
        self.effective.append((effective_from, version))
        self.effective.sort(key=lambda pair: pair[0])

    def in_force(self, moment: datetime) -> str | None:
        """The version that took effect last at or before ``moment`` (None: the built-in one)."""
        return _last_effective(self.effective, moment)

    def publish_codes(
        self, stamp: Stamp, version: str, effective_from: datetime, document: dict[str, Any]
    ) -> None:
        if version in self.code_lists:
            raise CodesInvalid(
                f"code list version {version!r} was already published; give the revision a "
                "new version"
            )
        self._codes_published(
            stamp.actor,
            stamp.occurred_at,
            stamp.command_id,
            version=version,
            effective_from=effective_from,
            document=document,
        )

    @event("CodesPublished")
    def _codes_published(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        version: str,
        effective_from: datetime,
        document: dict[str, Any],
    ) -> None:
        self.code_lists[version] = document
        self.codes_effective.append((effective_from, version))
        self.codes_effective.sort(key=lambda pair: pair[0])

    def codes_in_force(self, moment: datetime) -> str | None:
        """The code list version in force at ``moment`` (None: none had taken effect)."""
        return _last_effective(self.codes_effective, moment)


def _last_effective(effective: list[tuple[datetime, str]], moment: datetime) -> str | None:
    current = None
    for effective_from, version in effective:
        if effective_from <= moment:
            current = version
    return current


class CalendarBook(Aggregate):
    """The working-day calendar of each year, as last published."""

    @staticmethod
    def create_id() -> uuid.UUID:
        return CALENDAR_BOOK_ID

    @event("Opened")
    def __init__(self) -> None:
        self.ref = CALENDAR_BOOK_REF
        self.years: dict[int, dict[str, Any]] = {}
        self.revisions: dict[int, int] = {}

    def publish(self, stamp: Stamp, year: int, document: dict[str, Any]) -> None:
        if document.get("year") != year:
            raise CalendarUnavailable(f"the calendar document is not for {year}")
        self._published(
            stamp.actor, stamp.occurred_at, stamp.command_id, year=year, document=document
        )

    @event("CalendarPublished")
    def _published(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        year: int,
        document: dict[str, Any],
    ) -> None:
        self.years[year] = document
        self.revisions[year] = self.revisions.get(year, 0) + 1


# Stored before ledger/ was split into packages; see ledger.domain.topics.
keep_topics(PolicyBook, "ledger.registry")
keep_topics(CalendarBook, "ledger.registry")


class RepositoryPort(Protocol):
    def get(self, aggregate_id: uuid.UUID, *, version: int | None = None) -> Any: ...

    def __contains__(self, aggregate_id: uuid.UUID) -> bool: ...


class HasRepository(Protocol):
    @property
    def repository(self) -> RepositoryPort: ...


class EventsPort(Protocol):
    def get(self, originator_id: uuid.UUID) -> Any: ...


class HasEvents(Protocol):
    @property
    def events(self) -> EventsPort: ...


def stream_id(ref: str) -> uuid.UUID | None:
    """The id of a publication stream named in the command log, if ``ref`` names one."""
    return {
        POLICY_BOOK_REF: POLICY_BOOK_ID,
        CALENDAR_BOOK_REF: CALENDAR_BOOK_ID,
        STAFF_REF: STAFF_DIRECTORY_ID,
    }.get(ref)


def load_policy_book(app: HasRepository) -> PolicyBook | None:
    try:
        book: PolicyBook = app.repository.get(POLICY_BOOK_ID)
    except AggregateNotFoundError:
        return None
    return book


def load_calendar_book(app: HasRepository) -> CalendarBook | None:
    try:
        book: CalendarBook = app.repository.get(CALENDAR_BOOK_ID)
    except AggregateNotFoundError:
        return None
    return book


def load_staff_directory(app: HasRepository) -> StaffDirectory | None:
    """The staff directory as stored, read afresh (a handler may change it)."""
    try:
        directory: StaffDirectory = app.repository.get(STAFF_DIRECTORY_ID)
    except AggregateNotFoundError:
        return None
    return directory


def policy_version(app: HasRepository, version: str) -> Policy:
    """A published policy (or the built-in default) by version."""
    if version == DEFAULT_POLICY.version:
        return DEFAULT_POLICY
    book = load_policy_book(app)
    if book is None or version not in book.documents:
        known = [DEFAULT_POLICY.version, *(book.documents if book else [])]
        raise PolicyInvalid(f"no policy version {version!r}; published: {', '.join(known)}")
    return policy_from_dict(book.documents[version])


def policy_in_force(app: HasRepository, moment: datetime) -> Policy:
    """The policy a complaint received at ``moment`` is judged by (by every publication so
    far: a revision with an earlier ``effective_from`` covers it too)."""
    book = load_policy_book(app)
    if book is None:
        return DEFAULT_POLICY
    version = book.in_force(moment)
    return DEFAULT_POLICY if version is None else policy_from_dict(book.documents[version])


def load_rulebook(app: HasEvents) -> Rulebook:
    """Every publication with its recording time, for reads that ask what was known when."""
    return rulebook(
        [
            (POLICY_BOOK_REF, list(app.events.get(POLICY_BOOK_ID))),
            (CALENDAR_BOOK_REF, list(app.events.get(CALENDAR_BOOK_ID))),
        ]
    )


def work_calendar(app: HasRepository) -> WorkCalendar:
    """The working-day calendar made of every year published so far."""
    book = load_calendar_book(app)
    years = {} if book is None else {y: calendar_from_dict(d) for y, d in book.years.items()}
    return WorkCalendar(years)


# The version of each event's stored shape (ledger.domain.events, docs/design.md).
register(PolicyBook, {"Opened": 1, "PolicyPublished": 1, "CodesPublished": 1})
register(CalendarBook, {"Opened": 1, "CalendarPublished": 1})
