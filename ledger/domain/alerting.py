"""Alert rules: which happenings on a complaint are told to whom (part of the published policy).

A rule fires on a clock turning ``at_risk``, on a clock becoming ``overdue``, on an escalation
or on a complaint that arrives as a regulator referral, and names its audience: the case's
handler, the handler's unit, the leadership group, or a unit by its id. Who that is, and at
which address, is looked up in the staff directory when the alert is sent
(``consumers.alerts``); the rules themselves are values, versioned with the clocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ledger.domain.values import ClockName, Unit

Trigger = Literal["at_risk", "overdue", "escalated", "regulator_referral"]
TRIGGERS: tuple[Trigger, ...] = ("at_risk", "overdue", "escalated", "regulator_referral")
CLOCK_TRIGGERS = frozenset({"at_risk", "overdue"})
# Who a rule may name besides a unit's id: the case's handler, the handler's unit, and the
# leadership group (its unit's members and whoever holds the leadership role).
AUDIENCES = ("handler", "unit", "leadership")
RULE_NAME = r"^[a-z][a-z0-9_-]{0,39}$"


@dataclass(frozen=True)
class AlertRule:
    """Tell ``notify`` when ``trigger`` happens (for a clock trigger, to one of ``clocks``)."""

    name: str
    trigger: Trigger
    notify: tuple[str, ...]
    clocks: tuple[ClockName, ...] = tuple(ClockName)

    def concerns(self, clock: str) -> bool:
        """Whether the rule watches ``clock`` (a run's name: ``investigation#2`` is a second
        round of the investigation clock)."""
        return self.trigger in CLOCK_TRIGGERS and clock.split("#")[0] in self.clocks


DEFAULT_ALERTS = (
    AlertRule("clock-at-risk", "at_risk", ("handler", "unit")),
    AlertRule("clock-overdue", "overdue", ("handler", "unit", "leadership")),
    AlertRule("escalated", "escalated", ("leadership",)),
    AlertRule("regulator-referral", "regulator_referral", ("leadership",)),
)

Audience = Literal[
    "handler", "unit", "leadership", "leadership_group", "handling_group", "office",
    "customer_service", "business_department",
]  # fmt: skip


class AlertRuleDoc(BaseModel):
    """One ``[alerts.<name>]`` table of a policy document."""

    model_config = ConfigDict(extra="forbid")

    when: Trigger
    notify: Annotated[list[Audience], Field(min_length=1)]
    clocks: list[ClockName] | None = None

    @model_validator(mode="after")
    def _clocks_for_clock_triggers(self) -> AlertRuleDoc:
        if self.clocks is not None and self.when not in CLOCK_TRIGGERS:
            raise ValueError(f"a rule on {self.when} concerns no clock; remove clocks")
        if self.clocks is not None and not self.clocks:
            raise ValueError("clocks must name at least one clock (leave it out for all)")
        return self

    def build(self, name: str) -> AlertRule:
        clocks = tuple(ClockName) if self.clocks is None else tuple(dict.fromkeys(self.clocks))
        return AlertRule(name, self.when, tuple(dict.fromkeys(self.notify)), clocks)


AlertName = Annotated[str, Field(pattern=RULE_NAME)]


def alerts_from_doc(docs: Mapping[str, AlertRuleDoc]) -> tuple[AlertRule, ...]:
    return tuple(doc.build(name) for name, doc in docs.items())


def alert_to_dict(rule: AlertRule) -> dict[str, Any]:
    data: dict[str, Any] = {"when": rule.trigger, "notify": list(rule.notify)}
    if rule.clocks != tuple(ClockName):
        data["clocks"] = [str(c) for c in rule.clocks]
    return data


def is_unit(audience: str) -> bool:
    return audience in {u.value for u in Unit}


class AlertEventFields(TypedDict):
    """``AlertFields`` as the fields of its event (``guards.record`` checks them by these
    names: tests/unit/test_record_calls.py)."""

    rule: str
    clock: str
    recipient: str
    address: str
    channel: str
    attempts: int


@dataclass(frozen=True)
class AlertFields:
    """What an ``AlertSent`` or ``AlertFailed`` event says of the alert: the rule, the clock
    (a clock's run, or for an event rule the happening: ``escalated@5`` is the escalation
    recorded as the complaint's event 5, ``regulator_referral``), who was told, at which
    address, over which channel, and after how many tries."""

    rule: str
    clock: str
    recipient: str
    address: str
    channel: str
    attempts: int

    def as_fields(self) -> AlertEventFields:
        return {
            "rule": self.rule,
            "clock": self.clock,
            "recipient": self.recipient,
            "address": self.address,
            "channel": self.channel,
            "attempts": self.attempts,
        }
