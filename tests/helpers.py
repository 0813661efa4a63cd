"""Shared helpers for the tests that drive the command line."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner, Result

from commands.cli import cli
from ledger.store.root import open_ledger


def run(
    url: str, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> Result:
    """Run ``complaint-ledger ARGS`` in-process against the ledger at ``url``."""
    runner = CliRunner()
    return runner.invoke(
        cli,
        list(args),
        input=input,
        env={"LEDGER_DB": url, "LEDGER_ACTOR": "", "LEDGER_ROLE": "", **(env or {})},
        catch_exceptions=False,
    )


def event_count(url: str) -> int:
    with open_ledger(url) as ledger:
        return ledger.count_events()


def actor(role: str, who: str = "li") -> dict[str, str]:
    return {"id": who, "role": role}


def jsonl(commands: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in commands)


def receive_cmd(ref: str, command_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    command: dict[str, Any] = {
        "command": "receive",
        "command_id": command_id or f"{ref}-receive",
        "ref": ref,
        "actor": actor("customer_service"),
        "occurred_at": "2026-09-24T16:20:00+08:00",
        "channel": "phone",
        "received_at": "2026-09-24T16:00:00+08:00",
        "complainant": {"name": "张三", "phone": "13800000000", "id_number": "110101199001011234"},
        "account_ref": "LN20260001",
        "collector": "外包一部",
        "content": "催收员连续三晚深夜来电",
        "category": "harassment",
        "tags": ["夜间来电"],
    }
    command.update(overrides)
    return command


def life_cmds(ref: str, until: str = "close") -> list[dict[str, Any]]:
    """A complaint's commands from receipt up to and including ``until``."""
    team = actor("handling_team", "wang")
    steps: list[dict[str, Any]] = [
        receive_cmd(ref),
        {
            "command": "triage",
            "severity": "normal",
            "category": "harassment",
            "assessment": "一般投诉",
            "actor": team,
            "occurred_at": "2026-09-24T16:40:00+08:00",
        },
        {
            "command": "assign",
            "handler": "zhao",
            "team": "处置一组",
            "actor": team,
            "occurred_at": "2026-09-24T16:45:00+08:00",
        },
        {
            "command": "record_findings",
            "substantiated": "yes",
            "findings": "录音证实",
            "evidence": ["REC-1"],
            "actor": team,
            "occurred_at": "2026-09-25T10:00:00+08:00",
        },
        {
            "command": "plan",
            "remedies": [{"kind": "refund", "amount": "120.50"}, {"kind": "apology"}],
            "actor": team,
            "occurred_at": "2026-09-25T15:00:00+08:00",
        },
        {
            "command": "execute",
            "detail": "已退款",
            "actor": team,
            "occurred_at": "2026-09-28T10:00:00+08:00",
        },
        {
            "command": "notify_outcome",
            "channel": "phone",
            "summary": "已告知",
            "actor": team,
            "occurred_at": "2026-09-28T11:00:00+08:00",
        },
        {
            "command": "close",
            "root_cause": "违规",
            "improvement": "培训",
            "actor": team,
            "occurred_at": "2026-09-29T09:00:00+08:00",
        },
    ]
    out = []
    for step in steps:
        step.setdefault("ref", ref)
        step.setdefault("command_id", f"{ref}-{step['command']}")
        out.append(step)
        if step["command"] == until:
            break
    return out


def ok(url: str, *args: str, input: str | None = None) -> str:
    """The standard output of a command that must succeed."""
    result = run(url, *args, input=input)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def refused(url: str, *args: str, input: str | None = None) -> str:
    """The one line of a refusal: exit code 1, one ``Error:`` line, no traceback, and the
    ledger unchanged (its event count)."""
    before = event_count(url)
    result = run(url, *args, input=input)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    assert event_count(url) == before
    return str(lines[0])
