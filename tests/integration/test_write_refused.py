"""A write the database refuses for a reason of its own (a constraint it breaks, not another
writer's append): ``import cfpb`` rejects the row at once with what the database said, and
``apply`` refuses the command with it, neither as if other writers kept changing the
complaint."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import psycopg
import pytest
from eventsourcing.domain import Aggregate

from commands.handlers import MAX_STALLS, LedgerPort, handle
from commands.models import parse_command
from ledger.domain.complaint import Complaint
from ledger.domain.sealed import KeyChanges
from ledger.store.names import COMMAND_LOG
from ledger.store.recorders import CommandRecord
from ledger.store.root import Ledger, open_ledger
from tests.audit_helpers import is_sqlite, pg_schema, sqlite_path
from tests.conftest import PG_DSN
from tests.helpers import jsonl, receive_cmd, run
from tests.integration.test_import_races import (
    COMPLETION,
    NEW,
    assign,
    import_json,
    newer_export,
    recorded,
)

REFUSED = "cfpb-9100004-close"


def refuse_command(url: str, command_id: str) -> None:
    """A constraint an administrator added to the command log, which one command breaks."""
    if is_sqlite(url):
        import sqlite3

        conn = sqlite3.connect(sqlite_path(url))
        with conn:
            conn.execute(
                f"CREATE TRIGGER refuse_one BEFORE INSERT ON {COMMAND_LOG} "
                f"WHEN NEW.command_id = '{command_id}' "
                "BEGIN SELECT RAISE(ABORT, 'refuse_one: this command is not wanted'); END"
            )
        conn.close()
        return
    with psycopg.connect(PG_DSN) as conn:
        conn.execute(
            f"ALTER TABLE {pg_schema(url)}.{COMMAND_LOG} ADD CONSTRAINT refuse_one "
            f"CHECK (command_id <> '{command_id}') NOT VALID"
        )


def test_a_row_the_database_refuses_is_rejected_with_the_databases_reason(
    ledger_url: str, tmp_path: Path
) -> None:
    assert import_json(ledger_url, str(NEW))[0] == 0
    refuse_command(ledger_url, REFUSED)

    code, summary = import_json(ledger_url, newer_export(tmp_path))

    assert code == 1
    [rejected] = summary["rejected"]
    assert rejected["line"] == 11
    reason = rejected["reason"]
    assert reason.startswith("CFPB-9100004: the database refused the row (")
    assert "refuse_one" in reason
    assert reason.endswith(
        "); no other writer had changed the complaint, and nothing of this row was imported"
    )
    assert "\n" not in reason
    assert "DETAIL" not in reason  # the refused row's values are not repeated
    assert "other writers kept changing" not in reason
    assert (summary["imported"], summary["skipped"], summary["events"]) == (0, 6, 0)
    assert recorded(ledger_url, [f"cfpb-9100004-{s}" for s in COMPLETION]) == []


@pytest.mark.parametrize("bulk", [False, True], ids=["one_by_one", "bulk"])
def test_a_command_the_database_refuses_is_one_error_line_not_other_writers(
    ledger_url: str, bulk: bool
) -> None:
    assert import_json(ledger_url, str(NEW))[0] == 0
    refuse_command(ledger_url, "other-writer")

    result = run(ledger_url, "apply", *(["--bulk"] if bulk else []), "-",
                 input=jsonl([assign("2020-03-05T12:00:00-05:00")]))  # fmt: skip

    assert result.exit_code == 1
    assert result.stdout == "applied 0, already applied 0, failed 1\n"
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: line 1: CFPB-9100004: the database refused assign (")
    assert "refuse_one" in line
    assert line.endswith("); no other writer had changed it")
    assert recorded(ledger_url, ["other-writer"]) == []


class OtherWriterFirst:
    """The ledger as a handler sees it, where another writer (a connection of its own)
    receives the new complaint under the reference this one is about to write, just before
    it writes, ``times`` times: each lost race is a real conflict in the real database."""

    def __init__(self, ledger: Ledger, other: Ledger, times: int) -> None:
        self.ledger, self.other, self.times = ledger, other, times

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ledger, name)

    def record(
        self, aggregate: Aggregate, command: CommandRecord, keys: KeyChanges | None = None
    ) -> None:
        if self.times and isinstance(aggregate, Complaint) and aggregate.ref.startswith("TS-"):
            self.times -= 1
            taken = receive_cmd(aggregate.ref, command_id=f"other-{self.times}")
            handle(self.other, parse_command(taken))
        self.ledger.record(aggregate, command, keys)


def test_a_numbered_receive_that_keeps_losing_its_number_to_other_writers_is_not_refused(
    ledger_url: str,
) -> None:
    # Each lost race is another writer taking the number: the next try is another complaint,
    # so the writers made progress, however many races it loses in a row.
    data = receive_cmd("unused", command_id="mine")
    del data["ref"]
    with open_ledger(ledger_url) as ledger, open_ledger(ledger_url) as other:
        racing = OtherWriterFirst(ledger, other, MAX_STALLS + 3)
        outcome = handle(cast(LedgerPort, racing), parse_command(data))

    assert outcome.ref == f"TS-20260924-{MAX_STALLS + 4:04d}"
    assert outcome.retries == MAX_STALLS + 3
