"""The complaint plan's clocks as data: limits, units, schedules, pauses and extension steps.

A policy is a versioned value. It is validated once, when a document is parsed or a stored
copy is read back, and is then handed to the pure SLA functions unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ledger.domain.alerting import (
    DEFAULT_ALERTS,
    AlertName,
    AlertRule,
    AlertRuleDoc,
    alert_to_dict,
    alerts_from_doc,
)
from ledger.domain.calendar import Format, explain, load_document
from ledger.domain.errors import ExtensionRefused, PolicyInvalid
from ledger.domain.schedule import Schedule
from ledger.domain.schedule_doc import ScheduleDoc, schedule_to_dict
from ledger.domain.text import control_problem
from ledger.domain.values import ClockName
from ledger.domain.zones import zone_named

Unit = Literal["hours", "working_days", "days"]

NEVER_PAUSED = frozenset({ClockName.REGULATORY, ClockName.REGULATOR_REPLY})
# The clocks a reopening may start again besides the round's own (investigation, plan,
# execution, summary, which always restart).
RESTARTABLE = (ClockName.INTAKE, ClockName.REGULATORY)
# Clocks a policy document may leave out: policies published before the clock existed keep
# their verdicts and get the default (``default_rule``).
OPTIONAL_CLOCKS = frozenset({ClockName.ACKNOWLEDGEMENT, ClockName.REGULATOR_REPLY})


@dataclass(frozen=True)
class ClockRule:
    """One clock's limit in its unit; ``extension_steps[i]`` caps the (i+1)-th extension in days.

    ``schedule`` names the business hours an hour clock counts; ``None`` counts every hour.
    """

    clock: ClockName
    limit: int
    unit: Unit
    pausable: bool
    extension_steps: tuple[int, ...]
    schedule: str | None = None


@dataclass(frozen=True)
class Policy:
    """A version of the complaint plan: one rule per clock, report settings, named schedules
    and the alert rules (none in a document without ``[alerts]``)."""

    version: str
    timezone: str
    at_risk_share: float
    backdated_after_hours: float
    rules: tuple[ClockRule, ...]
    schedules: tuple[Schedule, ...] = ()
    reopen_restarts: tuple[ClockName, ...] = RESTARTABLE
    alerts: tuple[AlertRule, ...] = ()

    def __post_init__(self) -> None:
        names = [s.name for s in self.schedules]
        for rule in self.rules:
            if rule.schedule is None:
                continue
            if rule.unit != "hours":
                raise PolicyInvalid(
                    f"policy {self.version}: the {rule.clock} clock counts {rule.unit}, "
                    "so it cannot follow a schedule"
                )
            if rule.schedule not in names:
                raise PolicyInvalid(
                    f"policy {self.version} has no schedule named {rule.schedule!r}"
                )

    def rule(self, clock: ClockName) -> ClockRule:
        for rule in self.rules:
            if rule.clock == clock:
                return rule
        raise PolicyInvalid(f"policy {self.version} has no rule for the {clock} clock")

    def schedule(self, clock: ClockName) -> Schedule | None:
        """The business hours ``clock`` counts, or ``None`` for a wall clock (every hour)."""
        name = self.rule(clock).schedule
        return next((s for s in self.schedules if s.name == name), None)

    @property
    def zone(self) -> ZoneInfo:
        return zone_named(self.timezone)


DEFAULT_POLICY = Policy(
    version="default-2026.1",
    timezone="Asia/Shanghai",
    at_risk_share=0.75,
    backdated_after_hours=24.0,
    rules=(
        ClockRule(ClockName.INTAKE, 1, "hours", False, ()),
        ClockRule(ClockName.INVESTIGATION, 24, "hours", False, (1,)),
        ClockRule(ClockName.PLAN, 48, "hours", False, (2,)),
        ClockRule(ClockName.EXECUTION, 7, "working_days", False, (7,)),
        ClockRule(ClockName.SUMMARY, 15, "working_days", False, (15,)),
        ClockRule(ClockName.REGULATORY, 15, "days", False, (15, 30)),
        ClockRule(ClockName.ACKNOWLEDGEMENT, 1, "hours", False, ()),
        ClockRule(ClockName.REGULATOR_REPLY, 15, "days", False, ()),
    ),
    alerts=DEFAULT_ALERTS,
)


def default_rule(clock: ClockName, intake: ClockRule) -> ClockRule:
    """The rule of an optional clock a policy leaves out: the leadership group acknowledges
    an escalation within 1 hour, counted like the intake clock (its schedule, if any); the
    company replies to a regulator referral within 15 calendar days of its receipt, the
    regulator's own decision limit (docs/sla.md), never paused and never extended."""
    assert clock in OPTIONAL_CLOCKS
    if clock is ClockName.REGULATOR_REPLY:
        return ClockRule(clock, 15, "days", False, ())
    return ClockRule(clock, 1, "hours", False, (), intake.schedule)


PositiveInt = Annotated[int, Field(strict=True, gt=0)]


class _RuleDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: PositiveInt
    unit: Unit
    pausable: bool = False
    extension_steps: list[PositiveInt] = []
    schedule: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _schedule_for_hours_only(self) -> _RuleDoc:
        if self.schedule is not None and self.unit != "hours":
            raise ValueError(
                f"only an hour clock can count business hours; a clock in {self.unit} "
                "already counts whole days, so remove schedule"
            )
        return self


