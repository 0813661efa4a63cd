"""A complaint's whole life through the command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from ledger.store.root import open_ledger
from tests.helpers import event_count, jsonl, life_cmds, run

CS = ["--actor", "li", "--role", "customer_service"]
TEAM = ["--actor", "wang", "--role", "handling_team"]
LEAD = ["--actor", "chen", "--role", "leadership"]


def test_every_subcommand_once_then_show_gives_status_and_full_history(ledger_url: str) -> None:
    steps = [
        [
            "receive",
            "--ref",
            "TS-LIFE-1",
            "--channel",
            "regulator_referral",
            "--referral-number",
            "12378-0001",
            "--received-at",
            "2026-09-24T16:00:00+08:00",
            "--name",
            "张三",
            "--phone",
            "13800000000",
            "--content",
            "催收员深夜来电",
            "--category",
            "harassment",
            "--tag",
            "夜间来电",
            "--occurred-at",
            "2026-09-24T16:10:00+08:00",
            *CS,
        ],
        [
            "triage",
            "TS-LIFE-1",
            "--severity",
            "normal",
            "--category",
            "harassment",
            "--assessment",
            "一般",
            "--occurred-at",
            "2026-09-24T16:30:00+08:00",
            *TEAM,
        ],
        [
            "escalate",
            "TS-LIFE-1",
            "--reason",
            "监管转办",
            "--occurred-at",
            "2026-09-24T16:31:00+08:00",
            *TEAM,
        ],
        [
            "assign",
            "TS-LIFE-1",
            "--handler",
            "zhao",
            "--team",
            "处置一组",
            "--occurred-at",
            "2026-09-24T16:32:00+08:00",
            *TEAM,
        ],
        [
            "contact",
            "TS-LIFE-1",
            "--channel",
            "phone",
            "--not-reached",
            "--summary",
            "无人接听",
            "--occurred-at",
            "2026-09-24T17:00:00+08:00",
            *CS,
        ],
        [
            "record-findings",
            "TS-LIFE-1",
            "--substantiated",
            "partly",
            "--findings",
            "录音证实",
            "--evidence",
            "REC-1",
            "--evidence",
            "REC-2",
            "--occurred-at",
            "2026-09-25T10:00:00+08:00",
            *TEAM,
        ],
        [
            "plan",
            "TS-LIFE-1",
            "--remedy",
            "refund:120.50:退还滞纳金",
            "--remedy",
            "apology",
            "--occurred-at",
            "2026-09-25T11:00:00+08:00",
            *TEAM,
        ],
        [
            "extend",
            "TS-LIFE-1",
            "--clock",
            "regulatory",
            "--days",
            "15",
            "--reason",
            "案情复杂",
            "--approved-by",
            "chen",
            "--occurred-at",
            "2026-09-25T12:00:00+08:00",
            *LEAD,
        ],
        [
            "execute",
            "TS-LIFE-1",
            "--detail",
            "已退款",
            "--occurred-at",
            "2026-09-28T10:00:00+08:00",
            *TEAM,
        ],
        [
            "notify-outcome",
            "TS-LIFE-1",
            "--channel",
            "phone",
            "--summary",
            "已告知",
            "--occurred-at",
            "2026-09-28T11:00:00+08:00",
            *TEAM,
        ],
        [
            "record-callback",
            "TS-LIFE-1",
            "--satisfaction",
            "2",
            "--comment",
            "不满意",
            "--occurred-at",
            "2026-09-29T09:00:00+08:00",
            *CS,
        ],
        [
            "close",
            "TS-LIFE-1",
            "--root-cause",
            "违规",
            "--improvement",
            "培训",
            "--occurred-at",
            "2026-09-29T10:00:00+08:00",
            *TEAM,
        ],
        [
            "reopen",
            "TS-LIFE-1",
            "--reason",
            "客户再次投诉",
            "--occurred-at",
            "2026-09-30T10:00:00+08:00",
            *CS,
        ],
        [
            "add-note",
            "TS-LIFE-1",
            "--text",
            "客户要求书面答复",
            "--occurred-at",
            "2026-09-30T11:00:00+08:00",
            *CS,
        ],
        [
            "withdraw",
            "TS-LIFE-1",
            "--reason",
            "客户撤诉",
            "--occurred-at",
            "2026-10-08T09:00:00+08:00",
            *CS,
        ],
    ]
    outputs = []
    for args in steps:
        result = run(ledger_url, *args)
        assert result.exit_code == 0, result.stderr
        outputs.append(result.stdout)

    shown = run(ledger_url, "show", "TS-LIFE-1", "--format", "json")

    assert outputs[0] == "TS-LIFE-1: Received (version 1)\n"
    assert outputs[1] == "TS-LIFE-1: Triaged (version 2)\n"
    # The reopening restarts the intake and regulatory clocks (ClocksRestarted).
    assert outputs[-3] == "TS-LIFE-1: Reopened, ClocksRestarted (version 14)\n"
    assert outputs[-1] == "TS-LIFE-1: Withdrawn (version 16)\n"
    view = json.loads(shown.stdout)
    assert (view["status"], view["stage"], view["version"]) == ("withdrawn", "withdrawn", 16)
    assert len(view["history"]) == 16
    assert [h["event"] for h in view["history"]][:4] == [
        "Received",
        "Triaged",
        "Escalated",
        "Assigned",
    ]
    assert view["refund_total"] == "120.50"
    assert view["reopened_count"] == 1
    assert view["complainant"]["name"] == "张三"
    assert event_count(ledger_url) == 16


def test_urgent_triage_answers_with_both_events(ledger_url: str) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-U", until="receive")))

    result = run(
        ledger_url,
        "triage",
        "TS-U",
        "--severity",
        "urgent",
        "--category",
        "harassment",
        "--assessment",
        "涉嫌违规",
        "--occurred-at",
        "2026-09-24T16:30:00+08:00",
        *TEAM,
    )

    assert result.stdout == "TS-U: Triaged, Escalated (version 3)\n"


def test_applying_the_same_jsonl_twice_appends_nothing_the_second_time(ledger_url: str) -> None:
    lines = jsonl(life_cmds("TS-A") + life_cmds("TS-B", until="plan"))

    first = run(ledger_url, "apply", "-", input=lines)
    count = event_count(ledger_url)
    second = run(ledger_url, "apply", "-", input=lines)

    assert first.stdout == "applied 13, already applied 0, failed 0\n"
    assert second.stdout == "applied 0, already applied 13, failed 0\n"
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert count == 13
    assert event_count(ledger_url) == count


def test_resubmitted_command_answers_as_before(ledger_url: str) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-R", until="triage")))
    args = [
        "add-note",
        "TS-R",
        "--text",
        "备注",
        "--command-id",
        "note-1",
        "--occurred-at",
        "2026-09-24T17:00:00+08:00",
        "--format",
        "json",
        *CS,
    ]

    first = run(ledger_url, *args)
    again = run(ledger_url, *args)

    assert json.loads(first.stdout) == {
        "command": "add_note",
        "command_id": "note-1",
        "ref": "TS-R",
        "version": 3,
        "events": ["NoteAdded"],
        "duplicate": False,
    }
    assert json.loads(again.stdout) == {**json.loads(first.stdout), "duplicate": True}
    assert event_count(ledger_url) == 3


def test_text_that_looks_like_sql_or_markup_is_stored_verbatim(ledger_url: str) -> None:
    nasty = "'); DROP TABLE stored_events; -- <script>alert(1)</script> %s {0} \\x00"
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-SQL", until="receive")))

    run(ledger_url, "add-note", "TS-SQL", "--text", nasty, *CS)
    shown = run(ledger_url, "show", "TS-SQL", "--format", "json")

    assert json.loads(shown.stdout)["notes"] == 1
    assert event_count(ledger_url) == 2
    with open_ledger(ledger_url) as ledger:
        note = ledger.complaint_events("TS-SQL")[-1]
        stored = ledger.text_reader(ledger.get_complaint("TS-SQL"))(note.text)  # type: ignore[attr-defined]
    assert stored == nasty


def test_generated_references_count_up_per_day_of_receipt(ledger_url: str) -> None:
    args = [
        "receive",
        "--channel",
        "sms",
        "--name",
        "李四",
        "--content",
        "费用不合理",
        "--category",
        "fees",
        "--occurred-at",
        "2026-09-24T18:00:00+08:00",
        *CS,
    ]

    refs = [
        run(ledger_url, *args, "--received-at", t).stdout.split(":")[0]
        for t in (
            "2026-09-24T09:00:00+08:00",
            "2026-09-24T17:00:00+08:00",
            "2026-09-23T23:30:00+08:00",
        )
    ]

    assert refs == ["TS-20260924-0001", "TS-20260924-0002", "TS-20260923-0001"]


def test_show_known_at_replays_what_had_been_recorded_by_then(ledger_url: str) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-ASOF", until="triage")))
    history = json.loads(run(ledger_url, "show", "TS-ASOF", "--format", "json").stdout)["history"]
    cut = history[0]["recorded_at"]

    shown = run(ledger_url, "show", "TS-ASOF", "--known-at", cut, "--format", "json")

    view = json.loads(shown.stdout)
    assert (view["version"], view["stage"], len(view["history"])) == (1, "intake", 1)
