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
    BUSINESS_DEPARTMENT = "business_department"


class Unit(StrEnum):
    """The plan's organisation: where a member of staff works."""

    LEADERSHIP_GROUP = "leadership_group"  # 应急领导小组
    HANDLING_GROUP = "handling_group"  # 处置小组
    OFFICE = "office"  # 办公室
    CUSTOMER_SERVICE = "customer_service"  # 客服部
    BUSINESS_DEPARTMENT = "business_department"  # 业务部门


class Method(StrEnum):
    """How the identity of whoever recorded an event was established."""

    TOKEN = "token"  # a bearer token the staff directory issued (the HTTP API)
    DATABASE = "database"  # the PostgreSQL login of the connection (session_user)
    ASSERTED = "asserted"  # whatever the caller said (the single-user SQLite default)


class ClockName(StrEnum):
    INTAKE = "intake"
    INVESTIGATION = "investigation"
    PLAN = "plan"
    EXECUTION = "execution"
    SUMMARY = "summary"
    REGULATORY = "regulatory"
    # Runs from an escalation that names who it goes to, until the leadership group
    # acknowledges it (issue 15); optional in a policy document (default 1 hour).
    ACKNOWLEDGEMENT = "acknowledgement"
    # Runs from the receipt of a regulator referral until the company's reply to the
    # regulator (issue 15, item 4); optional in a policy document (default 15 days).
    REGULATOR_REPLY = "regulator_reply"


class EvidenceKind(StrEnum):
    """What a file attached as evidence is (issue 15)."""

    RECORDING = "recording"
    DOCUMENT = "document"
    SCREENSHOT = "screenshot"


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
    """Who recorded an action, in which role, and how that was proven: ``credential`` is
    the database login (``database``) or the token's id (``token``) that proved it."""

    id: str
    role: Role
    method: Method = Method.ASSERTED
    credential: str | None = None


@dataclass(frozen=True)
class Proof:
    """What the way in knows of who is calling, before the staff directory is asked."""

    method: Method
    credential: str | None = None  # the database login, or the token's id
    staff_id: str | None = None  # the member a token was issued to


ASSERTED = Proof(Method.ASSERTED)


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
