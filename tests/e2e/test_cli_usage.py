"""Usage errors: exit 2, and exactly one ``Error: …`` line, first, before the usage hint."""

from __future__ import annotations

import pytest

from tests.helpers import event_count, jsonl, life_cmds, run

USAGE_ERRORS = {
    "unknown option": (["list", "--colour"], "Error: No such option '--colour'."),
    "unknown option of the root": (["--bogus", "list"], "Error: No such option '--bogus'."),
    "missing argument": (["triage"], "Error: Missing argument 'REF'."),
    "bad choice": (
        ["report", "sla", "--format", "xml"],
        "Error: Invalid value for '--format': 'xml' is not one of 'table', 'json', 'csv', "
        "'ndjson'.",
    ),
    "no such command": (["recieve"], "Error: No such command 'recieve'."),
    "no such subcommand": (["report", "slas"], "Error: No such command 'slas'."),
    "not an integer": (
        ["history", "TS-U", "--version", "two"],
        "Error: Invalid value for '--version': 'two' is not a valid integer.",
    ),
    "options that exclude each other": (
        ["history", "TS-U", "--version", "1", "--as-of", "2026-09-25T00:00:00+08:00"],
        "Error: give --as-of and --known-at, or --version, not both",
    ),
    "option without its value": (["list", "--limit"], "Error: Option '--limit' requires an "),
}


@pytest.mark.parametrize(("args", "first"), USAGE_ERRORS.values(), ids=USAGE_ERRORS.keys())
def test_a_usage_error_exits_2_with_one_error_line_first_then_the_usage(
    ledger_url: str, args: list[str], first: str
) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-U", until="triage")))
    before = event_count(ledger_url)

    result = run(ledger_url, *args)

    lines = result.stderr.splitlines()
    assert result.exit_code == 2
    assert lines[0].startswith(first), result.stderr
    assert [line for line in lines if line.startswith("Error")] == [lines[0]]
    if args != ["list", "--limit"]:  # click gives that error no command to show the usage of
        assert lines[1].startswith("Usage: ")
        assert lines[-1].startswith("Try '")
        assert lines[-1].endswith(" --help' for help.")
    assert result.stdout == ""
    assert event_count(ledger_url) == before


def test_a_group_without_its_subcommand_prints_its_help(ledger_url: str) -> None:
    result = run(ledger_url, "report")

    assert result.exit_code == 2
    assert "Error" not in result.stderr + result.stdout
    assert "Supervisors' and regulators' reports." in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("name", "models"),
    [("cases", "case_state, sla_clocks"), ("sla_clocks", "case_state, sla_clocks"),
     ("audit_trail", "audit_trail")],
)  # fmt: skip
def test_projections_rebuild_takes_the_names_status_shows(
    ledger_url: str, name: str, models: str
) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-U", until="triage")))
    status = run(ledger_url, "projections", "status").stdout

    result = run(ledger_url, "projections", "rebuild", name)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"rebuilt {models} from 2 event(s)\n"
    assert {line.split()[0] for line in status.splitlines()[2:]} == {
        "cases",
        "audit_trail",
        "statistics",
    }
