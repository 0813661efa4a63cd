"""The case page's action forms, and what a submitted form becomes: a command of the JSON
Lines contract, checked by the same models and applied by the same ``handle`` as the API's
``POST /v1/commands``, in the signed-in member's name and role.

A form is offered only when the member's role may issue its command (``domain.roles``) and
the complaint is in a state where it can apply; whatever the page offers, a POST is judged
again by ``handle``, so a forged one is refused as the API refuses it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from commands.models import Envelope, parse_command
from ledger.domain.roles import PERMISSIONS
from ledger.domain.values import RemedyKind, Role, Severity

CHANNELS = ["phone", "email", "sms", "online_chat", "letter", "visit", "web"]


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # text, textarea, select, number, checkbox
    options: tuple[str, ...] = ()
    required: bool = True


@dataclass(frozen=True)
class Form:
    command: str
    label_zh: str
    label_en: str
    fields: tuple[Field, ...]
    when_open: bool = True  # offered only while the complaint is open (else: at any stage)


def _select(name: str, options: list[str]) -> Field:
    return Field(name, "select", tuple(options))


FORMS = (
    Form("add_note", "添加备注", "Add a note", (Field("text", "textarea"),), when_open=False),
    Form(
        "contact",
        "联系投诉人",
        "Contact the complainant",
        (
            _select("channel", CHANNELS),
            Field("reached", "checkbox", required=False),
            Field("summary", "textarea"),
        ),
    ),
    Form(
        "triage",
        "分级",
        "Triage",
        (
            _select("severity", [s.value for s in Severity]),
            Field("category", "text"),
            Field("assessment", "textarea"),
            Field("cause", "text", required=False),  # a code of the code list in force
            # The regulator's business type and channel: codes of the same list.
            Field("business_type", "text", required=False),
            Field("business_channel", "text", required=False),
        ),
    ),
    Form(
        "escalate",
        "升级至领导小组",
        "Escalate",
        (Field("reason", "textarea"), Field("to", "text", required=False)),
    ),
    Form("acknowledge", "确认收到上报", "Acknowledge the escalation", ()),
    Form(
        "instruct", "领导批示", "Give an instruction", (Field("text", "textarea"),), when_open=False
    ),
    Form("sign_off", "审定处理结果", "Sign off the result", (Field("text", "textarea"),)),
    Form("assign", "分派", "Assign", (Field("handler", "text"), Field("team", "text"))),
    Form(
        "record_findings",
        "记录调查结论",
        "Record findings",
        (_select("substantiated", ["yes", "partly", "no"]), Field("findings", "textarea")),
    ),
    Form(
        "plan",
        "制定处置方案",
        "Plan the resolution",
        (
            _select("remedy", [k.value for k in RemedyKind]),
            Field("amount", "text", required=False),
            Field("detail", "text", required=False),
        ),
    ),
    Form("execute", "执行方案", "Execute the plan", (Field("detail", "textarea"),)),
    Form(
        "notify_outcome",
        "告知结果",
        "Tell the outcome",
        (_select("channel", CHANNELS), Field("summary", "textarea")),
    ),
    Form(
        "record_callback",
        "回访",
        "Record the callback",
        (
            _select("satisfaction", ["5", "4", "3", "2", "1"]),
            Field("comment", "text", required=False),
        ),
    ),
    Form(
        "close",
        "办结",
        "Close",
        (
            Field("root_cause", "textarea"),
            Field("improvement", "textarea"),
            Field("cause", "text", required=False),
            Field("business_type", "text", required=False),
            Field("business_channel", "text", required=False),
        ),
    ),
    Form(
        "extend",
        "延长时限",
        "Extend a deadline",
        (
            _select(
                "clock", ["regulatory", "intake", "investigation", "plan", "execution", "summary"]
            ),
            Field("days", "number"),
            Field("reason", "textarea"),
            Field("approved_by", "text"),
        ),
    ),
    Form("withdraw", "撤诉", "Withdraw", (Field("reason", "textarea"),)),
    Form("reopen", "重新打开", "Reopen", (Field("reason", "textarea"),), when_open=False),
    Form(
        "record_accountability",
        "责任追究",
        "Record accountability",
        (
            Field("staff", "text"),
            Field("finding", "textarea"),
            Field("decision", "textarea"),
            Field("team", "text", required=False),
        ),
        when_open=False,
    ),
    Form(
        "add_improvement",
        "新增整改措施",
        "Add an improvement measure",
        (
            Field("action", "textarea"),
            Field("owner", "text"),
            Field("due", "text"),  # a date (the end of that day, Shanghai time) or a time
        ),
        when_open=False,
    ),
    Form(
        "complete_improvement",
        "整改措施完成",
        "Mark an improvement measure done",
        (Field("improvement_id", "text"), Field("text", "textarea", required=False)),
        when_open=False,
    ),
)
BY_COMMAND = {form.command: form for form in FORMS}


def allowed(role: Role, case: dict[str, Any]) -> list[Form]:
    """The forms ``role`` may submit on ``case`` as it stands."""
    status = case.get("status")
    forms = []
    for form in FORMS:
        if form.command not in PERMISSIONS[role]:
            continue
        if form.command == "reopen" and status != "closed":
            continue
        if form.when_open and status != "open":
            continue
        forms.append(form)
    return forms


def command_of(command: str, ref: str, data: dict[str, str], actor: str, role: Role) -> Envelope:
    """The command a submitted form stands for (pydantic's errors for bad values; an unknown
    command is refused like a bad value)."""
    form = BY_COMMAND.get(command)
    body: dict[str, Any] = {
        "command": command,
        "ref": ref,
        "command_id": data.get("command_id") or str(uuid.uuid4()),
        "actor": {"id": actor, "role": str(role)},
    }
    if form is None:
        return parse_command(body)  # refused: not a command the console offers
    for field in form.fields:
        value = data.get(field.name, "").strip()
        if field.kind == "checkbox":
            body[field.name] = value in ("on", "true", "1")
        elif value:
            body[field.name] = int(value) if field.kind == "number" and value.isdigit() else value
    if command == "plan":
        remedy = {k: body.pop(k) for k in ("amount", "detail") if k in body}
        body["remedies"] = [{"kind": body.pop("remedy", None), **remedy}]
    if command == "record_callback" and "satisfaction" in body:
        body["satisfaction"] = int(body["satisfaction"])
    occurred = data.get("occurred_at", "").strip()
    if occurred:
        body["occurred_at"] = occurred
    return parse_command(body)
