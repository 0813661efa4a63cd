"""Delivering one alert, with its record made at the delivery's commit point.

Both channels hand over everything but the very end of the message, then ask ``commit``
(which records the alert in the ledger) whether to finish: an SMTP server keeps no mail
whose DATA was not ended by ``<CRLF>.<CRLF>``, and an HTTP server acts on no request whose
body is shorter than its ``Content-Length``. So a process killed before the record leaves
nothing delivered, and one that loses the record to another runner drops the connection and
delivers nothing either (docs/alerts.md, "Exactly once").
"""

from __future__ import annotations

import json
import re
import smtplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import httpx

from consumers.alerts.stopping import uninterrupted

Commit = Callable[[], bool]  # records the alert; False when another runner already had


class DeliveryFailed(Exception):
    """A try that did not deliver; ``committed`` when it failed after the alert was recorded
    (the server refused the finished message)."""

    def __init__(self, message: str, committed: bool) -> None:
        super().__init__(message)
        self.committed = committed


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    mail_from: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 20.0


def parse_host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:25`` for an IPv6 address)."""
    match = re.fullmatch(r"\[?([^\[\]]+?)\]?:(\d{1,5})", text.strip())
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise ValueError(f"--smtp must be HOST:PORT, e.g. smtp.example.com:587, not {text!r}")
    return match.group(1), int(match.group(2))


def send_mail(settings: SmtpSettings, message: EmailMessage, commit: Commit) -> bool:
    """Deliver ``message`` to its ``To``; False when ``commit`` said another runner has it."""
    data = message.as_bytes(policy=SMTP)
    data = re.sub(rb"(?m)^\.", b"..", data)  # dot-stuffing (RFC 5321, 4.5.2)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    smtp: smtplib.SMTP | None = None
    try:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        smtp.ehlo()
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        _expect(smtp.mail(settings.mail_from), (250,), "MAIL FROM")
        _expect(smtp.rcpt(str(message["To"])), (250, 251), "RCPT TO")
        _expect(smtp.docmd("DATA"), (354,), "DATA")
        smtp.send(data)
    except (OSError, smtplib.SMTPException) as e:
        _drop(smtp)
        raise DeliveryFailed(f"SMTP {settings.host}:{settings.port}: {_said(e)}", False) from e
    with uninterrupted():  # a stop signal waits until the message is finished
        try:
            recorded = commit()
        except BaseException:
            _drop(smtp)  # refused: the DATA never ends, the server keeps nothing
            raise
        if not recorded:
            _drop(smtp)  # another runner has it: the DATA never ends, the server keeps nothing
            return False
        try:
            smtp.send(b".\r\n")
            _expect(smtp.getreply(), (250,), "end of DATA")
        except (OSError, smtplib.SMTPException) as e:
            _drop(smtp)
            raise DeliveryFailed(f"SMTP {settings.host}:{settings.port}: {_said(e)}", True) from e
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        _drop(smtp)  # delivered; a lost goodbye changes nothing
    return True


def _expect(reply: tuple[int, bytes], codes: tuple[int, ...], step: str) -> None:
    code, text = reply
    if code not in codes:
        raise smtplib.SMTPResponseException(code, f"{step}: {text.decode(errors='replace')}")


def _drop(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        smtp.close()


def _said(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        message = error.smtp_error
        text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
        return f"{error.smtp_code} {text}"
    return str(error) or type(error).__name__


class _Abandoned(Exception):
    """Raised inside the request body to drop a request another runner has recorded."""


def post_webhook(
    url: str, payload: dict[str, Any], alert_id: str, commit: Commit, timeout: float = 20.0
) -> bool:
    """POST ``payload`` as JSON; False when ``commit`` said another runner has the alert.

    A group robot (WeCom, DingTalk) answers 200 with ``errcode`` 0 when it took the
    message, and another ``errcode`` when it did not: both are read."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    committed = False
    # Entered in the body, before the record, and left once the request is over: a stop
    # signal waits until the message is finished.
    section = ExitStack()

    def stream() -> Iterator[bytes]:
        nonlocal committed
        yield body[:-1]
        section.enter_context(uninterrupted())
        if not commit():
            raise _Abandoned
        committed = True
        yield body[-1:]

    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Content-Length": str(len(body)),
        "X-Alert-Id": alert_id,
    }
    with section:
        try:
            with httpx.Client(timeout=timeout) as client:
                response = client.post(url, content=stream(), headers=headers)
        except _Abandoned:
            return False
        except httpx.HTTPError as e:
            raise DeliveryFailed(f"webhook: {type(e).__name__}: {e}", committed) from e
    if not response.is_success:
        raise DeliveryFailed(f"webhook answered HTTP {response.status_code}", True)
    errcode = _errcode(response)
    if errcode not in (None, 0):
        raise DeliveryFailed(f"webhook answered errcode {errcode}: {response.text[:200]}", True)
    return True


def _errcode(response: httpx.Response) -> object:
    try:
        answer = response.json()
    except ValueError:
        return None
    return answer.get("errcode") if isinstance(answer, dict) else None
