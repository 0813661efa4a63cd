"""Bad input gets ``Error: …``, a non-zero exit, and leaves the ledger exactly as it was."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import actor, event_count, jsonl, life_cmds, receive_cmd, run

CS = ["--actor", "li", "--role", "customer_service"]
TEAM = ["--actor", "wang", "--role", "handling_team"]
FUTURE = (datetime.now(UTC) + timedelta(days=2)).isoformat()
RECEIVE = [
    "receive",
    "--channel",
    "phone",
    "--received-at",
    "2026-09-24T16:00:00+08:00",
    "--name",
    "张三",
    "--content",
    "深夜来电",
    "--category",
    "harassment",
]


def note(ref: str, **fields: object) -> dict[str, object]:
    command: dict[str, object] = {
        "command": "add_note",
        "command_id": "bad-note",
        "ref": ref,
        "actor": actor("customer_service"),
        "text": "x",
    }
    command.update(fields)
    return command


BAD_ARGS = {
    "unknown channel": [*RECEIVE[:2], "fax", *RECEIVE[3:], *CS],
    "missing content": [*RECEIVE[:7], *RECEIVE[9:], *CS],
    "empty assessment": [
        "triage",
        "TS-OPEN",
        "--severity",
        "normal",
        "--category",
        "x",
        "--assessment",
        "   ",
        *TEAM,
    ],
    "unknown severity": [
        "triage",
        "TS-OPEN",
        "--severity",
        "critical",
        "--category",
        "x",
        "--assessment",
        "y",
        *TEAM,
    ],
    "naive timestamp": [
        "add-note",
        "TS-OPEN",
        "--text",
        "x",
        "--occurred-at",
        "2026-09-25T10:00:00",
        *CS,
    ],
    "malformed timestamp": [
        "add-note",
        "TS-OPEN",
        "--text",
        "x",
        "--occurred-at",
        "yesterday",
        *CS,
    ],
    "future occurred_at": ["add-note", "TS-OPEN", "--text", "x", "--occurred-at", FUTURE, *CS],
    "occurred_at before receipt": [
        "add-note",
        "TS-OPEN",
        "--text",
        "x",
        "--occurred-at",
        "2026-09-24T15:00:00+08:00",
        *CS,
    ],
    "received_at in the future": [
        "receive",
        "--channel",
        "phone",
        "--received-at",
        FUTURE,
        "--name",
        "张三",
        "--content",
        "x",
        "--category",
        "x",
        *CS,
    ],
    "negative refund": ["plan", "TS-FOUND", "--remedy", "refund:-5", *TEAM],
    "non-numeric refund": ["plan", "TS-FOUND", "--remedy", "refund:abc", *TEAM],
    "refund with three decimals": ["plan", "TS-FOUND", "--remedy", "refund:1.005", *TEAM],
    "refund without amount": ["plan", "TS-FOUND", "--remedy", "refund", *TEAM],
    "unknown remedy": ["plan", "TS-FOUND", "--remedy", "bribe:100", *TEAM],
    "satisfaction 0": ["record-callback", "TS-CLOSED", "--satisfaction", "0", *CS],
    "satisfaction 6": ["record-callback", "TS-CLOSED", "--satisfaction", "6", *CS],
    "unknown reference": ["add-note", "TS-NOPE", "--text", "x", *CS],
    "malformed reference": ["add-note", "TS 1; DROP TABLE", "--text", "x", *CS],
    "plan before findings": ["plan", "TS-OPEN", "--remedy", "apology", *TEAM],
    "execution before a plan": ["execute", "TS-FOUND", "--detail", "x", *TEAM],
    "close before outcome communicated": [
        "close",
        "TS-EXEC",
        "--root-cause",
        "x",
        "--improvement",
        "y",
        *TEAM,
    ],
    "assign on a closed case": [
        "assign",
        "TS-CLOSED",
        "--handler",
        "zhao",
        "--team",
        "一组",
        *TEAM,
    ],
    "note on a withdrawn case": ["add-note", "TS-WD", "--text", "x", *CS],
    "reopen an open case": ["reopen", "TS-OPEN", "--reason", "x", *CS],
    # Customer service may triage and escalate (issue 15), not plan.
    "role not allowed": ["assign", "TS-OPEN", "--handler", "x", "--team", "y", *CS],
    "auditor writes": [
        "add-note",
        "TS-OPEN",
        "--text",
        "x",
        "--actor",
        "audit",
        "--role",
        "auditor",
    ],
    "unknown role": ["add-note", "TS-OPEN", "--text", "x", "--actor", "li", "--role", "boss"],
    "extension by the handling team": [
        "extend",
        "TS-OPEN",
        "--clock",
        "regulatory",
        "--days",
        "15",
        "--reason",
        "x",
        "--approved-by",
        "chen",
        *TEAM,
    ],
    "extension of zero days": [
        "extend",
        "TS-OPEN",
        "--clock",
        "regulatory",
        "--days",
        "0",
        "--reason",
        "x",
        "--approved-by",
        "chen",
        "--actor",
        "chen",
        "--role",
        "leadership",
    ],
    "extension of an unknown clock": [
        "extend",
        "TS-OPEN",
        "--clock",
        "lunch",
        "--days",
        "1",
        "--reason",
        "x",
        "--approved-by",
        "chen",
        "--actor",
        "chen",
        "--role",
        "leadership",
    ],
    "duplicate reference": [*RECEIVE, "--ref", "TS-OPEN", *CS],
    "referral without its number": [
        "receive",
        "--channel",
        "regulator_referral",
        "--received-at",
        "2026-09-24T16:00:00+08:00",
        "--name",
        "张三",
        "--content",
        "x",
        "--category",
        "x",
        *CS,
    ],
    "content over the size limit": [*RECEIVE[:7], "--content", "投" * 10_001, *RECEIVE[9:], *CS],
    "command id reused with other content": [
        "add-note",
        "TS-OPEN",
        "--text",
        "other",
        "--command-id",
        "TS-OPEN-receive",
        *CS,
    ],
}

BAD_LINES = {
    "broken JSON line": '{"command": "add_note", "ref": "TS-OPEN"',
    "a line that is not an object": '["add_note", "TS-OPEN"]',
    "unknown command": json.dumps(note("TS-OPEN", command="delete")),
    "line without a command": json.dumps({"ref": "TS-OPEN", "text": "x"}),
    "unknown field": json.dumps(note("TS-OPEN", colour="red")),
    "missing command id": json.dumps(
        {k: v for k, v in note("TS-OPEN").items() if k != "command_id"}
    ),
    "reached given as text": json.dumps(
        note("TS-OPEN", command="contact", channel="phone", reached="maybe", summary="x", text=None)
    ),
    "satisfaction as a string": json.dumps(
        note("TS-CLOSED", command="record_callback", satisfaction="5", text=None)
    ),
    "offset-less received_at": json.dumps(receive_cmd("TS-NEW", received_at="2026-09-24 16:00")),
}


@pytest.fixture
def seeded(ledger_url: str) -> str:
    cmds = (
        life_cmds("TS-OPEN", until="receive")
        + life_cmds("TS-FOUND", until="record_findings")
        + life_cmds("TS-EXEC", until="execute")
        + life_cmds("TS-CLOSED")
        + life_cmds("TS-WD", until="receive")
        + [
            {
                "command": "withdraw",
                "command_id": "wd",
                "ref": "TS-WD",
                "actor": actor("customer_service"),
                "reason": "撤诉",
                "occurred_at": "2026-09-24T17:00:00+08:00",
            }
        ]
    )
    result = run(ledger_url, "apply", "-", input=jsonl(cmds))
    assert result.exit_code == 0, result.stderr
    return ledger_url


def assert_refused(result_exit: int, stderr: str, stdout: str) -> None:
    assert result_exit != 0
    assert stderr.startswith("Error: "), stderr
    assert "Traceback" not in stderr + stdout


@pytest.mark.parametrize("args", BAD_ARGS.values(), ids=BAD_ARGS.keys())
def test_bad_command_line_is_refused_and_changes_nothing(seeded: str, args: list[str]) -> None:
    before = event_count(seeded)

    result = run(seeded, *args)

    assert_refused(result.exit_code, result.stderr, result.stdout)
    assert event_count(seeded) == before


@pytest.mark.parametrize("line", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_bad_jsonl_line_is_reported_with_its_number_and_changes_nothing(
    seeded: str, line: str
) -> None:
    before = event_count(seeded)
    good = json.dumps(note("TS-OPEN", command_id="good-note"))

    result = run(seeded, "apply", "-", input=f"\n{line}\n{good}\n")

    assert_refused(result.exit_code, result.stderr, result.stdout)
    assert result.stderr.startswith("Error: line 2: ")
    assert result.stdout == "applied 1, already applied 0, failed 1\n"
    assert event_count(seeded) == before + 1


def test_refusals_explain_what_is_wrong(seeded: str) -> None:
    messages = {
        name: run(seeded, *BAD_ARGS[name]).stderr.strip()
        for name in (
            "unknown channel",
            "role not allowed",
            "plan before findings",
            "naive timestamp",
            "satisfaction 6",
            "unknown reference",
        )
    }

    assert messages["unknown channel"].startswith(
        "Error: channel: Input should be 'phone', 'email'"
    )
    assert messages["role not allowed"] == (
        "Error: role customer_service may not assign; allowed: handling_team, leadership"
    )
    assert messages["plan before findings"] == (
        "Error: TS-OPEN has no findings yet; record findings before a plan"
    )
    assert messages["naive timestamp"] == "Error: occurred_at: Input should have timezone info"
    assert (
        messages["satisfaction 6"] == "Error: satisfaction: Input should be less than or equal to 5"
    )
    assert messages["unknown reference"] == "Error: no complaint has reference 'TS-NOPE'"
