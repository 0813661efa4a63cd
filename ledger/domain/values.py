"""Value objects and vocabularies of the complaint domain."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

# Derives aggregate ids from case references, so a reference names exactly one stream.
REFERENCE_NAMESPACE = uuid.UUID("5c1f3a2e-8d4b-4f6a-9b0e-2a7d9c3e1f40")


@functools.lru_cache(maxsize=65536)
def reference_id(ref: str) -> uuid.UUID:
    """The aggregate id of the complaint filed under ``ref`` (remembered: a batch asks for
    the same few thousand several times each)."""
    return uuid.uuid5(REFERENCE_NAMESPACE, ref)


class Channel(StrEnum):
    """How a complaint reached the company."""

    PHONE = "phone"
    EMAIL = "email"
    SMS = "sms"
    ONLINE_CHAT = "online_chat"
    LETTER = "letter"
    VISIT = "visit"
    REGULATOR_REFERRAL = "regulator_referral"
    WEB = "web"  # a web form or portal (e.g. the CFPB's complaint form)


class ContactChannel(StrEnum):
    """How the company reached the complainant."""

    PHONE = "phone"
    EMAIL = "email"
    SMS = "sms"
    ONLINE_CHAT = "online_chat"
    LETTER = "letter"
    VISIT = "visit"
    WEB = "web"  # a web portal, e.g. a regulator's, through which the complainant reads answers


class Severity(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    MAJOR = "major"


class Substantiated(StrEnum):
    YES = "yes"
    PARTLY = "partly"
    NO = "no"


class RemedyKind(StrEnum):
    EXPLANATION = "explanation"
    REFUND = "refund"
    REPAYMENT_PLAN_ADJUSTMENT = "repayment_plan_adjustment"
    FEE_WAIVER = "fee_waiver"
    APOLOGY = "apology"
    COLLECTOR_ACTION = "collector_action"
    OTHER = "other"


class Role(StrEnum):
    CUSTOMER_SERVICE = "customer_service"
    HANDLING_TEAM = "handling_team"
    LEADERSHIP = "leadership"
    AUDITOR = "auditor"
    OPERATOR = "operator"


class ClockName(StrEnum):
    INTAKE = "intake"
    INVESTIGATION = "investigation"
    PLAN = "plan"
    EXECUTION = "execution"
    SUMMARY = "summary"
    REGULATORY = "regulatory"


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class Stage(StrEnum):
    """Where an open complaint stands in the plan's five stages."""

    INTAKE = "intake"
    INVESTIGATION = "investigation"
    PLAN = "plan"
    EXECUTION = "execution"
    SUMMARY = "summary"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Actor:
    """Who recorded an action, and in which role."""

    id: str
    role: Role


@dataclass(frozen=True)
class Stamp:
    """What every event carries besides its own facts."""

    actor: Actor
    occurred_at: datetime
    command_id: str


@dataclass(frozen=True)
class Complainant:
    """The complainant's personal data, kept together so it can be protected as one.

    Every field may be unknown (an anonymous complaint, or one imported from a register
    that publishes no personal data).
    """

    name: str | None = None
    phone: str | None = None
    id_number: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Remedy:
    """One part of a resolution plan; ``amount`` is in CNY and only for money remedies."""

    kind: RemedyKind
    amount: Decimal | None = None
    detail: str | None = None
