"""The escalation loop and accountability (issue 15) through the command line and JSON
Lines, on SQLite and PostgreSQL: who an escalation goes to, the acknowledgement clock,
instructions, sign-off before an urgent closure, accountability per staff member and team,
breaches per handler, team, collector and agency; refusals append nothing."""

from __future__ import annotations

import json
from typing import Any

from ledger.store.root import open_ledger
from tests.e2e.http_server import TEST_LOGIN
from tests.helpers import actor, event_count, jsonl, life_cmds, ok, refused, run

CS = ["--actor", "li", "--role", "customer_service"]
TEAM = ["--actor", "wang", "--role", "handling_team"]
LEAD = ["--actor", "chen", "--role", "leadership"]


def at(moment: str) -> list[str]:
    return ["--occurred-at", f"2026-09-{moment}:00+08:00"]


def clocks(url: str, ref: str, as_of: str) -> dict[str, dict[str, Any]]:
    shown = json.loads(ok(url, "sla", ref, "--as-of", as_of, "--format", "json"))
    return {c["clock"]: c for c in shown}


def urgent_case(url: str, ref: str, escalate_to: str = "leadership_group") -> None:
    """Received 16:00, triaged urgent at 16:40 and escalated to ``escalate_to``."""
    ok(url, "receive", "--ref", ref, "--channel", "phone",
       "--received-at", "2026-09-24T16:00:00+08:00", "--content", "催收员威胁上门",
       "--category", "harassment", "--collector", "外包一部", "--agency", "信达催收外包一部",
       *at("24T16:10"), *CS)  # fmt: skip
    ok(url, "triage", ref, "--severity", "urgent", "--category", "harassment",
       "--assessment", "涉嫌暴力催收", "--escalate-to", escalate_to,
       *at("24T16:40"), *TEAM)  # fmt: skip
    ok(url, "assign", ref, "--handler", "zhao", "--team", "处置一组", *at("24T16:45"), *TEAM)


def resolve(url: str, ref: str) -> None:
    ok(url, "record-findings", ref, "--substantiated", "yes", "--findings", "录音证实",
       *at("25T10:00"), *TEAM)  # fmt: skip
    plan = {"command": "plan", "command_id": f"{ref}-plan", "ref": ref,
            "actor": actor("handling_team", "wang"), "remedies": [{"kind": "apology"}],
            "occurred_at": "2026-09-25T15:00:00+08:00"}  # fmt: skip
    assert run(url, "apply", "-", input=jsonl([plan])).exit_code == 0
    ok(url, "execute", ref, "--detail", "已致歉", *at("26T10:00"), *TEAM)
    ok(url, "notify-outcome", ref, "--channel", "phone", "--summary", "已告知", *at("26T11:00"),
       *TEAM)  # fmt: skip


CLOSE = ["--root-cause", "违规", "--improvement", "培训"]
LOOP_EVENTS = ("LeadershipInstructed", "SignedOff", "AccountabilityRecorded")


def sealed_fields(url: str, ref: str) -> dict[str, dict[str, Any]]:
    shown = json.loads(ok(url, "history", ref, "--format", "json"))
    return {e["event"]: e["fields"] for e in shown["events"] if e["event"] in LOOP_EVENTS}


def stored_text(url: str) -> str:
    """Every stored event's state, as text (both backends)."""
    with open_ledger(url) as ledger:
        return " ".join(
            bytes(n.state).decode("utf-8", "replace")
            for n in ledger.recorder.select_notifications(1, 10_000)
        )


