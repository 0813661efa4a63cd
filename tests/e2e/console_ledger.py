"""The ledger the console's tests look at: three complaints and five members."""

from __future__ import annotations

from tests.e2e.http_server import LEAD, SINCE, issue_token, staff_directory
from tests.helpers import jsonl, life_cmds, run


def console_ledger(url: str) -> dict[str, str]:
    """TS-R1 closed, TS-R2 planned and handled by wang (handling group), TS-R3 only received
    (its intake clock long overdue); the members of ``http_server.MEMBERS`` and su, an
    auditor, who may read and not act. Returns a token per member."""
    tokens = staff_directory(url)
    added = run(
        url,
        "staff",
        "add",
        "su",
        "--name",
        "苏审计",
        "--unit",
        "office",
        "--grant",
        "auditor",
        *SINCE,
        *LEAD,
    )
    assert added.exit_code == 0, added.output
    tokens["su"] = issue_token(url, "su")
    commands = [*life_cmds("TS-R1"), *life_cmds("TS-R2", "plan"), *life_cmds("TS-R3", "receive")]
    for command in commands:
        if command["command"] == "assign" and command["ref"] == "TS-R2":
            command["handler"] = "wang"
        command["actor"] = {"id": "wang", "role": command["actor"]["role"]}
    applied = run(url, "apply", "-", input=jsonl(commands))
    assert applied.exit_code == 0, applied.output
    return tokens
