"""A lean read of the case read models, for the reports that are SQL over them alone
(``report sla --summary`` and its pages): one connection, sqlite3 or psycopg, and none of
the library's application, mapper, cipher or pool.

It is an optimisation and nothing more: it answers only where it can tell cheaply that the
full path (``projections.query.open_query``) would read the same rows and say the same lag.
Anything else — a URL with settings beyond the plain ones, a file or schema that is not
plainly a ledger, a read model missing or of an older shape, a lag over ``--max-lag``, a
connection that fails, read models a catch-up might move — gives ``None``, and the caller
takes the full path, whose answer or ``Error:`` line is then exactly today's.

Catching up: where the connection may write the read models and a catch-up is asked for,
the lean read answers only when the runner's catch-up would do nothing (``_check_idle``);
otherwise the full path catches up, then reads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ledger.store.names import (
    APPLICATION_ID,
    DB_FUNCTION_SETTINGS,
    POSTGRES_EVENTS,
    STORED_EVENTS,
    postgres_columns,
)
from projections.db import Cursor, quoted
from projections.schema import CASES_SHAPE, DDL, HEAD_FUNCTION, POSITIONS, SHAPE_KEY

POSTGRES_COLUMNS = postgres_columns(POSTGRES_EVENTS)
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SQLITE_MAGIC = b"SQLite format 3\x00"
CONNECT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Lag:
    """How far the read models are behind the log, in events."""

    position: int  # the last event the read models reflect
    head: int | None  # the log's last event; None when this login may not see the log

    @property
    def events(self) -> int | None:
        return None if self.head is None else max(self.head - self.position, 0)

    def as_dict(self) -> dict[str, int | None]:
        return {"lag": self.events, "position": self.position, "head": self.head}


class _Decline(Exception):
    """The lean read cannot tell it would answer as the full path: take that instead."""


class LeanQuery:
    """The case read models of one ledger over one connection, read as they stand; the
    ``transaction`` and ``lag`` of ``projections.query.Query`` for the reads that need no
    more."""

    def __init__(self, conn: Any, postgres: bool, schema: str | None, lag: Lag) -> None:
        self.conn, self.postgres, self.schema, self._lag = conn, postgres, schema, lag
        self.names = {t: self.name(t) for t in (*DDL, POSITIONS)}

    def name(self, table: str) -> str:
        return quoted(self.schema, table) if self.postgres and self.schema else quoted(table)

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """A read: rolled back at the end, whatever it did."""
        if self.postgres:
            with self.conn.transaction(force_rollback=True), self.conn.cursor() as raw:
                yield Cursor(raw, True, self.names)
            return
        raw = self.conn.cursor()
        raw.execute("BEGIN")
        try:
            yield Cursor(raw, False, self.names)
        finally:
            if self.conn.in_transaction:
                self.conn.rollback()
            raw.close()

    def lag(self, read: str, max_lag: int | None = None) -> Lag:
        assert read == "cases", read
        return self._lag

    def close(self) -> None:
        self.conn.close()


def open_lean(
    url: str, *, catch_up: bool, max_lag: int | None = None, read: str = "cases"
) -> LeanQuery | None:
    """The case read models at ``url`` opened lean, or None where the full path must answer."""
    if read != "cases":
        return None
    parts = urlsplit(url)
    try:
        if parts.scheme == "sqlite":
            query = _sqlite(parts, catch_up)
        elif parts.scheme in ("postgresql", "postgres"):
            query = _postgres(parts, catch_up)
        else:
            return None
    except _Decline:
        return None
    except Exception:  # any failure is the full path's to report, in its own words
        return None
    events = query._lag.events
    if max_lag is not None and (events is None or events > max_lag):
        query.close()
        return None
    return query


# ---------------------------------------------------------------------- SQLite


def _sqlite(parts: Any, catch_up: bool) -> LeanQuery:
    import sqlite3

    if parts.netloc or parts.query or parts.fragment or not parts.path.startswith("/"):
        raise _Decline
    path = unquote(parts.path[1:])
    if not path or ":memory:" in path or "mode=memory" in path or path.startswith("file:"):
        raise _Decline
    file, log = Path(path), Path(path + "-wal")
    if not file.is_file():
        raise _Decline
    with open(file, "rb") as f:
        header = f.read(100)
        size = f.seek(0, 2)
    if size == 0 or len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise _Decline
    if int.from_bytes(header[68:72], "big") != APPLICATION_ID:
        raise _Decline  # an unmarked or foreign file: the full path's checks decide
    live_log = log.exists()
    if not live_log:
        page = int.from_bytes(header[16:18], "big")
        page = 65536 if page == 1 else page
        pages = int.from_bytes(header[28:32], "big")
        if page < 512 or page & (page - 1) or size % page:
            raise _Decline
        if header[24:28] == header[92:96] and pages * page > size:
            raise _Decline
    writable = os.access(file, os.W_OK) and os.access(file.parent, os.W_OK)
    if writable:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    else:
        mode = "mode=ro" if live_log else "immutable=1"
        conn = sqlite3.connect(f"{file.absolute().as_uri()}?{mode}", uri=True,
                               isolation_level=None, timeout=30)  # fmt: skip
    try:
        conn.row_factory = sqlite3.Row
        cur = conn.cursor()
        cur.execute("BEGIN")
        try:
            found = {
                r[0]
                for r in cur.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?, ?, ?)",
                    (STORED_EVENTS, "case_state", "sla_clocks", POSITIONS),
                )
            }
            if len(found) < 4:
                raise _Decline
            position, shape = _positions(cur, "?")
            head = int(cur.execute(f"SELECT MAX(rowid) FROM {STORED_EVENTS}").fetchone()[0] or 0)
            if writable and catch_up:  # the full path would catch up: unless it is idle
                tables = [*DDL, POSITIONS]
                marks = ", ".join("?" * len(tables))
                cur.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name"
                            f" IN ({marks})", tables)  # fmt: skip
                if cur.fetchone()[0] != len(tables):
                    raise _Decline
                _check_idle(cur, position, head, shape)
        finally:
            conn.rollback()
            cur.close()
        if shape < CASES_SHAPE:
            raise _Decline
        return LeanQuery(conn, False, None, Lag(position, head))
    except BaseException:
        conn.close()
        raise


def _check_idle(
    cur: Any, position: int, head: int | None, shape: int, dirty: str = quoted("statistics_dirty")
) -> None:
    """Decline unless ``Runner.catch_up_all(names=("cases",))`` would do nothing: every table
    there (``ensure``), the current shape (``_upgrade``), the log's head reached (``_run``),
    no statistics marked to work out (``_refresh_statistics``)."""
    if head is None or position != head or shape < CASES_SHAPE:
        raise _Decline
    cur.execute(f"SELECT 1 AS marked FROM {dirty} LIMIT 1")
    if cur.fetchone() is not None:
        raise _Decline


def _positions(cur: Any, mark: str, positions: str = quoted(POSITIONS)) -> tuple[int, int]:
    """The case read models' position and shape."""
    cur.execute(f"SELECT name, position FROM {positions} WHERE name IN ({mark}, {mark})",
                ("cases", SHAPE_KEY))  # fmt: skip
    found = {r["name"]: int(r["position"]) for r in cur.fetchall()}
    return found.get("cases", 0), found.get(SHAPE_KEY, 1)


