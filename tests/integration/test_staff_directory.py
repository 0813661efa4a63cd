"""The staff directory on both backends, through the command line, JSON Lines and --bulk:
once it has a member, only members holding the acting role may write, and every event
records how its actor was proven."""

from __future__ import annotations

import json
from typing import Any

import pytest

from commands.bulk import apply_in_batches
from commands.models import parse_command
from ledger.domain.staff import STAFF_DIRECTORY_ID
from ledger.store.root import open_ledger
from tests.e2e.http_server import TEST_LOGIN
from tests.helpers import actor, event_count, jsonl, life_cmds, receive_cmd, run

LEAD = ["--actor", "chen", "--role", "leadership"]


def staff_add(url: str, staff_id: str, unit: str, *roles: str, **options: str) -> Any:
    grants = [arg for role in roles for arg in ("--grant", role)]
    extra = [arg for k, v in options.items() for arg in (f"--{k.replace('_', '-')}", v)]
    return run(url, "staff", "add", staff_id, "--name", staff_id, "--unit", unit, *grants,
               *extra, *LEAD)  # fmt: skip


@pytest.fixture
def staffed(ledger_url: str) -> str:
    """chen leads, li takes calls, wang handles; on PostgreSQL the tests' login
    is a service login, allowed before the first member (the directory is empty then)."""
    if ledger_url.startswith("postgresql"):
        assert run(ledger_url, "staff", "allow-login", TEST_LOGIN, *LEAD).exit_code == 0
    since = {"from": "2026-01-01T00:00:00+08:00"}
    assert staff_add(ledger_url, "chen", "leadership_group", "leadership", **since).exit_code == 0
    assert (
        staff_add(ledger_url, "li", "customer_service", "customer_service", **since).exit_code == 0
    )
    assert staff_add(ledger_url, "wang", "handling_group", "handling_team", **since).exit_code == 0
    assert run(ledger_url, "apply", "-", input=jsonl([receive_cmd("TS-S")])).exit_code == 0
    return ledger_url


def history(url: str, ref: str) -> list[dict[str, Any]]:
    result = run(url, "history", ref, "--format", "json")
    assert result.exit_code == 0, result.output
    events: list[dict[str, Any]] = json.loads(result.stdout)["events"]
    return events


def test_the_first_staff_add_must_grant_leadership(ledger_url: str) -> None:
    result = staff_add(ledger_url, "li", "customer_service", "customer_service")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the first member of the staff directory must be granted leadership "
        "(who else could add the others?)\n"
    )
    assert event_count(ledger_url) == 0


def test_an_empty_directory_keeps_asserted_writes(ledger_url: str) -> None:
    run(ledger_url, "apply", "-", input=jsonl([receive_cmd("TS-E")]))

    (received,) = history(ledger_url, "TS-E")

    assert (received["actor_id"], received["actor_method"]) == ("li", "asserted")


def test_a_role_the_member_does_not_hold_is_refused_and_nothing_appended(staffed: str) -> None:
    before = event_count(staffed)

    result = run(staffed, "escalate", "TS-S", "--reason", "r", "--actor", "li", "--role",
                 "handling_team")  # fmt: skip

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: li does not hold the role handling_team when it ")
    assert result.stderr.count("\n") == 1
    assert event_count(staffed) == before


def test_someone_outside_the_directory_is_refused(staffed: str) -> None:
    before = event_count(staffed)

    result = run(staffed, "add-note", "TS-S", "--text", "n", "--actor", "zhou", "--role",
                 "customer_service")  # fmt: skip

    assert (result.exit_code, result.stderr) == (1, "Error: zhou is not in the staff directory\n")
    assert event_count(staffed) == before


def test_an_action_dated_before_the_role_was_granted_is_refused(staffed: str) -> None:
    run(staffed, "staff", "grant", "li", "handling_team", "--from", "2026-10-01T00:00:00+08:00",
        *LEAD)  # fmt: skip
    before = event_count(staffed)

    early = run(staffed, "add-note", "TS-S", "--text", "n", "--actor", "li", "--role",
                "handling_team", "--occurred-at", "2026-09-24T17:00:00+08:00")  # fmt: skip

    assert early.exit_code == 1
    assert "li does not hold the role handling_team when it happened" in early.stderr
    assert event_count(staffed) == before


def test_staff_changes_are_leadership_only_once_there_is_a_member(staffed: str) -> None:
    before = event_count(staffed)

    result = run(staffed, "staff", "grant", "li", "leadership", "--actor", "wang", "--role",
                 "handling_team")  # fmt: skip

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: role handling_team may not grant-role; allowed: ")
    assert event_count(staffed) == before


def test_each_event_records_how_its_actor_was_proven(staffed: str) -> None:
    run(staffed, "add-note", "TS-S", "--text", "n", "--actor", "li", "--role", "customer_service")

    note = history(staffed, "TS-S")[-1]

    if staffed.startswith("postgresql"):  # the connection's login, a service login here
        assert (note["actor_method"], note["actor_credential"]) == ("database", TEST_LOGIN)
    else:
        assert (note["actor_method"], note["actor_credential"]) == ("asserted", None)
    assert (note["actor_id"], note["actor_role"]) == ("li", "customer_service")


