"""The policies and calendars published so far, with when each was recorded (pure).

A ``Rulebook`` answers two questions the clocks need: which policy applies to a complaint
(the one in force at its receipt, by every publication known — a revision published later
with an earlier ``effective_from`` covers every complaint received from then on, whatever
the order they were recorded in) and which working-day calendar to count with (the latest
publication of each year). ``known_at`` restricts both to what had been recorded by then.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.domain.calendar import WorkCalendar, YearCalendar, calendar_from_dict
from ledger.domain.errors import PolicyInvalid
from ledger.domain.events import name_of
from ledger.domain.policy import DEFAULT_POLICY, Policy, policy_from_dict


@dataclass(frozen=True)
class Publication:
    """One ``PolicyPublished`` or ``CalendarPublished``, named ``label`` (``@policies v2``)."""

    recorded: datetime
    label: str
    policy: Policy | None = None
    effective_from: datetime | None = None
    calendar: YearCalendar | None = None
    # A policy's revision note: why the plan was revised and the drill that prompted it.
    reason: str | None = None
    drill: str | None = None


class Rulebook:
    """Publications in the order they were recorded."""

    def __init__(self, publications: Iterable[Publication] = ()) -> None:
        self.publications: tuple[Publication, ...] = tuple(
            sorted(publications, key=lambda p: p.recorded)
        )

    def __len__(self) -> int:
        return len(self.publications)

    def prefix(self, count: int) -> Rulebook:
        """The first ``count`` publications."""
        return _prefix(self, count)

    def known_at(self, moment: datetime | None) -> Rulebook:
        if moment is None:
            return self
        return self.prefix(sum(1 for p in self.publications if p.recorded <= moment))

    @functools.cached_property
    def calendar(self) -> WorkCalendar:
        years = {p.calendar.year: p.calendar for p in self.publications if p.calendar}
        return WorkCalendar(years)

    @functools.cached_property
    def _in_force(self) -> list[tuple[datetime, Policy]]:
        # By effective time; between equal times, the later publication wins.
        entries = [
            (p.effective_from, p.policy)
            for p in self.publications
            if p.policy is not None and p.effective_from is not None
        ]
        return sorted(entries, key=lambda e: e[0])

    def policy_for(self, received_at: datetime) -> Policy:
        """The policy in force when a complaint was received (the built-in one if none)."""
        chosen = DEFAULT_POLICY
        for effective_from, policy in self._in_force:
            if effective_from > received_at:
                break
            chosen = policy
        return chosen

    def policy(self, version: str) -> Policy:
        """A published policy (or the built-in default) by version, for a what-if."""
        if version == DEFAULT_POLICY.version:
            return DEFAULT_POLICY
        for p in reversed(self.publications):
            if p.policy is not None and p.policy.version == version:
                return p.policy
        known = [DEFAULT_POLICY.version, *(p.policy.version for p in self.publications if p.policy)]
        raise PolicyInvalid(f"no policy version {version!r}; published: {', '.join(known)}")

    @property
    def policies(self) -> dict[str, Policy]:
        found = {DEFAULT_POLICY.version: DEFAULT_POLICY}
        found.update((p.policy.version, p.policy) for p in self.publications if p.policy)
        return found


@functools.lru_cache(maxsize=64)
def _prefix(book: Rulebook, count: int) -> Rulebook:
    return book if count >= len(book) else Rulebook(book.publications[:count])


def publication(event: Any, label: str) -> Publication | None:
    """The publication an event of a book stream records (None for other events)."""
    kind = name_of(event)
    if kind == "PolicyBook.PolicyPublished":
        return Publication(
            event.timestamp,
            label,
            policy_from_dict(event.document),
            event.effective_from,
            reason=event.reason,
            drill=event.drill,
        )
    if kind == "CalendarBook.CalendarPublished":
        return Publication(event.timestamp, label, calendar=calendar_from_dict(event.document))
    return None


def rulebook(streams: Sequence[tuple[str, Sequence[Any]]]) -> Rulebook:
    """The rulebook of the publication streams' events, given as (ref, events) pairs."""
    found = []
    for ref, events in streams:
        for event in events:
            p = publication(event, f"{ref} v{event.originator_version}")
            if p is not None:
                found.append(p)
    return Rulebook(found)