# ---------------------------------------------------------------------- PostgreSQL


def _postgres(parts: Any, catch_up: bool) -> LeanQuery:
    query = parse_qs(parts.query, keep_blank_values=True)
    if set(query) - {"schema"} or parts.fragment or len(query.get("schema", [""])) > 1:
        raise _Decline
    if any(name in os.environ for name in DB_FUNCTION_SETTINGS):
        raise _Decline  # refused (or at least looked at) by the full path
    schema = query.get("schema", [""])[0]
    if schema and not _SCHEMA_NAME.fullmatch(schema):
        raise _Decline
    port = parts.port  # a bad port raises: the full path words it
    import psycopg
    from psycopg.rows import dict_row

    conn = psycopg.connect(
        dbname=unquote(parts.path.lstrip("/")) or "postgres",
        host=parts.hostname or "localhost",
        port=str(port or 5432),
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        autocommit=True,
        row_factory=dict_row,
    )
    try:
        lean = LeanQuery(conn, True, schema or None, Lag(0, None))
        # What open_reader checks: the ledger's tables are the ledger's, and the log exists.
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = ANY(%s)",
            (schema or "public", list(POSTGRES_COLUMNS)),
        ).fetchall()
        found: dict[str, set[str]] = {}
        for column in rows:
            found.setdefault(column["table_name"], set()).add(column["column_name"])
        if any(columns != POSTGRES_COLUMNS[t] for t, columns in found.items()):
            raise _Decline
        events = quoted(schema or "public", POSTGRES_EVENTS)
        function = f"{lean.name(HEAD_FUNCTION)}()"
        tables = [lean.name(t) for t in ("case_state", "sla_clocks", POSITIONS)]
        with conn.transaction(force_rollback=True), conn.cursor() as cur:
            cur.execute(
                "SELECT to_regclass(%s) IS NOT NULL AS log,"
                " (SELECT bool_and(to_regclass(t) IS NOT NULL) FROM unnest(%s::text[]) AS t)"
                " AS models",
                (events, tables),
            )
            row = cur.fetchone()
            if not (row and row["log"] and row["models"]):
                raise _Decline
            writer = catch_up and _may_write(cur, lean, events)
            position, shape = _positions(cur, "%s", lean.names[POSITIONS])
            if shape < CASES_SHAPE:
                raise _Decline
            cur.execute(
                "SELECT has_table_privilege(%s, 'SELECT') AS log, CASE WHEN to_regprocedure(%s)"
                " IS NULL THEN false ELSE has_function_privilege(%s, 'EXECUTE') END AS function",
                (events, function, function),
            )
            rights = cur.fetchone()
            assert rights is not None
            head: int | None = None
            if rights["log"]:
                cur.execute(f"SELECT MAX(notification_id) AS head FROM {events}")
                head = int((cur.fetchone() or {}).get("head") or 0)
            elif rights["function"]:
                cur.execute(f"SELECT {function} AS head")
                got = cur.fetchone()
                head = None if got is None else int(got["head"])
            if writer:  # the full path would catch up: unless it is idle
                cur.execute(
                    "SELECT bool_and(to_regclass(t) IS NOT NULL) AS ok FROM unnest(%s::text[]) t",
                    (list(lean.names.values()),),
                )
                if not (cur.fetchone() or {}).get("ok"):
                    raise _Decline
                _check_idle(cur, position, head, shape, lean.names["statistics_dirty"])
        lean._lag = Lag(position, head)
        return lean
    except BaseException:
        conn.close()
        raise


def _may_write(cur: Any, lean: LeanQuery, events: str) -> bool:
    """``Query.may_write``: whether the full path would catch the read models up."""
    cur.execute(
        "SELECT current_setting('transaction_read_only') = 'off'"
        " AND has_table_privilege(%s, 'SELECT')"
        " AND has_database_privilege(current_database(), 'TEMP')"
        " AND (SELECT bool_and(CASE WHEN to_regclass(t) IS NULL"
        "  THEN has_schema_privilege(%s, 'CREATE')"
        "  ELSE has_table_privilege(t, 'SELECT') AND has_table_privilege(t, 'INSERT')"
        "  AND has_table_privilege(t, 'UPDATE') AND has_table_privilege(t, 'DELETE')"
        "  END) FROM unnest(%s::text[]) AS t) AS ok",
        (events, lean.schema or "public", list(lean.names.values())),
    )
    row = cur.fetchone()
    return bool(row and row["ok"])