def test_requiring_authentication_refuses_asserted_writes(staffed: str) -> None:
    assert run(staffed, "staff", "require", "authenticated", *LEAD).exit_code == 0
    before = event_count(staffed)

    result = run(staffed, "add-note", "TS-S", "--text", "n", "--actor", "li", "--role",
                 "customer_service")  # fmt: skip

    if staffed.startswith("postgresql"):  # proven by the database login: still accepted
        assert result.exit_code == 0, result.output
        assert event_count(staffed) == before + 1
    else:
        assert result.exit_code == 1
        assert result.stderr.startswith("Error: the ledger requires authenticated writes")
        assert event_count(staffed) == before


def test_an_extension_needs_a_leader_of_the_directory_as_approver(staffed: str) -> None:
    before = event_count(staffed)

    result = run(staffed, "extend", "TS-S", "--clock", "regulatory", "--days", "15", "--reason",
                 "复杂", "--approved-by", "wang", *LEAD)  # fmt: skip

    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: approved_by: wang does not hold leadership in the staff directory at "
    )
    assert event_count(staffed) == before


def test_the_directory_verifies_with_the_rest_of_the_ledger(staffed: str) -> None:
    run(staffed, "staff", "add", "zhao", "--name", "赵", "--unit", "office", "--grant",
        "customer_service", "--grant", "handling_team", *LEAD)  # fmt: skip
    run(staffed, "staff", "token", "zhao", *LEAD)
    run(staffed, "staff", "token", "zhao", *LEAD)
    run(staffed, "staff", "token", "revoke", "zhao", *LEAD)

    verified = run(staffed, "verify", "--no-anchor")

    assert verified.exit_code == 0, verified.output


def test_staff_list_shows_members_units_and_roles_over_time(staffed: str) -> None:
    run(staffed, "staff", "revoke", "li", "customer_service", "--from",
        "2026-12-01T00:00:00+08:00", *LEAD)  # fmt: skip

    listed = json.loads(run(staffed, "staff", "list", "--format", "json").stdout)

    assert [m["id"] for m in listed] == ["chen", "li", "wang"]
    assert listed[1] == {
        "id": "li",
        "name": "li",
        "unit": "customer_service",
        "email": None,
        "login": "li",
        "roles": [
            {
                "role": "customer_service",
                "from": "2026-01-01T00:00:00+08:00",
                "until": "2026-12-01T00:00:00+08:00",
            }
        ],
    }


def test_json_lines_and_bulk_get_the_same_checks(staffed: str) -> None:
    team = actor("handling_team", "wang")
    lines = [
        {"command": "add_staff", "command_id": "s-zhao", "actor": actor("leadership", "chen"),
         "staff_id": "zhao", "name": "赵", "unit": "business_department",
         "roles": ["business_department"], "effective_from": "2026-01-01T00:00:00+08:00"},
        {**life_cmds("TS-S", "triage")[1], "actor": team},
        {"command": "record_findings", "command_id": "f-zhao", "ref": "TS-S",
         "actor": actor("business_department", "zhao"), "substantiated": "yes",
         "findings": "录音证实", "occurred_at": "2026-09-25T10:00:00+08:00"},
        {"command": "add_note", "command_id": "n-zhou", "ref": "TS-S",
         "actor": actor("customer_service", "zhou"), "text": "n"},
    ]  # fmt: skip
    before = event_count(staffed)

    result = run(staffed, "apply", "--bulk", "--format", "json", "-", input=jsonl(lines))

    summary = json.loads(result.stdout)
    assert (summary["applied"], summary["failed"]) == (3, 1)
    assert summary["errors"] == [{"line": 4, "error": "zhou is not in the staff directory"}]
    assert event_count(staffed) == before + 3  # MemberAdded, Triaged, FindingsRecorded
    assert history(staffed, "TS-S")[-1]["actor_id"] == "zhao"


def test_bulk_reads_the_directory_once_a_batch_not_once_a_command(staffed: str) -> None:
    notes = [
        {"command": "add_note", "command_id": f"n{i}", "ref": "TS-S",
         "actor": actor("customer_service", "li"), "text": f"note {i}"}
        for i in range(120)
    ]  # fmt: skip
    with open_ledger(staffed) as ledger:
        reads = []
        get = ledger.repository.get

        def counting_get(aggregate_id: Any, **kwargs: Any) -> Any:
            reads.append(aggregate_id)
            return get(aggregate_id, **kwargs)

        ledger.repository.get = counting_get  # type: ignore[method-assign]
        failures = list(
            apply_in_batches(
                ledger, ((i, parse_command(c)) for i, c in enumerate(notes)), batch_size=50
            )
        )

    assert failures == []
    assert reads.count(STAFF_DIRECTORY_ID) == 3  # one per batch of 50
