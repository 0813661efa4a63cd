"""Complaint code lists as data: the company's cause codes and the regulator's classification.

A code list is a versioned value, published into the ledger like the policy (a new kind of
publication in the policy book, ``ledger.store.books``) and validated once, when a document
is parsed. It holds the company's own **causes** (code and label, each optionally mapped to
a regulator cause code) and the **regulator's classification** following the structure of
JR/T 0169-2018 (金融消费者投诉统计分类及编码): three code tables, the channel the business
was done through (业务办理渠道), the business type (业务类别) and the cause (投诉原因).
A triage or closure that gives a cause is checked against the list in force at the time of
the action (``CodeList.check``); so are the regulator's business type and business channel it
gives (``CodeList.check_business``), which the regulator's quarterly table counts by.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from ledger.domain.calendar import explain, load_document
from ledger.domain.errors import CauseUnknown, CodesInvalid
from ledger.domain.text import control_problem

CodesFormat = Literal["toml", "json"]
STANDARD = "JR/T 0169-2018"
# A code: letters, digits, dot, dash or underscore (the standard's codes are digits).
# Not stripped: " 01" and "01" would be two keys of the document but one code.
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]


def _one_line(label: str) -> str:
    problem = control_problem(label)
    if problem:
        raise ValueError(problem)
    return label


Label = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_one_line),
]


@dataclass(frozen=True)
class Cause:
    """One of the company's cause codes; ``regulator`` is its regulator cause code, if mapped,
    and ``version`` the code list's (what an action that gives the code records beside it)."""

    code: str
    label: str
    regulator: str | None
    version: str


@dataclass(frozen=True)
class Business:
    """The regulator's business type (业务类别) and business channel (业务办理渠道) an action
    gives, each optional, and ``version``, the code list both were checked against."""

    type: str | None
    channel: str | None
    version: str


# The regulator's tables a command field names, and what its message calls a code of it.
_BUSINESS_TABLES = {
    "business_type": ("business_types", "business type"),
    "business_channel": ("channels", "business channel"),
}


@dataclass(frozen=True)
class CodeList:
    """A version of the code lists: the company's causes and the regulator's three tables."""

    version: str
    causes: Mapping[str, Cause]
    channels: Mapping[str, str]
    business_types: Mapping[str, str]
    regulator_causes: Mapping[str, str]
    standard: str = STANDARD

    def check(self, code: str, field: str = "cause") -> Cause:
        """The cause ``code`` names, or ``CauseUnknown`` naming what the list holds."""
        cause = self.causes.get(code)
        if cause is None:
            known = ", ".join(sorted(self.causes))
            raise CauseUnknown(
                f"{field}: {code!r} is not a cause code of code list {self.version!r} "
                f"(in force at the time of the action); its codes: {known}"
            )
        return cause

    def check_business(self, business_type: str | None, business_channel: str | None) -> Business:
        """Both codes checked against the regulator's tables, or ``CauseUnknown`` naming the
        first not in them (an unknown code is refused like an unknown cause)."""
        for field, code in (
            ("business_type", business_type),
            ("business_channel", business_channel),
        ):
            table, what = _BUSINESS_TABLES[field]
            codes: Mapping[str, str] = getattr(self, table)
            if code is not None and code not in codes:
                raise CauseUnknown(
                    f"{field}: {code!r} is not a {what} code of code list {self.version!r} "
                    f"(in force at the time of the action); its codes: {', '.join(sorted(codes))}"
                )
        return Business(business_type, business_channel, self.version)

    def regulator_for(self, code: str | None) -> str | None:
        """The regulator cause code the company cause ``code`` maps to (None if unmapped)."""
        cause = None if code is None else self.causes.get(code)
        return None if cause is None else cause.regulator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _CauseDoc(_Strict):
    label: Label
    regulator: Code | None = None


class _RegulatorDoc(_Strict):
    standard: Label = STANDARD
    channels: dict[Code, Label] = Field(min_length=1)
    business_types: dict[Code, Label] = Field(min_length=1)
    causes: dict[Code, Label] = Field(min_length=1)


class _CodesDoc(_Strict):
    version: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    causes: dict[Code, _CauseDoc] = Field(min_length=1)
    regulator: _RegulatorDoc


def _duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object that names a key twice is refused (TOML refuses it itself): a code
    given twice would otherwise keep its last label silently."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise CodesInvalid(f"code list invalid: {key!r} is given twice")
        seen[key] = value
    return seen


def _load(text: str, fmt: CodesFormat) -> dict[str, Any]:
    if fmt == "toml":
        return load_document(text, fmt, "code list", CodesInvalid)
    try:
        data: object = json.loads(text, object_pairs_hook=_duplicates)
    except json.JSONDecodeError as e:
        raise CodesInvalid(f"code list is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise CodesInvalid(f"code list must be a mapping of settings, not {type(data).__name__}")
    return data


def parse_codes(text: str, fmt: CodesFormat) -> CodeList:
    """A code-list document (TOML or JSON); any problem raises ``CodesInvalid`` on one line."""
    codes = codes_from_dict(_load(text, fmt))
    problem = control_problem(codes.version)
    if problem:
        raise CodesInvalid(f"code list invalid: version: {problem}")
    return codes


def codes_from_dict(data: Mapping[str, Any]) -> CodeList:
    """A code list from plain data (a parsed document or a stored copy), checked whole."""
    try:
        doc = _CodesDoc.model_validate(data)
    except ValidationError as e:
        raise CodesInvalid(f"code list invalid: {explain(e)}") from None
    regulator = doc.regulator
    for code, cause in doc.causes.items():
        if cause.regulator is not None and cause.regulator not in regulator.causes:
            raise CodesInvalid(
                f"code list invalid: causes.{code}.regulator: {cause.regulator!r} is not a code "
                f"of regulator.causes ({', '.join(regulator.causes)})"
            )
    return CodeList(
        version=doc.version,
        causes={c: Cause(c, d.label, d.regulator, doc.version) for c, d in doc.causes.items()},
        channels=dict(regulator.channels),
        business_types=dict(regulator.business_types),
        regulator_causes=dict(regulator.causes),
        standard=regulator.standard,
    )


def codes_to_dict(codes: CodeList) -> dict[str, Any]:
    """JSON-safe plain data that ``codes_from_dict`` turns back into an equal code list."""
    return {
        "version": codes.version,
        "causes": {
            c.code: {"label": c.label, **({"regulator": c.regulator} if c.regulator else {})}
            for c in codes.causes.values()
        },
        "regulator": {
            "standard": codes.standard,
            "channels": dict(codes.channels),
            "business_types": dict(codes.business_types),
            "causes": dict(codes.regulator_causes),
        },
    }
