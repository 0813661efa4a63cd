"""What an alert says: the mail's subject and text, and the webhook's JSON in the group-robot
formats (WeCom 企业微信, DingTalk 钉钉) or a plain object. Chinese first, then English, as
the plan's own documents are."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Literal
from zoneinfo import ZoneInfo

from consumers.alerts.due import Due

WebhookFormat = Literal["wecom", "dingtalk", "plain"]
FORMATS: tuple[WebhookFormat, ...] = ("wecom", "dingtalk", "plain")
SHOWN_ZONE = ZoneInfo("Asia/Shanghai")

_HEADLINES = {
    "at_risk": ("时限即将到期", "deadline at risk"),
    "overdue": ("已超时限", "deadline overdue"),
    "escalated": ("投诉已升级至应急领导小组", "complaint escalated"),
    "regulator_referral": ("监管转办投诉", "regulator referral received"),
}


def headline(due: Due) -> tuple[str, str]:
    zh, en = _HEADLINES.get(due.status, (due.status, due.status))
    if due.due_at is None:
        return f"{due.ref}：{zh}", f"{due.ref}: {en}"
    return f"{due.ref}：{due.clock} {zh}", f"{due.ref}: {due.clock} {en}"


def text(due: Due) -> str:
    """The alert's text, the same on every channel."""
    zh, en = headline(due)
    lines = [zh, en]
    if due.due_at is not None:
        when = due.due_at.astimezone(SHOWN_ZONE).isoformat(timespec="minutes")
        lines.append(f"到期 / due: {when} (Asia/Shanghai)")
    lines.append(f"规则 / rule: {due.rule.name}")
    if due.names:
        lines.append(f"通知 / to: {', '.join(due.names)}")
    return "\n".join(lines)


def email(due: Due, mail_from: str, now: datetime) -> EmailMessage:
    """The mail; its Message-ID is made from the alert's command id, so that a receiving
    system can tell the same alert apart from a new one."""
    message = EmailMessage()
    zh, en = headline(due)
    message["Subject"] = f"[complaint-ledger] {en} / {zh}"
    message["From"] = mail_from
    message["To"] = due.address
    message["Date"] = formatdate(now.timestamp(), localtime=False)
    message["Message-ID"] = make_msgid(idstring=due.command_id, domain="complaint-ledger")
    message["X-Complaint-Ref"] = due.ref
    message["X-Alert-Id"] = due.command_id
    message.set_content(text(due) + "\n")
    return message


def webhook_payload(due: Due, fmt: WebhookFormat) -> dict[str, Any]:
    """The JSON body: WeCom's and DingTalk's text message (mentioning the staff told, by
    their staff id, which is how both robots name a user), or a plain object."""
    body = text(due)
    if fmt == "wecom":
        return {"msgtype": "text", "text": {"content": body, "mentioned_list": list(due.names)}}
    if fmt == "dingtalk":
        return {
            "msgtype": "text",
            "text": {"content": body},
            "at": {"atUserIds": list(due.names), "isAtAll": False},
        }
    return {
        "alert_id": due.command_id,
        "ref": due.ref,
        "rule": due.rule.name,
        "trigger": due.rule.trigger,
        "clock": due.clock,
        "status": due.status,
        "due_at": None if due.due_at is None else due.due_at.isoformat(),
        "recipients": list(due.names),
        "text": body,
    }