def test_the_escalation_loop_from_triage_to_sign_off_and_accountability(ledger_url: str) -> None:
    url = ledger_url
    urgent_case(url, "TS-E1")

    waiting = clocks(url, "TS-E1", "2026-09-24T17:00:00+08:00")["acknowledgement"]
    assert waiting["due_at"] == "2026-09-24T09:40:00+00:00"  # an hour after the escalation
    assert waiting["status"] == "pending"
    ok(url, "acknowledge", "TS-E1", *at("24T17:10"), *LEAD)
    ok(url, "instruct", "TS-E1", "--text", "24小时内上报进展", *at("24T17:20"), *LEAD)
    acknowledged = clocks(url, "TS-E1", "2026-09-25T00:00:00+08:00")["acknowledgement"]
    assert acknowledged["status"] == "met"
    assert acknowledged["met_at"] == "2026-09-24T09:10:00+00:00"

    resolve(url, "TS-E1")
    message = refused(url, "close", "TS-E1", *CLOSE, *at("27T09:00"), *TEAM)
    assert message == (
        "Error: TS-E1 is urgent: the leadership group must be reported the result and sign it "
        "off (sign-off) before it can be closed"
    )
    ok(url, "sign-off", "TS-E1", "--text", "同意办结", *at("26T15:00"), *LEAD)
    closed = ok(url, "close", "TS-E1", *CLOSE, *at("27T09:00"), *TEAM)
    assert "Closed" in closed
    ok(url, "accountability", "record", "TS-E1", "--staff", "zhao", "--finding", "未按时回访",
       "--decision", "通报批评", *at("28T10:00"), *LEAD)  # fmt: skip

    shown = json.loads(ok(url, "show", "TS-E1", "--format", "json"))
    kinds = [e["event"] for e in shown["history"]]
    case = shown
    assert (case["escalated_to"], case["awaiting_acknowledgement"], case["instructions"]) == (
        "leadership_group",
        False,
        1,
    )
    assert case["signed_off_at"] == "2026-09-26T15:00:00+08:00"
    assert (case["agency"], case["accountability_records"]) == ("信达催收外包一部", 1)
    assert kinds[:4] == ["Received", "AgencyNamed", "Triaged", "Escalated"]
    assert {"EscalationAddressed", "EscalationAcknowledged", "LeadershipInstructed",
            "SignedOff", "AccountabilityRecorded"} <= set(kinds)  # fmt: skip
    listed = json.loads(ok(url, "accountability", "list", "--staff", "zhao", "--format", "json"))
    assert [(r["ref"], r["staff"], r["team"], r["by"]) for r in listed] == [
        ("TS-E1", "zhao", "处置一组", "chen")
    ]
    # The free text is sealed under the complaint's key: history opens it, erasure ends it.
    assert sealed_fields(url, "TS-E1") == {
        "LeadershipInstructed": {"text": "24小时内上报进展"},
        "SignedOff": {"text": "同意办结"},
        "AccountabilityRecorded": {"staff": "zhao", "team": "处置一组",
                                   "finding": "未按时回访", "decision": "通报批评"},
    }  # fmt: skip
    stored = stored_text(url)
    assert "处置一组" in stored  # the team is plain ...
    assert "未按时回访" not in stored  # ... the finding is not
    ok(url, "erase", "TS-E1", "--reason", "保存期满", *LEAD)
    assert sealed_fields(url, "TS-E1")["AccountabilityRecorded"]["finding"] == "[erased]"
    assert sealed_fields(url, "TS-E1")["SignedOff"] == {"text": "[erased]"}
    by_team = json.loads(
        ok(url, "accountability", "list", "--team", "处置一组", "--format", "json")
    )
    assert by_team == listed
    assert (
        json.loads(ok(url, "accountability", "list", "--team", "处置二组", "--format", "json"))
        == []
    )


def test_an_unacknowledged_escalation_is_overdue_in_the_sla_report(ledger_url: str) -> None:
    url = ledger_url
    urgent_case(url, "TS-E2")
    urgent_case(url, "TS-E3")
    ok(url, "acknowledge", "TS-E3", *at("24T18:30"), *LEAD)  # 50 minutes late

    report = json.loads(ok(url, "report", "sla", "--as-of", "2026-09-24T19:00:00+08:00",
                           "--format", "json"))  # fmt: skip
    late = {(i["ref"], i["clock"]): i for i in report["items"]}
    assert late[("TS-E2", "acknowledgement")]["status"] == "overdue"
    assert late[("TS-E3", "acknowledgement")]["status"] == "breached"
    assert late[("TS-E3", "acknowledgement")]["late_by_seconds"] == 50 * 60
    table = ok(url, "sla", "TS-E2", "--as-of", "2026-09-24T19:00:00+08:00")
    assert "acknowledgement" in table

    for by, key in (("handler", "zhao"), ("team", "处置一组"), ("collector", "外包一部"),
                    ("agency", "信达催收外包一部")):  # fmt: skip
        rows = json.loads(ok(url, "accountability", "breaches", "--by", by, "--format", "json"))
        row = next(r for r in rows if r[by] == key)
        assert row["complaints"] == 2
        assert row["breached"] >= 1  # TS-E3's late acknowledgement
        assert row["breached"] + row["overdue"] >= 2  # and TS-E2's, still open


