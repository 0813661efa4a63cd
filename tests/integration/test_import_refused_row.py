"""``import cfpb`` when the database refuses a row for a reason of its own (a constraint the
row breaks, not another writer's append): the row is rejected at once with what the
database said, not after five tries as if other writers kept changing its complaint."""

from __future__ import annotations

from pathlib import Path

import psycopg

from ledger.store.names import COMMAND_LOG
from tests.audit_helpers import is_sqlite, pg_schema, sqlite_path
from tests.conftest import PG_DSN
from tests.integration.test_import_races import (
    COMPLETION,
    NEW,
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
