"""The library's application recorders, extended with the command log.

The command log maps each command id to the complaint it touched and a
fingerprint of its content. It is written in the same transaction as the
command's events, so a command is either recorded with its events or not at
all, and a second writer with the same command id fails on the primary key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

COMMAND_LOG = "command_log"


@dataclass(frozen=True)
class CommandRecord:
    """A command that was applied: what it touched and how to recognise it again."""

    command_id: str
    ref: str
    fingerprint: str
    version: int


def command_records(kwargs: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    """The command-log rows passed to ``save`` as ``command=`` or ``commands=``."""
    records: list[CommandRecord] = list(kwargs.get("commands", ()))
    if kwargs.get("command") is not None:
        records.append(kwargs["command"])
    return [(r.command_id, r.ref, r.fingerprint, r.version) for r in records]


class SQLiteLedgerRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {COMMAND_LOG} ("
            "command_id TEXT PRIMARY KEY, ref TEXT NOT NULL, "
            "fingerprint TEXT NOT NULL, version INTEGER NOT NULL)",
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        records = command_records(kwargs)
        if records:
            c.executemany(f"INSERT INTO {COMMAND_LOG} VALUES (?, ?, ?, ?)", records)
        return ids

    def select_command(self, command_id: str) -> CommandRecord | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT command_id, ref, fingerprint, version FROM {COMMAND_LOG} "
                "WHERE command_id = ?",
                (command_id,),
            )
            row = c.fetchone()
        return None if row is None else CommandRecord(*row)


class PostgresLedgerRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.command_log = Identifier(self.datastore.schema, COMMAND_LOG)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                "command_id text PRIMARY KEY, ref text NOT NULL, "
                "fingerprint text NOT NULL, version bigint NOT NULL)"
            ).format(self.command_log)
        )

    def _insert_events(
        self,
        curs: psycopg.Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        records = command_records(kwargs)
        if records:
            curs.executemany(
                SQL("INSERT INTO {} VALUES (%s, %s, %s, %s)").format(self.command_log), records
            )

    def select_command(self, command_id: str) -> CommandRecord | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT command_id, ref, fingerprint, version FROM {} WHERE command_id = %s"
                ).format(self.command_log),
                (command_id,),
            )
            row = curs.fetchone()
        if row is None:
            return None
        return CommandRecord(row["command_id"], row["ref"], row["fingerprint"], row["version"])