def test_public_attention_at_receipt_escalates_at_once(ledger_url: str) -> None:
    url = ledger_url
    out = ok(url, "receive", "--ref", "TS-P1", "--channel", "phone",
             "--received-at", "2026-09-24T16:00:00+08:00", "--content", "客户称将向媒体曝光",
             "--category", "harassment", "--public-attention", *at("24T16:05"), *CS)  # fmt: skip
    assert "Received, Escalated, EscalationAddressed" in out
    ack = clocks(url, "TS-P1", "2026-09-24T16:30:00+08:00")["acknowledgement"]
    assert ack["due_at"] == "2026-09-24T09:05:00+00:00"
    audit = ok(url, "audit", "TS-P1")
    assert "leadership_group" in audit
    assert "public attention" in audit


def test_refusals_give_one_error_line_and_append_nothing(ledger_url: str) -> None:
    url = ledger_url
    ok(url, "receive", "--ref", "TS-R1", "--channel", "phone",
       "--received-at", "2026-09-24T16:00:00+08:00", "--content", "催收电话频繁",
       "--category", "harassment", *at("24T16:10"), *CS)  # fmt: skip
    assert refused(url, "acknowledge", "TS-R1", *LEAD) == (
        "Error: TS-R1 has not been escalated; there is nothing to acknowledge"
    )
    assert refused(url, "instruct", "TS-R1", "--text", "x", *LEAD) == (
        "Error: TS-R1 has not been escalated; instructions are given on escalated cases"
    )
    assert refused(url, "sign-off", "TS-R1", "--text", "x", *LEAD) == (
        "Error: TS-R1: the resolution has not been executed; there is no result to sign off"
    )
    assert refused(url, "acknowledge", "TS-R1", *TEAM) == (
        "Error: role handling_team may not acknowledge; allowed: leadership"
    )
    assert refused(url, "accountability", "record", "TS-R1", "--staff", "zhao", "--finding",
                   "x", "--decision", "y", *TEAM) == (
        "Error: role handling_team may not record-accountability; allowed: leadership"
    )  # fmt: skip
    assert refused(url, "acknowledge", "TS-NOPE", *LEAD) == (
        "Error: no complaint has reference 'TS-NOPE'"
    )
    ok(url, "escalate", "TS-R1", "--reason", "媒体关注", "--to", "leadership_group", *TEAM)
    ok(url, "acknowledge", "TS-R1", *LEAD)
    assert refused(url, "acknowledge", "TS-R1", *LEAD) == (
        "Error: TS-R1: every escalation has already been acknowledged"
    )
    assert refused(
        url, "receive", "--channel", "phone", "--received-at", "2026-09-24T16:00:00+08:00",
        "--content", "x", "--category", "harassment", "--escalate-to", "office", *CS,
    ).startswith("Error: ")  # fmt: skip