class _PolicyDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Annotated[str, Field(min_length=1, pattern=r"\S")]
    timezone: str = "Asia/Shanghai"
    at_risk_share: Annotated[float, Field(gt=0, lt=1)] = 0.75
    backdated_after_hours: Annotated[float, Field(gt=0)] = 24.0
    reopen_restarts: list[Literal["intake", "regulatory"]] = ["intake", "regulatory"]
    # Before clocks, so the clocks' validator sees the schedules they may name.
    schedules: dict[Annotated[str, Field(min_length=1, pattern=r"\S")], ScheduleDoc] = {}
    clocks: dict[ClockName, _RuleDoc]
    alerts: dict[AlertName, AlertRuleDoc] = {}

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone_named(value)
        return value

    @field_validator("clocks")
    @classmethod
    def _every_clock_once(
        cls, value: dict[ClockName, _RuleDoc], info: ValidationInfo
    ) -> dict[ClockName, _RuleDoc]:
        missing = [str(c) for c in ClockName if c not in value and c not in OPTIONAL_CLOCKS]
        if missing:
            raise ValueError(f"every clock needs a rule; missing: {', '.join(missing)}")
        for clock in NEVER_PAUSED:
            if clock in value and value[clock].pausable:
                raise ValueError(f"the {clock} clock never pauses; set pausable = false")
        if "schedules" not in info.data:
            return value  # the schedules were refused; that problem is reported first
        defined = info.data["schedules"]
        for clock in value:
            name = value[clock].schedule
            if name is not None and name not in defined:
                known = ", ".join(defined) if defined else "none"
                raise ValueError(
                    f"the {clock} clock names schedule {name!r}, which the policy does not "
                    f"define (schedules defined: {known})"
                )
        return value


def policy_from_dict(data: Mapping[str, Any]) -> Policy:
    """Validate plain data (a parsed document or a stored copy) into a ``Policy``."""
    try:
        doc = _PolicyDoc.model_validate(data)
    except ValidationError as e:
        raise PolicyInvalid(f"policy invalid: {explain(e)}") from e
    return Policy(
        version=doc.version,
        timezone=doc.timezone,
        at_risk_share=doc.at_risk_share,
        backdated_after_hours=doc.backdated_after_hours,
        rules=_rules(doc.clocks),
        schedules=tuple(schedule.build(name) for name, schedule in doc.schedules.items()),
        reopen_restarts=tuple(c for c in RESTARTABLE if c in doc.reopen_restarts),
        alerts=alerts_from_doc(doc.alerts),
    )


def _rules(clocks: dict[ClockName, _RuleDoc]) -> tuple[ClockRule, ...]:
    given = {
        clock: ClockRule(
            clock=clock,
            limit=doc.limit,
            unit=doc.unit,
            pausable=doc.pausable,
            extension_steps=tuple(doc.extension_steps),
            schedule=doc.schedule,
        )
        for clock, doc in clocks.items()
    }
    intake = given[ClockName.INTAKE]
    return tuple(given.get(c) or default_rule(c, intake) for c in ClockName)


def parse_policy(text: str, fmt: Format) -> Policy:
    """A policy document in TOML or YAML; any problem raises ``PolicyInvalid`` on one line."""
    policy = policy_from_dict(load_document(text, fmt, "policy", PolicyInvalid))
    # Checked here, not in policy_from_dict: a version stored before the check must still load.
    problem = control_problem(policy.version)
    if problem:
        raise PolicyInvalid(f"policy invalid: version: {problem}")
    return policy


def _rule_to_dict(rule: ClockRule) -> dict[str, Any]:
    data: dict[str, Any] = {
        "limit": rule.limit,
        "unit": rule.unit,
        "pausable": rule.pausable,
        "extension_steps": list(rule.extension_steps),
    }
    if rule.schedule is not None:
        data["schedule"] = rule.schedule
    return data


def policy_to_dict(policy: Policy) -> dict[str, Any]:
    """JSON-safe plain data that ``policy_from_dict`` turns back into an equal policy.

    A clock without a schedule has no ``schedule`` key, as in copies stored before
    schedules existed; a policy without alert rules has no ``alerts`` key, as in copies
    stored before alerts existed.
    """
    data: dict[str, Any] = {
        "version": policy.version,
        "timezone": policy.timezone,
        "at_risk_share": policy.at_risk_share,
        "backdated_after_hours": policy.backdated_after_hours,
        "reopen_restarts": [str(c) for c in policy.reopen_restarts],
        "schedules": {s.name: schedule_to_dict(s) for s in policy.schedules},
        "clocks": {str(rule.clock): _rule_to_dict(rule) for rule in policy.rules},
    }
    if policy.alerts:
        data["alerts"] = {rule.name: alert_to_dict(rule) for rule in policy.alerts}
    return data


def check_extension(
    policy: Policy,
    clock: ClockName,
    days: int,
    previous_days: list[int],
    approved_by: str | None,
) -> None:
    """Refuse an extension the policy does not allow.

    ``previous_days`` are the extensions already granted to the clock's current round.
    Who may approve (e.g. leadership for the regulator's second extension) is checked by
    the command's role rules, not here.
    """
    if days < 1:
        raise ExtensionRefused(f"an extension of the {clock} clock must add at least 1 day")
    if approved_by is None or not approved_by.strip():
        raise ExtensionRefused(f"an extension of the {clock} clock needs an approver (approved_by)")
    steps = policy.rule(clock).extension_steps
    if not steps:
        raise ExtensionRefused(
            f"policy {policy.version} does not allow extending the {clock} clock"
        )
    done = len(previous_days)
    if done >= len(steps):
        raise ExtensionRefused(
            f"the {clock} clock was already extended {done} time{'s' if done > 1 else ''}; "
            f"policy {policy.version} allows {len(steps)}"
        )
    if days > steps[done]:
        raise ExtensionRefused(
            f"extension {done + 1} of the {clock} clock may add at most {steps[done]} days "
            f"under policy {policy.version}, not {days}"
        )
