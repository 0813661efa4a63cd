"""The time rule: an action may be dated in the past, but never before an action already
recorded on the same complaint that it would contradict (pure).

Every action has lower bounds set by the actions recorded before it: the receipt, the last
reopening, the closure of a closed case, and what its own kind follows (findings follow the
triage and earlier findings of the round, a plan follows the findings, earlier plans and
their execution, a pause follows the last resume and every recorded stop of a clock, a
closure follows everything but what a closed case still takes (notes, callbacks,
instructions, accountability records, improvement measures), an improvement measure is done
after it was added, a withdrawal follows everything). ``check_new`` applies them to a new action
(``check_next`` given the complaint's ``Fold`` of its actions so far), ``check_correction`` to
an action re-dated by a correction. docs/sla.md states the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from ledger.domain.errors import CorrectionRefused, OccurredTooEarly
from ledger.domain.facts import Fact

WORDS = {
    "received": "the intake record", "triaged": "the triage", "findings": "the findings",
    "planned": "the plan", "executed": "the execution", "outcome": "the outcome",
    "closed": "the closure", "reopened": "the reopening", "withdrawn": "the withdrawal",
    "extended": "the extension", "paused": "the pause", "resumed": "the resume",
    "escalated": "the escalation", "assigned": "the assignment", "contact": "the contact",
    "callback": "the callback", "note": "the note",
    "addressed": "the escalation", "acknowledged": "the acknowledgement",
    "instructed": "the instruction", "signed_off": "the sign-off",
    "accountability": "the accountability record", "agency": "the agency",
    "improvement": "the improvement", "improved": "the improvement done",
    "replied": "the reply to the regulator", "linked": "the link", "evidence": "the evidence",
}  # fmt: skip
_STOPPING = frozenset({"triaged", "findings", "planned", "executed", "outcome"})
# What a closed case still takes: a closure dated before one of these contradicts nothing.
_AFTER_CLOSURE = frozenset(
    {
        "note",
        "callback",
        "reopened",
        "instructed",
        "accountability",
        "improvement",
        "improved",
        "replied",
        "linked",
        "evidence",
    }
)
# Per kind: the categories of earlier actions it may not precede. "round:" ones count only
# since the last reopening.
_FOLLOWS = {
    "triaged": ("triaged",),
    "findings": ("triaged", "round:findings"),
    "planned": ("round:findings", "round:planned", "round:executed"),
    "executed": ("round:planned",),
    "outcome": ("round:planned", "round:outcome"),
    "callback": ("outcome",),
    "acknowledged": ("addressed",),
    "closed": ("open work",),
    "withdrawn": ("any",),
    "paused": ("resumed", "stop"),
    "resumed": ("paused", "stop"),
}


@dataclass(frozen=True)
class Bound:
    """An action may not be dated before ``at``, the time of ``fact`` (None: the receipt's
    ``received_at`` itself)."""

    at: datetime
    fact: Fact | None
    what: str

    def describe(self) -> str:
        if self.fact is None:
            return f"the complaint was received ({self.at.isoformat()})"
        return f"{self.what} at {self.at.isoformat()} (event {self.fact.version})"


class Fold:
    """What the actions folded so far impose on the next one: the latest-dated action of
    each category, the last reopening and the closure since it.

    The Complaint keeps one, extended by each action it applies (``add``), so that a command
    is checked against its complaint's history in constant time rather than by folding the
    whole history again. Two folds of the same actions compare equal."""

    __slots__ = ("closed", "count", "latest", "received_at", "reopened")

    def __init__(self, received_at: datetime) -> None:
        self.received_at = received_at
        self.latest: dict[str, Fact] = {}  # per category, the latest-dated action so far
        self.reopened: Fact | None = None
        self.closed: Fact | None = None
        self.count = 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Fold) and self._state() == other._state()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Fold(received_at={self.received_at!r}, count={self.count})"

    def _state(self) -> tuple[object, ...]:
        return (self.received_at, self.latest, self.reopened, self.closed, self.count)

    def own(self, fact: Fact) -> list[Bound]:
        """The lower bounds of ``fact``, the next action."""
        own = [Bound(self.received_at, None, "")]
        if self.count:
            own += [
                Bound(f.at, f, WORDS.get(f.kind, f.kind)) for f in (self.reopened, self.closed) if f
            ]
            for category in _follows(fact):
                earlier = self.latest.get(category)
                if earlier is not None:
                    own.append(Bound(earlier.at, earlier, WORDS.get(earlier.kind, earlier.kind)))
        return own

    def broken(self, fact: Fact) -> Bound | None:
        """The bound of ``own(fact)`` that ``fact`` breaks (the latest, the first of equals),
        or None; without making a ``Bound`` of each, as every command is checked."""
        before_receipt = fact.at < self.received_at
        latest = self.received_at if before_receipt else fact.at
        worst: Fact | None = None
        for earlier in (self.reopened, self.closed, *map(self.latest.get, _follows(fact))):
            if earlier is not None and earlier.at > latest:
                worst, latest = earlier, earlier.at
        if worst is not None:
            return Bound(worst.at, worst, WORDS.get(worst.kind, worst.kind))
        return Bound(self.received_at, None, "") if before_receipt else None

    def add(self, fact: Fact) -> None:
        self.count += 1
        latest = self.latest
        categories = [fact.kind, "round:" + fact.kind, "any"]
        if fact.kind == "improvement":
            categories.append(f"improvement:{fact.item}")  # what its being done follows
        if fact.kind in _STOPPING:
            categories.append("stop")
        if fact.kind not in _AFTER_CLOSURE:
            categories.append("open work")
        if fact.kind == "reopened":
            self.reopened, self.closed = fact, None
            latest = self.latest = {k: v for k, v in latest.items() if not k.startswith("round:")}
        elif fact.kind == "closed":
            self.closed = fact
        for category in categories:
            if category not in latest or fact.at >= latest[category].at:
                latest[category] = fact


def fold(received_at: datetime, facts: Iterable[Fact]) -> Fold:
    """The fold of ``facts``, the actions recorded so far in version order."""
    folded = Fold(received_at)
    for fact in facts:
        folded.add(fact)
    return folded


def bounds(received_at: datetime, facts: Sequence[Fact]) -> list[list[Bound]]:
    """The lower bounds of each action, set by the actions recorded before it."""
    folded = Fold(received_at)
    result: list[list[Bound]] = []
    for fact in facts:
        result.append(folded.own(fact))
        folded.add(fact)
    return result


def _follows(fact: Fact) -> tuple[str, ...]:
    """The categories ``fact`` may not precede: an improvement is done after it was added."""
    if fact.kind == "improved":
        return (f"improvement:{fact.item}",)
    return _FOLLOWS.get(fact.kind, ())


def _violated(fact: Fact, own: list[Bound]) -> Bound | None:
    broken = [b for b in own if fact.at < b.at]
    return max(broken, key=lambda b: b.at) if broken else None


def check_new(received_at: datetime, facts: Sequence[Fact], new: Fact) -> None:
    """Refuse ``new`` (the next action) if it is dated before an action it follows (every
    bound of ``new`` made, as ``bounds`` makes them; ``check_next`` gives the same verdict)."""
    broken = _violated(new, fold(received_at, facts).own(new))
    if broken is not None:
        raise OccurredTooEarly(f"occurred_at {new.at.isoformat()} is before {broken.describe()}")


def check_next(folded: Fold, new: Fact) -> None:
    """``check_new`` against the fold of the actions recorded so far (``Complaint.time_fold``):
    folding the whole history again for each command made the rule quadratic in a complaint's
    length and a sixth of deciding a command in a bulk import (docs/performance.md, issue 17)."""
    broken = folded.broken(new)
    if broken is not None:
        raise OccurredTooEarly(f"occurred_at {new.at.isoformat()} is before {broken.describe()}")


def check_correction(
    received_at: datetime, facts: Sequence[Fact], target: int, at: datetime
) -> None:
    """Refuse re-dating action ``target`` to ``at`` if that puts it before an action it
    follows, or puts a later action before it; breaches already on record are left alone."""
    moved = [replace(f, at=at) if f.version == target else f for f in facts]
    before, after = bounds(received_at, facts), bounds(received_at, moved)
    for old, new, old_bounds, new_bounds in zip(facts, moved, before, after, strict=True):
        broken = _violated(new, new_bounds)
        if broken is None or _violated(old, old_bounds) is not None:
            continue
        if new.version == target:
            reason = f"that is before {broken.describe()}"
        else:
            word = WORDS.get(new.kind, new.kind)
            reason = f"{word} at {new.at.isoformat()} (event {new.version}) would come before it"
        raise CorrectionRefused(f"event {target} cannot be re-dated to {at.isoformat()}: {reason}")
