"""Alert rules in the policy (ledger.domain.alerting) and the alerts they make due
(consumers.alerts.due): pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consumers.alerts.channels import parse_host_port
from consumers.alerts.due import Channels, audience, due_alerts
from consumers.alerts.messages import webhook_payload
from ledger.domain.alerting import DEFAULT_ALERTS, AlertRule
from ledger.domain.complaint import Complaint
from ledger.domain.errors import PolicyInvalid
from ledger.domain.policy import DEFAULT_POLICY, parse_policy, policy_from_dict, policy_to_dict
from ledger.domain.rulebook import Rulebook
from ledger.domain.sealed import SealedComplainant
from ledger.domain.staff import StaffDirectory
from ledger.domain.values import Actor, Channel, ClockName, Role, Stamp, Unit

EXAMPLE = (Path(__file__).parents[2] / "docs" / "policy-example.toml").read_text("utf-8")
RECEIVED = datetime(2026, 9, 24, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 30, tzinfo=UTC)
BOTH = Channels(email=True, webhook="https://robot.example.com/send")


def stamp(minutes: float, who: str = "li", role: Role = Role.CUSTOMER_SERVICE) -> Stamp:
    return Stamp(Actor(who, role), RECEIVED + timedelta(minutes=minutes), f"c{minutes}")


def complaint(channel: Channel = Channel.PHONE, handler: str | None = "wang") -> Complaint:
    case = Complaint.receive(
        ref="TS-1", stamp=stamp(0), now=NOW, channel=channel, received_at=RECEIVED,
        complainant=SealedComplainant("k", b"", b""), person_key=None,
        account_ref=None, collector=None, content="x", category="x", tags=(),
        referral_number="R-1" if channel is Channel.REGULATOR_REFERRAL else None,
        policy_version=DEFAULT_POLICY.version,
    )  # fmt: skip
    if handler is not None:
        case.assign(stamp(5, "wang", Role.HANDLING_TEAM), NOW, handler, "处置一组")
    return case


def directory() -> StaffDirectory:
    staff = StaffDirectory()
    since = datetime(2026, 1, 1, tzinfo=UTC)
    members = [
        ("chen", Unit.OFFICE, Role.LEADERSHIP, "chen@example.com"),
        ("liu", Unit.LEADERSHIP_GROUP, Role.AUDITOR, None),
        ("wang", Unit.HANDLING_GROUP, Role.HANDLING_TEAM, "wang@example.com"),
        ("zhou", Unit.HANDLING_GROUP, Role.HANDLING_TEAM, "zhou@example.com"),
        ("li", Unit.CUSTOMER_SERVICE, Role.CUSTOMER_SERVICE, "li@example.com"),
    ]
    for n, (staff_id, unit, role, email) in enumerate(members):
        staff.add(
            Stamp(Actor("chen", Role.LEADERSHIP), since, f"s{n}"), staff_id=staff_id,
            name=staff_id, unit=unit, email=email, login=None, roles=(role,),
            effective_from=since,
        )  # fmt: skip
    return staff


def test_the_example_policy_document_holds_the_default_rules() -> None:
    policy = parse_policy(EXAMPLE, "toml")

    assert policy.alerts == DEFAULT_ALERTS == DEFAULT_POLICY.alerts
    assert [r.name for r in policy.alerts] == [
        "clock-at-risk", "clock-overdue", "escalated", "regulator-referral",
    ]  # fmt: skip
    assert policy_to_dict(policy)["alerts"]["clock-overdue"] == {
        "when": "overdue",
        "notify": ["handler", "unit", "leadership"],
    }


def test_a_copy_stored_before_alerts_existed_has_no_rules_and_keeps_its_shape() -> None:
    stored = policy_to_dict(DEFAULT_POLICY)
    del stored["alerts"]

    policy = policy_from_dict(stored)

    assert policy.alerts == ()
    assert "alerts" not in policy_to_dict(policy)


def test_rules_naming_clocks_round_trip() -> None:
    text = (
        EXAMPLE
        + '\n[alerts.intake-desk]\nwhen = "at_risk"\nclocks = ["intake"]\n'
        + ('notify = ["customer_service"]\n')
    )

    policy = parse_policy(text, "toml")

    rule = policy.alerts[-1]
    assert rule == AlertRule("intake-desk", "at_risk", ("customer_service",), (ClockName.INTAKE,))
    assert policy_from_dict(policy_to_dict(policy)) == policy


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('when = "late"\nnotify = ["handler"]', "alerts.x.when: Input should be 'at_risk'"),
        ('when = "overdue"\nnotify = []', "alerts.x.notify: List should have at least 1 item"),
        ('when = "overdue"\nnotify = ["boss"]', "alerts.x.notify.0: Input should be 'handler'"),
        ('when = "escalated"\nnotify = ["unit"]\nclocks = ["intake"]',
         "a rule on escalated concerns no clock; remove clocks"),
        ('when = "overdue"\nnotify = ["unit"]\nclocks = ["lunch"]',
         "alerts.x.clocks.0: Input should be 'intake'"),
        ('when = "overdue"\nnotify = ["unit"]\nchannel = "sms"',
         "alerts.x.channel: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_a_bad_alert_rule_is_refused_on_one_line_naming_it(table: str, message: str) -> None:
    with pytest.raises(PolicyInvalid) as refused:
        parse_policy(EXAMPLE + f"\n[alerts.x]\n{table}\n", "toml")

    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_rule_name_must_be_a_short_word() -> None:
    with pytest.raises(PolicyInvalid, match="alerts"):
        parse_policy(
            EXAMPLE + '\n[alerts."Bad Name"]\nwhen = "overdue"\nnotify = ["unit"]\n', "toml"
        )


def test_the_audiences_are_found_in_the_directory() -> None:
    case, staff = complaint(), directory()
    at = RECEIVED + timedelta(hours=2)

    def names(*notify: str) -> list[str]:
        return [m.id for m in audience(AlertRule("r", "overdue", notify), case, staff, at)]

    assert names("handler") == ["wang"]
    assert names("unit") == ["wang", "zhou"]
    assert names("leadership") == ["chen", "liu"]  # the role, and the unit
    assert names("customer_service", "handler") == ["li", "wang"]
    assert names("handler", "unit", "leadership") == ["wang", "zhou", "chen", "liu"]


def test_without_a_handler_only_the_leadership_group_hears_of_an_overdue_clock() -> None:
    case = complaint(handler=None)

    due = due_alerts([case], Rulebook(()), directory(), BOTH, RECEIVED + timedelta(hours=2))

    assert sorted((d.rule.name, d.clock, d.recipient, d.channel) for d in due) == [
        ("clock-overdue", "intake", "chen", "email"),
        ("clock-overdue", "intake", "webhook", "webhook"),
    ]  # liu has no address


def test_a_clock_at_risk_then_overdue_makes_each_alert_due_once_per_recipient() -> None:
    case, staff = complaint(), directory()
    email = Channels(email=True, webhook=None)

    at_risk = due_alerts([case], Rulebook(()), staff, email, RECEIVED + timedelta(minutes=50))
    pending = due_alerts([case], Rulebook(()), staff, email, RECEIVED + timedelta(minutes=30))

    assert [(d.rule.name, d.recipient) for d in at_risk] == [
        ("clock-at-risk", "wang"),
        ("clock-at-risk", "zhou"),
    ]
    assert pending == []
    assert len({d.command_id for d in at_risk}) == 2


def test_a_referral_and_an_escalation_are_told_within_the_horizon_only() -> None:
    case = complaint(Channel.REGULATOR_REFERRAL)
    case.escalate(stamp(10, "wang", Role.HANDLING_TEAM), NOW, "媒体关注")
    soon, late = RECEIVED + timedelta(minutes=20), RECEIVED + timedelta(days=4)
    email = Channels(email=True, webhook=None)

    found = due_alerts([case], Rulebook(()), directory(), email, soon)
    stale = due_alerts([case], Rulebook(()), directory(), email, late)

    assert sorted((d.rule.name, d.clock, d.recipient) for d in found) == [
        ("escalated", "escalated@3", "chen"),
        ("regulator-referral", "regulator_referral", "chen"),
    ]
    assert {d.rule.name for d in stale} == {"clock-overdue"}  # the intake clock, still open


def test_the_command_id_is_the_same_for_the_same_alert_whoever_computes_it() -> None:
    case, staff = complaint(), directory()
    at = RECEIVED + timedelta(minutes=50)

    first = due_alerts([case], Rulebook(()), staff, BOTH, at)
    again = due_alerts([complaint()], Rulebook(()), directory(), BOTH, at + timedelta(minutes=5))

    assert [d.command_id for d in first] == [d.command_id for d in again]
    assert all(d.command_id.startswith("alert-") and len(d.command_id) == 46 for d in first)


def test_the_group_robot_formats() -> None:
    [due] = [
        d
        for d in due_alerts(
            [complaint()], Rulebook(()), directory(), BOTH, RECEIVED + timedelta(minutes=50)
        )
        if d.channel == "webhook"
    ]

    wecom = webhook_payload(due, "wecom")
    dingtalk = webhook_payload(due, "dingtalk")

    assert wecom == {
        "msgtype": "text",
        "text": {
            "content": "TS-1：intake 时限即将到期\nTS-1: intake deadline at risk\n"
            "到期 / due: 2026-09-24T17:00+08:00 (Asia/Shanghai)\n"
            "规则 / rule: clock-at-risk\n通知 / to: wang, zhou",
            "mentioned_list": ["wang", "zhou"],
        },
    }
    assert dingtalk == {
        "msgtype": "text",
        "text": {"content": wecom["text"]["content"]},
        "at": {"atUserIds": ["wang", "zhou"], "isAtAll": False},
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [("mail.example.com:587", ("mail.example.com", 587)), ("[::1]:25", ("::1", 25))],
)
def test_an_smtp_server_is_host_and_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text) == expected


@pytest.mark.parametrize("text", ["mail.example.com", "mail:0", "mail:70000", ":25"])
def test_an_smtp_server_without_a_port_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="--smtp must be HOST:PORT"):
        parse_host_port(text)
