"""Bad values (control characters, absurd or loose times, empty references) and bad bytes in
JSON Lines get one exact ``Error: …`` line, a non-zero exit and no traceback, and leave the
ledger as it was; on both backends, through CLI flags, JSON Lines and ``--bulk``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import actor, event_count, jsonl, life_cmds, receive_cmd, run

CS = ["--actor", "li", "--role", "customer_service"]
TEAM = ["--actor", "wang", "--role", "handling_team"]
LEAD = ["--actor", "chen", "--role", "leadership"]
FIXTURES = Path(__file__).parents[1] / "fixtures"


def receive(**options: str) -> list[str]:
    """A ``receive`` that would be accepted, with some options changed."""
    values = {
        "--channel": "phone",
        "--received-at": "2026-09-24T16:00:00+08:00",
        "--name": "张三",
        "--content": "深夜来电",
        "--category": "harassment",
        "--collector": "外包一部",
        **{f"--{k.replace('_', '-')}": v for k, v in options.items()},
    }
    return ["receive", *[part for item in values.items() for part in item], *CS]


def control(what: str, code: str, at: int) -> str:
    return f"{what}: holds the control character {code} at character {at}, which is not allowed"


def too_early(what: str, moment: str) -> str:
    return (
        f"{what}: {moment} is before 2000-01-01 (Shanghai time), the earliest time the ledger "
        "records"
    )


NUMBER = "must be an ISO 8601 time in a string, e.g. 2026-09-24T16:00:00+08:00, not a number"
LINE_BREAK = (
    "holds a line break or tab (U+000A) at character 7; only free text (content, reasons, "
    "notes, findings) may span lines"
)
EMPTY_REF = "ref: String should have at least 1 character"

BAD_ARGS: dict[str, tuple[list[str], str]] = {
    "NUL in category": (
        receive(category="harass\x00ment"),
        control("category", "U+0000 (NUL)", 7),
    ),
    "escape sequence in collector": (
        receive(collector="外包\x1b[31m一部"),
        control("collector", "U+001B (ESC)", 3),
    ),
    "terminal link (OSC) in content": (
        receive(content="投诉\x1b]8;;https://example.com\x07点击\x1b]8;;\x07"),
        control("content", "U+001B (ESC)", 3),
    ),
    "line break in category": (receive(category="harass\nment"), f"category: {LINE_BREAK}"),
    "C1 control in name": (receive(name="张\x9b三"), control("complainant.name", "U+009B", 2)),
    "bell in a note": (
        ["add-note", "TS-OPEN", "--text", "请回电\x07", *CS],
        control("text", "U+0007 (BEL)", 4),
    ),
    "NUL in handler": (
        ["assign", "TS-OPEN", "--handler", "zhao\x00", "--team", "一组", *TEAM],
        control("handler", "U+0000 (NUL)", 5),
    ),
    "escape in the actor": (
        ["add-note", "TS-OPEN", "--text", "x", "--actor", "li\x1b", "--role", "customer_service"],
        control("actor.id", "U+001B (ESC)", 3),
    ),
    "NUL in a command id": (
        ["add-note", "TS-OPEN", "--text", "x", "--command-id", "cmd\x00", *CS],
        control("command_id", "U+0000 (NUL)", 4),
    ),
    "DEL in evidence": (
        [
            "record-findings",
            "TS-OPEN",
            "--substantiated",
            "yes",
            "--findings",
            "录音证实",
            "--evidence",
            "REC\x7f1",
            *TEAM,
        ],
        control("evidence.0", "U+007F (DEL)", 4),
    ),
    "received in year 1": (
        receive(received_at="0001-01-01T00:00:00+00:00"),
        too_early("received_at", "0001-01-01T00:00:00+00:00"),
    ),
    "received in 1900": (
        receive(received_at="1900-01-01T00:00:00+08:00"),
        too_early("received_at", "1900-01-01T00:00:00+08:00"),
    ),
    "received a second before 2000 in Shanghai": (
        receive(received_at="1999-12-31T23:59:59+08:00"),
        too_early("received_at", "1999-12-31T23:59:59+08:00"),
    ),
    "received_at as seconds since 1970": (
        receive(received_at="1764400000"),
        "received_at: '1764400000' is a number; give an ISO 8601 time, "
        "e.g. 2026-09-24T16:00:00+08:00",
    ),
    "occurred_at as seconds since 1970": (
        ["add-note", "TS-OPEN", "--text", "x", "--occurred-at", "1764400000.5", *CS],
        "occurred_at: '1764400000.5' is a number; give an ISO 8601 time, "
        "e.g. 2026-09-24T16:00:00+08:00",
    ),
    "empty reference on receive": ([*receive(), "--ref", ""], EMPTY_REF),
    "blank reference on receive": ([*receive(), "--ref", "   "], EMPTY_REF),
    "empty reference on a note": (["add-note", "", "--text", "x", *CS], EMPTY_REF),
    "blank reference on erase": (["erase", " ", "--reason", "x", *LEAD], EMPTY_REF),
}


def note(ref: str = "TS-OPEN", **fields: Any) -> dict[str, Any]:
    """A note on TS-OPEN with some fields changed (``None`` leaves one out)."""
    command = {"command": "add_note", "command_id": "bad-line", "ref": ref,
               "actor": actor("customer_service"), "text": "x", **fields}  # fmt: skip
    return {k: v for k, v in command.items() if v is not None}


def bad_receive(**fields: Any) -> dict[str, Any]:
    return {**receive_cmd("TS-NEW", command_id="bad-line"), **fields}


BAD_LINES: dict[str, tuple[bytes, str]] = {
    name: (json.dumps(data, ensure_ascii=False).encode(), message)
    for name, (data, message) in {
        "NUL in category": (
            bad_receive(category="harass\x00ment"),
            control("category", "U+0000 (NUL)", 7),
        ),
        "NUL in collector": (
            bad_receive(collector="外包\x00一部"),
            control("collector", "U+0000 (NUL)", 3),
        ),
        "NUL in a tag": (bad_receive(tags=["夜间\x00"]), control("tags.0", "U+0000 (NUL)", 3)),
        "NUL in the address": (
            bad_receive(complainant={"address": "北京\x00"}),
            control("complainant.address", "U+0000 (NUL)", 3),
        ),
        "escape in the account": (
            bad_receive(account_ref="LN\x1b1"),
            control("account_ref", "U+001B (ESC)", 3),
        ),
        "NUL in the approver": (
            {
                **note(command="extend", text=None),
                "actor": actor("leadership", "chen"),
                "clock": "regulatory",
                "days": 15,
                "reason": "复杂",
                "approved_by": "chen\x00",
            },
            control("approved_by", "U+0000 (NUL)", 5),
        ),
        "NUL in the actor": (
            note(actor={"id": "l\x00i", "role": "customer_service"}),
            control("actor.id", "U+0000 (NUL)", 2),
        ),
        "line break in the team": (
            note(
                command="assign",
                text=None,
                actor=actor("handling_team"),
                handler="zhao",
                team="处置一组\n二组",
            ),
            "team: holds a line break or tab (U+000A) at character 5; only free text (content, "
            "reasons, notes, findings) may span lines",
        ),
        "received_at as an integer": (
            bad_receive(received_at=1764400000),
            f"received_at: {NUMBER}",
        ),
        "occurred_at as a float": (note(occurred_at=1764400000.5), f"occurred_at: {NUMBER}"),
        "received in year 1": (
            bad_receive(received_at="0001-01-01T00:00:00+00:00"),
            too_early("received_at", "0001-01-01T00:00:00+00:00"),
        ),
        "policy effective after 2100": (
            {
                "command": "publish_policy",
                "command_id": "bad-line",
                "actor": actor("leadership", "chen"),
                "text": "version = 'x'",
                "format": "toml",
                "effective_from": "2101-01-01T00:00:00+08:00",
            },
            "effective_from: 2101-01-01T00:00:00+08:00 is after 2100-12-31 (Shanghai time), "
            "the latest time the ledger records",
        ),
        "empty reference on receive": (bad_receive(ref=""), EMPTY_REF),
        "blank reference on receive": (bad_receive(ref="  "), EMPTY_REF),
        "empty reference on a note": (note(ref=""), EMPTY_REF),
    }.items()
} | {
    "100,000 nested brackets": (b"[" * 100_000, "not valid JSON (nested too deeply)"),
    "a byte that is not UTF-8": (
        '{"command": "add_note", "text": "深夜'.encode() + b'\xff"}',
        "not UTF-8 text (invalid start byte: byte 0xff at byte 40 of the line)",
    ),
    "a raw tab inside a JSON string": (
        b'{"command": "add_note", "text": "a\tb"}',
        "not valid JSON (Invalid control character at character 35)",
    ),
    "an unterminated string": (
        b'{"command": "add_note',
        "not valid JSON (Unterminated string starting at character 13)",
    ),
}


@pytest.fixture
def seeded(ledger_url: str) -> str:
    """TS-OPEN, received, triaged and assigned: every command above would be taken if its
    values were good."""
    result = run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-OPEN", until="assign")))
    assert result.exit_code == 0, result.stderr
    return ledger_url


def assert_one_error(stderr: str, stdout: str, expected: str) -> None:
    assert stderr == f"Error: {expected}\n"
    assert "Traceback" not in stdout


@pytest.mark.parametrize(("args", "message"), BAD_ARGS.values(), ids=BAD_ARGS.keys())
def test_bad_value_on_the_command_line_is_refused_by_name_and_changes_nothing(
    seeded: str, args: list[str], message: str
) -> None:
    before = event_count(seeded)

    result = run(seeded, *args)

    assert result.exit_code == 1
    assert_one_error(result.stderr, result.stdout, message)
    assert event_count(seeded) == before


@pytest.mark.parametrize("bulk", [False, True], ids=["one by one", "bulk"])
@pytest.mark.parametrize(("line", "message"), BAD_LINES.values(), ids=BAD_LINES.keys())
def test_bad_json_line_is_reported_by_number_and_the_others_are_applied(
    seeded: str, tmp_path: Path, line: bytes, message: str, bulk: bool
) -> None:
    before = event_count(seeded)
    good = json.dumps(note(command_id="good-note")).encode()
    path = tmp_path / "commands.jsonl"
    path.write_bytes(b"\n".join([good.replace(b"good-note", b"good-1"), line, good]) + b"\n")

    result = run(seeded, "apply", str(path), *(["--bulk"] if bulk else []))

    assert result.exit_code == 1
    assert_one_error(result.stderr, result.stdout, f"line 2: {message}")
    assert result.stdout == "applied 2, already applied 0, failed 1\n"
    assert event_count(seeded) == before + 2


@pytest.mark.parametrize("bulk", [False, True], ids=["one by one", "bulk"])
def test_a_byte_that_is_not_utf8_at_line_201_of_400_loses_no_other_line(
    ledger_url: str, tmp_path: Path, bulk: bool
) -> None:
    lines = [
        json.dumps(receive_cmd(f"TS-U{n}", content="催收员深夜来电 " * 20), ensure_ascii=False)
        .encode()
        for n in range(1, 401)
    ]  # fmt: skip
    lines[200] = lines[200].replace("来电".encode(), b"\xff", 1)
    path = tmp_path / "commands.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    result = run(ledger_url, "apply", str(path), "--format", "json", *(["--bulk"] if bulk else []))

    assert result.exit_code == 1
    reason = "not UTF-8 text (invalid start byte: byte 0xff at byte 413 of the line)"
    assert result.stderr == f"Error: line 201: {reason}\n"
    assert json.loads(result.stdout) == {
        "applied": 399,
        "duplicates": 0,
        "failed": 1,
        "errors": [{"line": 201, "error": reason}],
    }
    assert event_count(ledger_url) == 399


def test_a_byte_order_mark_at_the_start_of_a_json_lines_file_is_accepted(
    ledger_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "commands.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + jsonl(life_cmds("TS-BOM", until="triage")).encode())

    result = run(ledger_url, "apply", str(path))

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "applied 2, already applied 0, failed 0\n"


@pytest.mark.parametrize(
    ("args", "name", "text"),
    [
        (["policy", "publish"], "plan.toml", (FIXTURES.parent.parent / "docs" /
                                              "policy-example.toml").read_text("utf-8")),
        (["calendar", "publish", "2026"], "days.toml", 'days_off = ["2026-12-31"]\n'),
    ],
    ids=["policy", "calendar"],
)  # fmt: skip
def test_a_byte_order_mark_at_the_start_of_a_policy_or_calendar_file_is_accepted(
    ledger_url: str, tmp_path: Path, args: list[str], name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())

    result = run(ledger_url, *args, str(path), *LEAD)

    assert (result.exit_code, result.stderr) == (0, "")
    assert "Published (version " in result.stdout


def test_a_control_character_in_a_policy_version_is_refused(
    ledger_url: str, tmp_path: Path
) -> None:
    example = (FIXTURES.parent.parent / "docs" / "policy-example.toml").read_text("utf-8")
    path = tmp_path / "plan.toml"
    path.write_text(_with_version(example, "plan\\u0000x"), encoding="utf-8")

    result = run(ledger_url, "policy", "publish", str(path), *LEAD)

    assert result.exit_code == 1
    assert_one_error(
        result.stderr, result.stdout, "policy invalid: " + control("version", "U+0000 (NUL)", 5)
    )
    assert event_count(ledger_url) == 0


def test_a_cfpb_row_with_a_nul_is_rejected_by_field_and_the_others_imported(
    ledger_url: str, tmp_path: Path
) -> None:
    text = (FIXTURES / "cfpb_new.csv").read_text(encoding="utf-8")
    assert text.count("NORTHWIND COLLECTIONS INC,CA") == 1
    path = tmp_path / "export.csv"
    path.write_text(text.replace("NORTHWIND COLLECTIONS INC,CA", "NORTH\x00WIND,CA"), "utf-8")

    result = run(ledger_url, "import", "cfpb", str(path), "--format", "json")

    assert result.exit_code == 1
    reason = "CFPB-9100002: " + control("collector", "U+0000 (NUL)", 6)
    assert result.stderr == f"Error: {path} line 6: {reason}\n"
    summary = json.loads(result.stdout)
    assert (summary["imported"], summary["rejected"]) == (
        6,
        [{"file": str(path), "line": 6, "reason": reason}],
    )


def _with_version(policy: str, version: str) -> str:
    lines = policy.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("version"))
    lines[at] = f'version = "{version}"'
    return "\n".join(lines) + "\n"
