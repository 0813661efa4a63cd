"""The time rule: an action may be dated in the past, but never before an action already
recorded on the same complaint that it would contradict (pure).

Every action has lower bounds set by the actions recorded before it: the receipt, the last
reopening, the closure of a closed case, and what its own kind follows (findings follow the
triage and earlier findings of the round, a plan follows the findings, earlier plans and
their execution, a pause follows the last resume and every recorded stop of a clock, a
closure follows everything but what a closed case still takes (notes, callbacks,
instructions, accountability records, improvement measures), an improvement measure is done
after it was added, a withdrawal follows everything). ``check_new`` applies them to a new action,
``check_correction`` to an action re-dated by a correction. docs/sla.md states the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def bounds(received_at: datetime, facts: Sequence[Fact]) -> list[list[Bound]]:
    """The lower bounds of each action, set by the actions recorded before it."""
    result: list[list[Bound]] = []
    latest: dict[str, Fact] = {}  # per category, the latest-dated action so far
    reopened: Fact | None = None
    closed: Fact | None = None
    for index, fact in enumerate(facts):
        own = [Bound(received_at, None, "")]
        if index:
            own += [Bound(f.at, f, WORDS.get(f.kind, f.kind)) for f in (reopened, closed) if f]
            for category in _follows(fact):
                earlier = latest.get(category)
                if earlier is not None:
                    own.append(Bound(earlier.at, earlier, WORDS.get(earlier.kind, earlier.kind)))
        result.append(own)
        categories = [fact.kind, "round:" + fact.kind, "any"]
        if fact.kind == "improvement":
            categories.append(f"improvement:{fact.item}")  # what its being done follows
        if fact.kind in _STOPPING:
            categories.append("stop")
        if fact.kind not in _AFTER_CLOSURE:
            categories.append("open work")
        if fact.kind == "reopened":
            reopened, closed = fact, None
            latest = {k: v for k, v in latest.items() if not k.startswith("round:")}
        elif fact.kind == "closed":
            closed = fact
        for category in categories:
            if category not in latest or fact.at >= latest[category].at:
                latest[category] = fact
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
    """Refuse ``new`` (the next action) if it is dated before an action it follows."""
    own = bounds(received_at, [*facts, new])[-1]
    broken = _violated(new, own)
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
