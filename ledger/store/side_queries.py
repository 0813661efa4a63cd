"""The queries that check the command log against the events (``ledger.integrity.logcheck``).

Mixed into the recorders of ``ledger.store.recorders``; kept apart because only verification
uses them. Each reads; none writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composable, Composed

from ledger.store.names import COMMAND_LOG

CommandRow = tuple[str, str, int]  # command id, reference, version


class SQLiteSideQueries:
    datastore: SQLiteDatastore
    events_table_name: str

    def count_commands(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT COUNT(*) FROM {COMMAND_LOG}")
            return int(c.fetchone()[0])

    def command_rows(self, command_ids: Sequence[str]) -> list[CommandRow]:
        """The command-log entries among ``command_ids`` (one query per 500)."""
        found: list[CommandRow] = []
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(command_ids), 500):
                chunk = list(command_ids[start : start + 500])
                c.execute(
                    f"SELECT command_id, ref, version FROM {COMMAND_LOG} "
                    f"WHERE command_id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                found += [(r[0], r[1], r[2]) for r in c.fetchall()]
        return found

    def commands_of(self, ref: str) -> list[CommandRow]:
        """The command-log entries that name ``ref`` (a scan: the log has no index on ref)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT command_id, ref, version FROM {COMMAND_LOG} WHERE ref = ?", (ref,))
            return [(r[0], r[1], r[2]) for r in c.fetchall()]

    def scan_commands(self, after: str, limit: int) -> list[CommandRow]:
        """Command-log entries in command-id order, from after ``after``."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT command_id, ref, version FROM {COMMAND_LOG} WHERE command_id > ? "
                "ORDER BY command_id LIMIT ?",
                (after, limit),
            )
            return [(r[0], r[1], r[2]) for r in c.fetchall()]

    def event_states(self, keys: Sequence[tuple[UUID, int]]) -> dict[tuple[UUID, int], bytes]:
        """The stored bytes of the events at (originator id, version), where there is one."""
        found: dict[tuple[UUID, int], bytes] = {}
        with self.datastore.transaction(commit=False) as c:
            for oid, version in keys:
                c.execute(
                    f"SELECT state FROM {self.events_table_name} "
                    "WHERE originator_id = ? AND originator_version = ?",
                    (oid.hex, version),
                )
                row = c.fetchone()
                if row is not None:
                    found[(oid, version)] = bytes(row[0])
        return found


class PostgresSideQueries:
    datastore: PostgresDatastore
    events_table: Composed
    command_log: Composable

    def _rows(self, query: Composed, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as c:
            c.execute(query, params)
            return c.fetchall()

    def count_commands(self) -> int:
        return int(self._rows(SQL("SELECT COUNT(*) FROM {}").format(self.command_log))[0][0])

    def command_rows(self, command_ids: Sequence[str]) -> list[CommandRow]:
        """The command-log entries among ``command_ids`` (one query)."""
        query = SQL("SELECT command_id, ref, version FROM {} WHERE command_id = ANY(%s)")
        rows = self._rows(query.format(self.command_log), (list(command_ids),))
        return [(r[0], r[1], r[2]) for r in rows]

    def commands_of(self, ref: str) -> list[CommandRow]:
        """The command-log entries that name ``ref`` (a scan: the log has no index on ref)."""
        query = SQL("SELECT command_id, ref, version FROM {} WHERE ref = %s")
        return [(r[0], r[1], r[2]) for r in self._rows(query.format(self.command_log), (ref,))]

    def scan_commands(self, after: str, limit: int) -> list[CommandRow]:
        """Command-log entries in command-id order, from after ``after``."""
        query = SQL(
            "SELECT command_id, ref, version FROM {} WHERE command_id > %s "
            "ORDER BY command_id LIMIT %s"
        ).format(self.command_log)
        return [(r[0], r[1], r[2]) for r in self._rows(query, (after, limit))]

    def event_states(self, keys: Sequence[tuple[UUID, int]]) -> dict[tuple[UUID, int], bytes]:
        """The stored bytes of the events at (originator id, version), where there is one."""
        if not keys:
            return {}
        query = SQL(
            "SELECT e.originator_id, e.originator_version, e.state FROM {} AS e "
            "JOIN unnest(%s::uuid[], %s::bigint[]) AS k(id, version) "
            "ON e.originator_id = k.id AND e.originator_version = k.version"
        ).format(self.events_table)
        rows = self._rows(query, ([k[0] for k in keys], [k[1] for k in keys]))
        return {(r[0], r[1]): bytes(r[2]) for r in rows}
