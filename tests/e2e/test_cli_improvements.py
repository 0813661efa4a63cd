"""Improvement measures (溯源整改, issue 15) through the command line and JSON Lines, on SQLite
and PostgreSQL: each measure's own clock (``improvement:<id>``) in ``sla`` and ``report sla``
(met, breached, overdue; ``--known-at``), the case read model's counts, ``show``, sealed
text, the owner's and leadership's right to mark one done; refusals append nothing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from tests.e2e.http_server import TEST_LOGIN
from tests.e2e.test_cli_escalation import clocks, ok, refused, stored_text
from tests.helpers import actor, event_count, jsonl, life_cmds, run

TEAM = ["--actor", "wang", "--role", "handling_team"]
LI = ["--actor", "li", "--role", "customer_service"]
LEAD = ["--actor", "chen", "--role", "leadership"]


def at(moment: str) -> list[str]:
    return ["--occurred-at", f"2026-{moment}:00+08:00"]


def closed_case(url: str, ref: str) -> None:
    """Received 24 September 16:00, closed on the 29th (tests.helpers.life_cmds)."""
    applied = run(url, "apply", "-", input=jsonl(life_cmds(ref)))
    assert applied.exit_code == 0, applied.output


def add(url: str, ref: str, action: str, owner: str, due: str, when: str) -> str:
    return ok(url, "improvement", "add", ref, "--action", action, "--owner", owner, "--due", due,
              *at(when), *TEAM)  # fmt: skip


def test_each_measure_has_its_own_clock_met_breached_or_overdue(ledger_url: str) -> None:
    url = ledger_url
    closed_case(url, "TS-I1")
    assert "ImprovementAdded" in add(url, "TS-I1", "修订夜间外呼规则（张三）", "wang",
                                     "2026-10-10", "09-30T10")  # fmt: skip
    add(url, "TS-I1", "外包机构合规培训", "wang", "2026-10-08T18:00:00+08:00", "09-30T10")
    add(url, "TS-I1", "录音抽检", "li", "2026-10-12", "09-30T11")
    ok(url, "improvement", "done", "TS-I1", "1", "--text", "规则已上线", *at("10-09T15"), *TEAM)
    ok(url, "improvement", "done", "TS-I1", "2", *at("10-09T18"), *LEAD)  # a day late

    judged = clocks(url, "TS-I1", "2026-10-15T00:00:00+08:00")
    assert judged["improvement:1"]["status"] == "met"
    assert judged["improvement:1"]["due_at"] == "2026-10-10T16:00:00+00:00"  # end of the 10th
    assert (judged["improvement:2"]["status"], judged["improvement:2"]["late_by_seconds"]) == (
        "breached",
        24 * 3600,
    )
    assert (judged["improvement:3"]["status"], judged["improvement:3"]["late_by_seconds"]) == (
        "overdue",
        2 * 24 * 3600,
    )
    assert "improvement:1" not in clocks(url, "TS-I1", "2026-09-30T09:00:00+08:00")
    table = ok(url, "sla", "TS-I1", "--as-of", "2026-10-15T00:00:00+08:00")
    assert "improvement:3  overdue   2026-10-12 23:59:59 +08:00" in table

    report = json.loads(ok(url, "report", "sla", "--as-of", "2026-10-15T00:00:00+08:00",
                           "--format", "json"))  # fmt: skip
    mine = {i["clock"]: i["status"] for i in report["items"] if i["ref"] == "TS-I1"}
    assert {k: v for k, v in mine.items() if k.startswith("improvement")} == {
        "improvement:2": "breached",
        "improvement:3": "overdue",
    }
    assert report["totals"]["clock"]["improvement"] == {
        "breached": 1,
        "overdue": 1,
        "at_risk": 0,
    }

    listed = json.loads(ok(url, "list", "--format", "json"))
    row = next(r for r in listed if r["ref"] == "TS-I1")
    assert (row["improvements"], row["improvements_open"]) == (3, 1)
    shown = json.loads(ok(url, "show", "TS-I1", "--format", "json"))
    assert [(i["id"], i["owner"], i["late"], i["done_by"]) for i in shown["improvements"]] == [
        ("1", "wang", False, "wang"),
        ("2", "wang", True, "chen"),
        ("3", "li", False, None),
    ]
    assert shown["improvements"][0]["action"] == "修订夜间外呼规则（张三）"
    assert shown["improvements"][0]["text"] == "规则已上线"
    text = ok(url, "show", "TS-I1")
    assert "improvement 3: 录音抽检 — owner li, due 2026-10-12 23:59:59 +08:00, open" in text
    assert "(late)" in text


def test_the_known_at_report_judges_a_measure_on_what_was_recorded_then(ledger_url: str) -> None:
    url = ledger_url
    closed_case(url, "TS-K1")
    add(url, "TS-K1", "修订话术", "wang", "2026-10-01", "09-30T10")
    between = datetime.now(UTC).isoformat()
    time.sleep(0.01)  # the done is recorded after ``between``
    ok(url, "improvement", "done", "TS-K1", "1", *at("10-01T12"), *TEAM)
    as_of = ["--as-of", "2026-10-05T00:00:00+08:00"]

    # Dated before its deadline but recorded long after it: met, as a late entry.
    judged = clocks(url, "TS-K1", "2026-10-05T00:00:00+08:00")["improvement:1"]
    assert (judged["status"], judged["recorded_after_due"]) == ("met", True)
    report = json.loads(ok(url, "report", "sla", *as_of, "--format", "json"))
    assert report["recorded_after_due"]["clock"].get("improvement") == 1
    assert not [i for i in report["items"] if i["clock"].startswith("improvement")]
    # What the ledger knew before the done was recorded: the measure open and overdue.
    known = json.loads(ok(url, "report", "sla", *as_of, "--known-at", between, "--format",
                          "json"))  # fmt: skip
    [item] = [i for i in known["items"] if i["clock"].startswith("improvement")]
    assert (item["ref"], item["clock"], item["status"]) == ("TS-K1", "improvement:1", "overdue")
    shown = json.loads(ok(url, "sla", "TS-K1", *as_of, "--known-at", between, "--format", "json"))
    assert next(c for c in shown if c["clock"] == "improvement:1")["status"] == "overdue"


def test_refusals_give_one_error_line_and_append_nothing(ledger_url: str) -> None:
    url = ledger_url
    closed_case(url, "TS-R1")
    assert refused(url, "improvement", "add", "TS-NOPE", "--action", "x", "--owner", "wang",
                   "--due", "2026-10-10", *TEAM) == (
        "Error: no complaint has reference 'TS-NOPE'"
    )  # fmt: skip
    assert refused(url, "improvement", "add", "TS-R1", "--action", "x", "--owner", "wang",
                   "--due", "2026-09-23", *TEAM) == (
        "Error: due 2026-09-23T16:00:00+00:00 is before the complaint was received "
        "(2026-09-24T08:00:00+00:00)"
    )  # fmt: skip
    assert refused(url, "improvement", "add", "TS-R1", "--action", "x", "--owner", "wang",
                   "--due", "9999-12-31", *TEAM) == (
        "Error: due: '9999-12-31' is after 2100-12-31 (Shanghai time), the latest time the "
        "ledger records"
    )  # fmt: skip
    assert refused(url, "improvement", "add", "TS-R1", "--action", "x", "--owner", "wang",
                   "--due", "2026-10-10", *LI) == (
        "Error: role customer_service may not add-improvement; allowed: handling_team, leadership"
    )  # fmt: skip
    assert refused(url, "improvement", "done", "TS-R1", "1", *TEAM) == (
        "Error: TS-R1 has no improvement '1' (its improvements: none)"
    )
    add(url, "TS-R1", "录音抽检", "li", "2026-10-12", "09-30T11")
    assert refused(url, "improvement", "done", "TS-R1", "2", *TEAM) == (
        "Error: TS-R1 has no improvement '2' (its improvements: 1)"
    )
    assert refused(url, "improvement", "done", "TS-R1", "1", *TEAM) == (
        "Error: improvement 1 of TS-R1 is owned by 'li': only its owner or the leadership "
        "group may mark it done, not 'wang'"
    )
    assert refused(url, "improvement", "done", "TS-R1", "1", *at("09-30T10"), *LI) == (
        "Error: occurred_at 2026-09-30T10:00:00+08:00 is before the improvement at "
        "2026-09-30T11:00:00+08:00 (event 9)"
    )
    assert refused(url, "improvement", "done", "TS-R1", "1", "--actor", "audit",
                   "--role", "auditor") == (
        "Error: role auditor may not complete-improvement; allowed: customer_service, "
        "handling_team, leadership, business_department"
    )  # fmt: skip
    ok(url, "improvement", "done", "TS-R1", "1", *at("10-01T09"), *LI)
    assert refused(url, "improvement", "done", "TS-R1", "1", *LEAD) == (
        "Error: improvement 1 of TS-R1 was already marked done at 2026-10-01T09:00:00+08:00"
    )

    withdrawn = [*life_cmds("TS-W1", "assign"),
                 {"command": "withdraw", "command_id": "w-1", "ref": "TS-W1",
                  "actor": actor("customer_service"), "reason": "撤回",
                  "occurred_at": "2026-09-25T09:00:00+08:00"}]  # fmt: skip
    assert run(url, "apply", "-", input=jsonl(withdrawn)).exit_code == 0
    assert refused(url, "improvement", "add", "TS-W1", "--action", "x", "--owner", "wang",
                   "--due", "2026-10-10", *TEAM) == (
        "Error: TS-W1 was withdrawn by the complainant; improvement add is not allowed"
    )  # fmt: skip


def test_the_owner_is_a_member_of_staff_once_the_directory_has_members(ledger_url: str) -> None:
    url = ledger_url
    if url.startswith("postgresql"):  # the tests' login acts for the members
        ok(url, "staff", "allow-login", TEST_LOGIN, *LEAD)
    ok(url, "staff", "add", "chen", "--name", "陈", "--unit", "leadership_group",
       "--grant", "leadership", "--from", "2026-01-01T00:00:00+08:00", *LEAD)  # fmt: skip
    ok(url, "staff", "add", "wang", "--name", "王", "--unit", "handling_group",
       "--grant", "handling_team", "--from", "2026-01-01T00:00:00+08:00", *LEAD)  # fmt: skip
    ok(url, "receive", "--ref", "TS-D1", "--channel", "phone",
       "--received-at", "2026-09-24T16:00:00+08:00", "--content", "催收电话频繁",
       "--category", "harassment", *at("09-24T16:10"), *LEAD)  # fmt: skip
    assert refused(url, "improvement", "add", "TS-D1", "--action", "x", "--owner", "nobody",
                   "--due", "2026-10-10", *TEAM) == (
        "Error: owner: 'nobody' is not in the staff directory"
    )  # fmt: skip
    add(url, "TS-D1", "培训", "wang", "2026-10-10", "09-30T10")
    ok(url, "improvement", "done", "TS-D1", "1", *at("10-01T10"), *TEAM)


def test_measures_through_json_lines_sealed_and_back_through_export_commands(
    ledger_url: str, second_url: str
) -> None:
    team = actor("handling_team", "wang")
    steps: list[dict[str, Any]] = [
        *life_cmds("TS-J1"),
        {"command": "add_improvement", "command_id": "j-add", "ref": "TS-J1", "actor": team,
         "action": "停用涉事外包机构（李四）", "owner": "wang", "due": "2026-10-05",
         "occurred_at": "2026-09-30T10:00:00+08:00"},
        {"command": "add_improvement", "command_id": "j-add2", "ref": "TS-J1", "actor": team,
         "action": "修订考核办法", "owner": "wang", "due": "2026-10-05T12:00:00+08:00",
         "occurred_at": "2026-09-30T10:05:00+08:00"},
        {"command": "complete_improvement", "command_id": "j-done", "ref": "TS-J1",
         "actor": team, "improvement_id": 2, "text": "已发文",
         "occurred_at": "2026-10-06T10:00:00+08:00"},
    ]  # fmt: skip
    applied = run(ledger_url, "apply", "-", input=jsonl(steps))
    assert applied.exit_code == 0, applied.output
    again = run(ledger_url, "apply", "-", input=jsonl(steps))  # idempotent by command id
    assert again.exit_code == 0, again.output
    judged = clocks(ledger_url, "TS-J1", "2026-10-07T00:00:00+08:00")
    assert (judged["improvement:1"]["status"], judged["improvement:2"]["status"]) == (
        "overdue",
        "breached",
    )
    stored = stored_text(ledger_url)
    assert "停用涉事外包机构" not in stored  # sealed under the complaint's key
    assert "已发文" not in stored

    exported = ok(ledger_url, "export-commands")
    commands = [json.loads(line) for line in exported.splitlines()]
    [first, _] = [c for c in commands if c["command"] == "add_improvement"]
    assert (first["action"], first["owner"]) == ("停用涉事外包机构（李四）", "wang")
    replayed = run(second_url, "apply", "-", input=exported)
    assert replayed.exit_code == 0, replayed.output
    assert event_count(second_url) == event_count(ledger_url)
    assert clocks(second_url, "TS-J1", "2026-10-07T00:00:00+08:00") == judged

    ok(ledger_url, "erase", "TS-J1", "--reason", "保存期满", *LEAD)
    shown = json.loads(ok(ledger_url, "show", "TS-J1", "--format", "json"))
    assert [i["action"] for i in shown["improvements"]] == ["[erased]", "[erased]"]
    audit = ok(ledger_url, "audit", "TS-J1")
    assert "Improvement 1 added, owner wang, due 2026-10-05 23:59:59 +08:00" in audit
    assert "修订考核办法" not in audit  # the audit trail never holds the sealed measure


def test_a_correction_of_the_done_date_is_marked_on_the_clock(ledger_url: str) -> None:
    url = ledger_url
    closed_case(url, "TS-C1")
    add(url, "TS-C1", "修订话术", "wang", "2026-10-01", "09-30T10")  # version 9
    ok(url, "improvement", "done", "TS-C1", "1", *at("10-02T10"), *TEAM)  # version 10, late
    assert clocks(url, "TS-C1", "2026-10-05T00:00:00+08:00")["improvement:1"]["status"] == (
        "breached"
    )

    ok(url, "correct", "TS-C1", "--event", "10", "--corrected-occurred-at",
       "2026-10-01T18:00:00+08:00", "--reason", "录入时间有误", "--approved-by", "chen",
       *LEAD)  # fmt: skip

    judged = clocks(url, "TS-C1", "2026-10-05T00:00:00+08:00")["improvement:1"]
    assert judged["status"] == "met"
    [mark] = judged["changes"]
    assert (mark["cause"], mark["before"]["status"], mark["after"]["status"]) == (
        "correction",
        "breached",
        "met",
    )
    shown = json.loads(ok(url, "show", "TS-C1", "--format", "json"))["improvements"][0]
    assert (shown["done_at"], shown["late"]) == ("2026-10-01T18:00:00+08:00", False)
    assert refused(url, "correct", "TS-C1", "--event", "10", "--corrected-occurred-at",
                   "2026-09-30T09:00:00+08:00", "--reason", "x", "--approved-by", "chen",
                   *LEAD).startswith("Error: event 10 cannot be re-dated")  # fmt: skip
