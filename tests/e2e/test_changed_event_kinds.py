"""Every kind of change to a stored event made outside the ledger, beyond bytes that are not
JSON (``test_http_store_refusals``): its topic naming no event class, its state an object of
the wrong shape, lacking fields or holding one of another type. Each is one ``Error:`` line
on the command line, for reads and writes, and a 500 problem over HTTP with no traceback in
the server's log; nothing is appended. The message names the complaint and the position and
does not blame tampering alone: a newer release may have written the event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.audit_helpers import superuser
from tests.e2e.http_server import staff_directory
from tests.e2e.test_http_commands import PROBLEM, body
from tests.e2e.test_http_store_refusals import NOTE, caught_up, post, served
from tests.helpers import event_count, jsonl, life_cmds, receive_cmd, run

AFTER = "cannot be read by this version ("
ADVICE = "): run complaint-ledger verify; if it passes, upgrade complaint-ledger"


def wrong_type(state: dict[str, object]) -> dict[str, object]:
    return {**state, "received_at": 5, "tags": 7}


CHANGES = {
    "topic_of_no_class": ("topic", "ledger.complaint:Complaint.ReceivedV9"),
    "topic_of_no_module": ("topic", "ledger.elsewhere:Complaint.Received"),
    "state_not_an_object": ("state", []),
    "state_lacking_fields": ("state", {"ref": "TS-1"}),
    "state_of_wrong_types": ("state", wrong_type),
}


def change_received(url: str, change: str) -> None:
    column, value = CHANGES[change]
    with superuser(url) as su:
        position = su.position_of("TS-1", 1)
        if column == "topic":
            su.sql(f"UPDATE {su.events} SET topic = ? WHERE {su.pos} = ?", value, position)
            return
        if callable(value):
            value = value(json.loads(su.state_at(position)))
        state = json.dumps(value).encode()
        su.sql(f"UPDATE {su.events} SET state = ? WHERE {su.pos} = ?", state, position)


def said_of_ts1(text: str) -> None:
    assert text.startswith("the stored event at position 1 of complaint TS-1 " + AFTER), text
    assert text.endswith(ADVICE), text
    assert "\n" not in text


@pytest.mark.parametrize("change", CHANGES)
def test_a_changed_event_is_one_error_line_for_reads_and_writes(
    ledger_url: str, change: str
) -> None:
    assert run(ledger_url, "apply", "-", input=jsonl([receive_cmd("TS-1")])).exit_code == 0
    change_received(ledger_url, change)
    before = event_count(ledger_url)

    results = [
        run(ledger_url, "show", "TS-1"),
        run(ledger_url, "history", "TS-1"),
        run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-1", until="triage")[1:])),
    ]

    for result in results[:2]:
        assert result.exit_code == 1, result.output
        assert result.output.startswith("Error: "), result.output
        said_of_ts1(result.output.removeprefix("Error: ").removesuffix("\n"))
    # One by one, the line is refused as any refused line is, and the write goes on.
    written = results[2]
    assert written.exit_code == 1, written.output
    refused, summary = written.output.splitlines()
    assert refused.startswith("Error: line 1: "), refused
    said_of_ts1(refused.removeprefix("Error: line 1: "))
    assert summary == "applied 0, already applied 0, failed 1"
    assert event_count(ledger_url) == before


@pytest.mark.parametrize("change", ["topic_of_no_class", "state_of_wrong_types"])
@pytest.mark.parametrize(
    "how", [["--bulk", "--workers", "2"], ["--bulk"]], ids=["workers", "bulk_in_process"]
)
def test_a_bulk_write_over_a_changed_event_ends_with_one_error_line(
    ledger_url: str, change: str, how: list[str]
) -> None:
    # The bulk paths read complaints many at once (and in worker processes): the error still
    # names the complaint, and comes back from a worker whole.
    assert run(ledger_url, "apply", "-", input=jsonl([receive_cmd("TS-1")])).exit_code == 0
    change_received(ledger_url, change)
    before = event_count(ledger_url)

    written = run(
        ledger_url, "apply", "-", *how, input=jsonl(life_cmds("TS-1", until="triage")[1:])
    )

    assert written.exit_code == 1, written.output
    [line] = written.output.splitlines()
    said_of_ts1(line.removeprefix("Error: "))
    assert event_count(ledger_url) == before


@pytest.mark.parametrize("change", ["topic_of_no_class", "state_of_wrong_types"])
def test_a_changed_event_is_a_500_problem_and_no_traceback(
    ledger_url: str, tmp_path: Path, change: str
) -> None:
    token = staff_directory(ledger_url)["li"]
    log = tmp_path / "server.log"
    with served(ledger_url, log) as client:
        assert post(client, token, body(receive_cmd("TS-1")), "TS-1-receive").status_code == 201
        caught_up(client)
        change_received(ledger_url, change)
        before = event_count(ledger_url)

        answer = post(client, token, NOTE, "after-the-change")

    assert answer.status_code == 500, answer.text
    assert answer.headers["content-type"] == PROBLEM
    said_of_ts1(answer.json()["detail"])
    assert event_count(ledger_url) == before
    assert "Traceback" not in log.read_text(), log.read_text()
    assert ADVICE in log.read_text()  # the operator is told too


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize(
    "read",
    [
        ["show", "TS-1", "--as-of", "2027-01-01T00:00:00+00:00"],
        ["show", "TS-1", "--known-at", "2027-01-01T00:00:00+00:00"],
        ["history", "TS-1", "--as-of", "2027-01-01T00:00:00+00:00"],
        ["history", "TS-1", "--known-at", "2027-01-01T00:00:00+00:00"],
        ["history", "TS-1", "--version", "1"],
    ],
    ids=["show_as_of", "show_known_at", "history_as_of", "history_known_at", "history_version"],
)
def test_a_changed_event_is_one_error_line_for_reads_at_a_moment(
    ledger_url: str, change: str, read: list[str]
) -> None:
    # Reading as of a moment sorts the events by their dates before replaying them: a date of
    # another type is still the one error, not a traceback of the comparison.
    assert run(ledger_url, "apply", "-", input=jsonl([receive_cmd("TS-1")])).exit_code == 0
    change_received(ledger_url, change)

    result = run(ledger_url, *read)

    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: "), result.output
    said_of_ts1(result.output.removeprefix("Error: ").removesuffix("\n"))


@pytest.mark.parametrize("field", ["received_at", "timestamp", "channel"])
@pytest.mark.parametrize(
    "read",
    [["show", "TS-1"], ["history", "TS-1"], ["history", "TS-1", "--as-of", "2027-01-01T00:00:00Z"]],
    ids=["show", "history", "history_as_of"],
)
def test_one_field_of_another_type_is_one_error_line_for_reads(
    ledger_url: str, field: str, read: list[str]
) -> None:
    # One field alone, that applying the event does not trip on (a date, the library's
    # timestamp) or trips on with a ValueError (an enum): the reads still say the one error.
    assert run(ledger_url, "apply", "-", input=jsonl([receive_cmd("TS-1")])).exit_code == 0
    with superuser(ledger_url) as su:
        position = su.position_of("TS-1", 1)
        state = {**json.loads(su.state_at(position)), field: 5}
        su.sql(
            f"UPDATE {su.events} SET state = ? WHERE {su.pos} = ?",
            json.dumps(state).encode(),
            position,
        )

    result = run(ledger_url, *read)

    assert result.exit_code == 1, result.output
    said_of_ts1(result.output.removeprefix("Error: ").removesuffix("\n"))
    assert f"(its {field} is not of its type)" in result.output


@pytest.mark.parametrize("change", ["topic_of_no_class", "state_of_wrong_types"])
@pytest.mark.parametrize("how", [[], ["--bulk"]], ids=["one_by_one", "bulk"])
def test_a_command_applied_again_over_a_changed_event_is_the_one_error(
    ledger_url: str, change: str, how: list[str]
) -> None:
    # Its command_id is known: telling whether it is the same command reads the complaint's
    # key (``key_of``), whose failure must not pass for "personal data erased".
    receive = jsonl([receive_cmd("TS-1")])
    assert run(ledger_url, "apply", "-", input=receive).exit_code == 0
    change_received(ledger_url, change)

    again = run(ledger_url, "apply", "-", *how, input=receive)

    assert again.exit_code == 1, again.output
    refused = again.output.splitlines()[0]
    assert "erased" not in again.output, again.output
    said_of_ts1(refused.removeprefix("Error: ").removeprefix("line 1: "))