def test_an_escalation_goes_to_a_unit_or_a_member_of_the_directory(ledger_url: str) -> None:
    url = ledger_url
    if url.startswith("postgresql"):  # the tests' login acts for the members
        ok(url, "staff", "allow-login", TEST_LOGIN, *LEAD)
    ok(url, "staff", "add", "chen", "--name", "陈", "--unit", "leadership_group",
       "--grant", "leadership", "--from", "2026-01-01T00:00:00+08:00", *LEAD)  # fmt: skip
    ok(url, "staff", "add", "wang", "--name", "王", "--unit", "handling_group",
       "--grant", "handling_team", "--from", "2026-01-01T00:00:00+08:00", *LEAD)  # fmt: skip
    ok(url, "receive", "--ref", "TS-D1", "--channel", "phone",
       "--received-at", "2026-09-24T16:00:00+08:00", "--content", "催收电话频繁",
       "--category", "harassment", *at("24T16:10"), *LEAD)  # fmt: skip
    assert refused(url, "escalate", "TS-D1", "--reason", "x", "--to", "nobody", *TEAM) == (
        "Error: an escalation goes to a unit (leadership_group, handling_group, office, "
        "customer_service, business_department) or a member of staff; 'nobody' is neither"
    )
    ok(url, "escalate", "TS-D1", "--reason", "x", "--to", "chen", *TEAM)
    assert refused(url, "accountability", "record", "TS-D1", "--staff", "nobody",
                   "--finding", "x", "--decision", "y", *LEAD) == (
        "Error: staff: 'nobody' is not in the staff directory"
    )  # fmt: skip
    ok(url, "accountability", "record", "TS-D1", "--staff", "wang", "--finding", "x",
       "--decision", "y", *LEAD)  # fmt: skip
    listed = json.loads(ok(url, "accountability", "list", "--format", "json"))
    assert [(r["staff"], r["team"]) for r in listed] == [("wang", "handling_group")]


def test_the_loop_through_json_lines_and_back_through_export_commands(
    ledger_url: str, second_url: str
) -> None:
    lead = actor("leadership", "chen")
    steps = life_cmds("TS-J1", "notify_outcome")
    steps[0].update(public_attention=True, escalate_to="leadership_group", agency="华融委外团队")
    steps[1].update(severity="major")
    steps[2:2] = [
        {"command": "acknowledge", "command_id": "j-ack", "ref": "TS-J1", "actor": lead,
         "occurred_at": "2026-09-24T16:50:00+08:00"},
        {"command": "instruct", "command_id": "j-ins", "ref": "TS-J1", "actor": lead,
         "text": "立即核查", "occurred_at": "2026-09-24T16:55:00+08:00"},
    ]  # fmt: skip
    close = {"command": "close", "command_id": "j-close", "ref": "TS-J1",
             "actor": actor("handling_team", "wang"), "root_cause": "违规", "improvement": "培训",
             "occurred_at": "2026-09-29T09:00:00+08:00"}  # fmt: skip
    applied = run(ledger_url, "apply", "-", input=jsonl([*steps, close]))
    assert applied.exit_code == 1
    assert "sign it off" in applied.output
    sign_off = {"command": "sign_off", "command_id": "j-sign", "ref": "TS-J1", "actor": lead,
                "text": "同意办结", "occurred_at": "2026-09-28T15:00:00+08:00"}  # fmt: skip
    record = {"command": "record_accountability", "command_id": "j-acc", "ref": "TS-J1",
              "actor": lead, "staff": "zhao", "finding": "x", "decision": "y",
              "occurred_at": "2026-09-30T09:00:00+08:00"}  # fmt: skip
    applied = run(ledger_url, "apply", "-", input=jsonl([*steps, sign_off, close, record]))
    assert applied.exit_code == 0, applied.output

    exported = ok(ledger_url, "export-commands")
    commands = [json.loads(line) for line in exported.splitlines()]
    receive = next(c for c in commands if c["command"] == "receive")
    assert receive["public_attention"] is True
    assert receive["escalate_to"] == "leadership_group"
    assert receive["agency"] == "华融委外团队"
    names = [c["command"] for c in commands]
    assert {"acknowledge", "instruct", "sign_off", "record_accountability"} <= set(names)
    again = run(second_url, "apply", "-", input=exported)
    assert again.exit_code == 0, again.output
    assert event_count(second_url) == event_count(ledger_url)
    assert clocks(second_url, "TS-J1", "2026-09-30T00:00:00+08:00") == clocks(
        ledger_url, "TS-J1", "2026-09-30T00:00:00+08:00"
    )
