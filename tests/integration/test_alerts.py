"""Alerts on both backends, against a real SMTP server and a real HTTP receiver: each due
alert is delivered and recorded once, a second pass sends nothing, and a delivery that keeps
failing is retried, then recorded as failed."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.store.root import open_ledger
from tests.alert_receivers import (
    apply,
    complaint_cmds,
    smtp_server,
    staff_with_addresses,
    webhook_server,
)
from tests.helpers import run

RECEIVED = datetime.fromisoformat("2026-09-24T16:00:00+08:00")
AT_RISK = "2026-09-24T16:50:00+08:00"  # 50 minutes into the 1-hour intake clock
OVERDUE = "2026-09-24T17:30:00+08:00"


@pytest.fixture
def staffed(ledger_url: str) -> str:
    staff_with_addresses(ledger_url)
    apply(ledger_url, complaint_cmds("TS-A1", RECEIVED))
    return ledger_url


def alerts_run(url: str, *args: str) -> Any:
    result = run(url, "alerts", "run", "--format", "json", "--backoff", "0", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def alert_events(url: str, ref: str) -> list[dict[str, Any]]:
    with open_ledger(url) as ledger:
        events = ledger.complaint_events(ref)
    return [
        {"event": type(e).__name__, **{k: getattr(e, k) for k in
         ("rule", "clock", "recipient", "channel", "attempts")},
         "actor": e.actor.id, "role": str(e.actor.role)}  # type: ignore[attr-defined]
        for e in events
        if type(e).__name__ in ("AlertSent", "AlertFailed")
    ]  # fmt: skip


def test_a_pass_mails_the_handler_and_unit_of_a_clock_at_risk_and_a_second_sends_none(
    staffed: str,
) -> None:
    with smtp_server() as smtp:
        first = alerts_run(staffed, "--as-of", AT_RISK, "--smtp", f"127.0.0.1:{smtp.port}",
                           "--mail-from", "ledger@example.com")  # fmt: skip
        second = alerts_run(staffed, "--as-of", AT_RISK, "--smtp", f"127.0.0.1:{smtp.port}",
                            "--mail-from", "ledger@example.com")  # fmt: skip

    assert (first["sent"], first["failed"]) == (2, 0)
    assert (second["sent"], second["failed"]) == (0, 0)
    assert sorted(m.to[0] for m in smtp.mails) == ["wang@example.com", "zhou@example.com"]
    mail = smtp.mails[0]
    assert mail.mail_from == "ledger@example.com"
    assert mail.message["Subject"] == (
        "[complaint-ledger] TS-A1: intake deadline at risk / TS-A1：intake 时限即将到期"
    )
    assert "到期 / due: 2026-09-24T17:00+08:00" in mail.message.get_content()  # type: ignore[attr-defined]
    assert alert_events(staffed, "TS-A1") == [
        {"event": "AlertSent", "rule": "clock-at-risk", "clock": "intake", "recipient": who,
         "channel": "email", "attempts": 1, "actor": "alerts", "role": "operator"}
        for who in ("wang", "zhou")
    ]  # fmt: skip


def test_an_overdue_clock_tells_the_leadership_group_too_and_an_escalation_tells_it_once(
    staffed: str,
) -> None:
    escalated = run(staffed, "escalate", "TS-A1", "--reason", "媒体关注", "--actor", "wang",
                    "--role", "handling_team", "--occurred-at",
                    "2026-09-24T17:10:00+08:00")  # fmt: skip
    assert escalated.exit_code == 0, escalated.output

    with smtp_server() as smtp:
        report = alerts_run(staffed, "--as-of", OVERDUE, "--smtp", f"127.0.0.1:{smtp.port}",
                            "--mail-from", "ledger@example.com")  # fmt: skip

    assert report["sent"] == 4
    told = sorted((m.message["X-Complaint-Ref"], m.to[0], m.message["Subject"]) for m in smtp.mails)
    assert [(to, "overdue" in s, "escalated" in s) for _, to, s in told] == [
        ("chen@example.com", False, True),
        ("chen@example.com", True, False),
        ("wang@example.com", True, False),
        ("zhou@example.com", True, False),
    ]
    assert {e["clock"] for e in alert_events(staffed, "TS-A1")} == {"intake", "escalated@3"}


def test_alerts_show_in_history_and_audit(staffed: str) -> None:
    with smtp_server() as smtp:
        alerts_run(staffed, "--as-of", AT_RISK, "--smtp", f"127.0.0.1:{smtp.port}",
                   "--mail-from", "ledger@example.com")  # fmt: skip

    history = run(staffed, "history", "TS-A1", "--format", "json")
    audit = run(staffed, "audit", "TS-A1", "--format", "json")

    assert history.exit_code == 0, history.output
    assert [e["event"] for e in json.loads(history.stdout)["events"]].count("AlertSent") == 2
    assert audit.exit_code == 0, audit.output
    summaries = [row["summary_en"] for row in json.loads(audit.stdout)]
    assert "Alert clock-at-risk (intake) sent to wang by email: wang@example.com" in summaries


@pytest.mark.parametrize("fmt", ["wecom", "dingtalk", "plain"])
def test_a_webhook_gets_one_post_per_rule_and_clock_in_its_format(staffed: str, fmt: str) -> None:
    with webhook_server() as hook:
        first = alerts_run(staffed, "--as-of", AT_RISK, "--webhook", hook.url + "?key=SECRET",
                           "--webhook-format", fmt)  # fmt: skip
        second = alerts_run(staffed, "--as-of", AT_RISK, "--webhook", hook.url + "?key=SECRET",
                            "--webhook-format", fmt)  # fmt: skip

    assert (first["sent"], second["sent"]) == (1, 0)
    [post] = hook.posts
    assert post.path == "/hook?key=SECRET"
    body = post.body
    if fmt == "wecom":
        assert body["msgtype"] == "text"
        assert body["text"]["mentioned_list"] == ["wang", "zhou"]
        assert body["text"]["content"].startswith("TS-A1：intake 时限即将到期\n")
    elif fmt == "dingtalk":
        assert body["msgtype"] == "text"
        assert body["at"] == {"atUserIds": ["wang", "zhou"], "isAtAll": False}
        assert "TS-A1: intake deadline at risk" in body["text"]["content"]
    else:
        assert {k: body[k] for k in ("ref", "rule", "clock", "status", "recipients")} == {
            "ref": "TS-A1", "rule": "clock-at-risk", "clock": "intake", "status": "at_risk",
            "recipients": ["wang", "zhou"],
        }  # fmt: skip
    [event] = alert_events(staffed, "TS-A1")
    assert (event["recipient"], event["channel"]) == ("webhook", "webhook")
    with open_ledger(staffed) as ledger:
        [sent] = [e for e in ledger.complaint_events("TS-A1") if type(e).__name__ == "AlertSent"]
    assert sent.address == hook.url  # type: ignore[attr-defined]  # the robot's key is not kept


def test_a_receiver_that_keeps_failing_is_tried_three_times_then_recorded_failed(
    staffed: str,
) -> None:
    with webhook_server(status=500) as hook:
        report = alerts_run(staffed, "--as-of", AT_RISK, "--webhook", hook.url)
        again = alerts_run(staffed, "--as-of", AT_RISK, "--webhook", hook.url)

    assert (report["sent"], report["failed"]) == (0, 1)
    assert (again["sent"], again["failed"]) == (0, 0)
    assert hook.requests == 3  # the second pass tries no more
    events = alert_events(staffed, "TS-A1")
    # Each try reached the receiver with the whole message, which it refused: recorded as
    # sent at the first try's commit point, then as failed after the last.
    assert [(e["event"], e["attempts"]) for e in events] == [("AlertSent", 1), ("AlertFailed", 3)]


def test_an_smtp_server_refusing_the_recipient_leaves_only_the_failure_recorded(
    staffed: str,
) -> None:
    with smtp_server(refuse_rcpt=True) as smtp:
        report = alerts_run(staffed, "--as-of", AT_RISK, "--smtp", f"127.0.0.1:{smtp.port}",
                            "--mail-from", "ledger@example.com", "--tries", "2")  # fmt: skip

    assert (report["sent"], report["failed"]) == (0, 2)
    assert smtp.rcpt_attempts == 4
    assert smtp.mails == []
    events = alert_events(staffed, "TS-A1")
    assert [(e["event"], e["recipient"], e["attempts"]) for e in events] == [
        ("AlertFailed", "wang", 2),
        ("AlertFailed", "zhou", 2),
    ]
    with open_ledger(staffed) as ledger:
        failed = [e for e in ledger.complaint_events("TS-A1") if type(e).__name__ == "AlertFailed"]
    assert "550 RCPT TO: no such user here" in failed[0].error  # type: ignore[attr-defined]


def test_a_receiver_that_is_not_there_is_recorded_failed_without_a_sent_record(
    staffed: str,
) -> None:
    with webhook_server() as hook:
        url = hook.url  # closed when the block ends: nothing listens there any more

    report = alerts_run(staffed, "--as-of", AT_RISK, "--webhook", url)

    assert (report["sent"], report["failed"]) == (0, 1)
    assert [e["event"] for e in alert_events(staffed, "TS-A1")] == ["AlertFailed"]


def test_a_policy_without_alert_rules_sends_nothing(ledger_url: str, tmp_path: Any) -> None:
    staff_with_addresses(ledger_url)
    policy = tmp_path / "quiet.toml"
    example = (Path(__file__).parents[2] / "docs" / "policy-example.toml").read_text("utf-8")
    policy.write_text(example.split("\n# Alerts (docs/alerts.md)")[0].replace(
        "default-2026.1", "quiet-2026.1"), encoding="utf-8")  # fmt: skip
    published = run(ledger_url, "policy", "publish", str(policy), "--effective-from",
                    "2026-01-01T00:00:00+08:00", "--actor", "chen",
                    "--role", "leadership")  # fmt: skip
    assert published.exit_code == 0, published.output
    apply(ledger_url, complaint_cmds("TS-Q1", RECEIVED))

    with smtp_server() as smtp:
        report = alerts_run(ledger_url, "--as-of", OVERDUE, "--smtp", f"127.0.0.1:{smtp.port}",
                            "--mail-from", "ledger@example.com")  # fmt: skip

    assert report["sent"] == 0
    assert smtp.mails == []


def test_alerts_verify_and_export_into_commands_that_record_them_again(
    staffed: str, second_url: str, tmp_path: Path
) -> None:
    with smtp_server(refuse_rcpt=True) as refusing:
        alerts_run(staffed, "--as-of", AT_RISK, "--smtp", f"127.0.0.1:{refusing.port}",
                   "--mail-from", "ledger@example.com", "--tries", "1")  # fmt: skip
    with webhook_server() as hook:
        alerts_run(staffed, "--as-of", OVERDUE, "--webhook", hook.url)
    exported = tmp_path / "ledger.jsonl"

    verified = run(staffed, "verify", "--no-anchor")
    written = run(staffed, "export-commands", "--out", str(exported))
    applied = run(second_url, "apply", "--bulk", str(exported))

    assert verified.exit_code == 0, verified.output
    assert (written.exit_code, applied.exit_code) == (0, 0), applied.output
    commands = [json.loads(line) for line in exported.read_text("utf-8").splitlines()]
    assert [(c["outcome"], c["channel"]) for c in commands if c["command"] == "record_alert"] == [
        ("failed", "email"), ("failed", "email"), ("sent", "webhook"),
    ]  # fmt: skip
    assert alert_events(second_url, "TS-A1") == alert_events(staffed, "TS-A1")


# A test server on 127.0.0.1 takes the login in plain text (STARTTLS needs a certificate).
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_an_smtp_server_requiring_a_login_takes_the_password_from_the_environment(
    staffed: str,
) -> None:
    with smtp_server(login=("ledger", "s3cret")) as smtp:
        anonymous = alerts_run(staffed, "--as-of", AT_RISK, "--smtp", f"127.0.0.1:{smtp.port}",
                               "--mail-from", "ledger@example.com", "--tries", "1")  # fmt: skip
        apply(staffed, complaint_cmds("TS-A2", RECEIVED))
        right = run(staffed, "alerts", "run", "--format", "json", "--as-of", AT_RISK,
                    "--smtp", f"127.0.0.1:{smtp.port}", "--mail-from", "ledger@example.com",
                    "--smtp-user", "ledger", env={"LEDGER_SMTP_PASSWORD": "s3cret"})  # fmt: skip

    assert anonymous["failed"] == 2
    assert json.loads(right.stdout)["sent"] == 2
    assert sorted(m.message["X-Complaint-Ref"] for m in smtp.mails) == ["TS-A2", "TS-A2"]
    with open_ledger(staffed) as ledger:
        errors = [str(e.error) for e in ledger.complaint_events("TS-A1")  # type: ignore[attr-defined]
                  if type(e).__name__ == "AlertFailed"]  # fmt: skip
    assert "530" in errors[0]  # authentication required


def test_a_following_alerter_judges_again_only_open_complaints_and_those_with_new_events(
    staffed: str,
) -> None:
    from consumers.alerts.alerter import Alerter, AlertSettings
    from tests.helpers import life_cmds

    apply(staffed, life_cmds("TS-W2", until="close"))
    closed = complaint_id("TS-W2")

    with webhook_server() as hook, open_ledger(staffed) as ledger:
        alerter = Alerter(ledger, AlertSettings(webhook=hook.url, backoff=0), watch=True)
        assert alerter.watch is not None
        alerter.run_pass()
        after_first = set(alerter.watch.kept)
        noted = run(staffed, "add-note", "TS-W2", "--text", "归档", "--actor", "li",
                    "--role", "customer_service")  # fmt: skip
        unread: list[str] = []
        judged = [c.ref for batch in alerter.watch.complaints(unread.append) for c in batch]

    assert noted.exit_code == 0, noted.output
    assert after_first == {complaint_id("TS-A1")}  # open; TS-W2 is closed and quiet
    assert sorted(judged) == ["TS-A1", "TS-W2"]  # TS-W2 has a new event
    assert closed in alerter.watch.kept  # until a pass has judged it
    assert unread == []


def complaint_id(ref: str) -> Any:
    from ledger.domain.values import reference_id

    return reference_id(ref)


def test_a_group_robot_refusing_with_an_errcode_is_a_failed_try(staffed: str) -> None:
    refusal = {"errcode": 93000, "errmsg": "invalid webhook url"}

    with webhook_server(answer=refusal) as hook:
        report = alerts_run(staffed, "--as-of", AT_RISK, "--webhook", hook.url,
                            "--webhook-format", "wecom", "--tries", "2")  # fmt: skip

    assert (report["sent"], report["failed"], hook.requests) == (0, 1, 2)
    with open_ledger(staffed) as ledger:
        [failed] = [
            e for e in ledger.complaint_events("TS-A1") if type(e).__name__ == "AlertFailed"
        ]
    assert failed.error.startswith("webhook answered errcode 93000: ")  # type: ignore[attr-defined]


def change_second_event(url: str, ref: str) -> None:
    """The complaint's second stored event (its assignment) made one this version cannot
    read: its state lacks every field."""
    from tests.audit_helpers import superuser

    with superuser(url) as su:
        position = su.position_of(ref, 2)
        su.sql(f"UPDATE {su.events} SET state = ? WHERE {su.pos} = ?", b'{"x": 1}', position)


def test_a_complaint_that_cannot_be_read_does_not_stop_the_others_alerts(staffed: str) -> None:
    apply(staffed, complaint_cmds("TS-A0", RECEIVED))  # judged before TS-A1, in its chunk
    change_second_event(staffed, "TS-A0")

    with webhook_server() as hook:
        result = run(staffed, "alerts", "run", "--format", "json", "--backoff", "0",
                     "--as-of", AT_RISK, "--webhook", hook.url)  # fmt: skip

    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert (report["sent"], report["unreadable"]) == (1, 1)
    assert [post.body["ref"] for post in hook.posts] == ["TS-A1"]
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: not judged: the stored event at position 2 of complaint "
                           "TS-A0 cannot be read by this version (state lacks "), line  # fmt: skip
    assert "Traceback" not in result.output
    assert [e["event"] for e in alert_events(staffed, "TS-A1")] == ["AlertSent"]


def test_a_following_alerter_says_once_that_a_complaint_cannot_be_read_and_judges_the_rest(
    staffed: str,
) -> None:
    from consumers.alerts.alerter import Alerter, AlertSettings

    apply(staffed, complaint_cmds("TS-A0", RECEIVED))
    change_second_event(staffed, "TS-A0")

    with webhook_server() as hook, open_ledger(staffed) as ledger:
        alerter = Alerter(ledger, AlertSettings(webhook=hook.url, backoff=0), watch=True)
        first = alerter.run_pass(datetime.fromisoformat(AT_RISK))
        second = alerter.run_pass(datetime.fromisoformat(AT_RISK))

    assert len(first.sent) == 1
    [said] = first.unreadable
    assert said.startswith("the stored event at position 2 of stream "), said
    assert "cannot be read by this version (state lacks " in said
    assert second.unreadable == []  # left out until an event is appended to it
    assert [post.body["ref"] for post in hook.posts] == ["TS-A1"]
