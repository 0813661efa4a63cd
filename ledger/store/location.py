"""Where a ledger lives: its URL read into the library's settings, and the database checked
before anything is written to it.

A SQLite ledger owns its file: a file that is neither empty nor a ledger (another
application's database, a text file, a damaged or truncated ledger) is refused before the
library opens it, so it is never written to. A ledger marks its file when it creates its
tables (``PRAGMA application_id``); a ledger made before the mark existed is recognised by
its tables. A PostgreSQL schema may be shared with other applications, so other tables are
fine there, but a table with one of the ledger's own names and other columns is refused.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import psycopg
from eventsourcing.utils import get_topic

from ledger.domain.errors import StoreUnavailable
from ledger.store.audit_postgres import DB_FUNCTIONS_REFUSED
from ledger.store.names import (
    APPLICATION_ID,
    COMMAND_LOG,
    DB_FUNCTION_SETTINGS,
    DB_FUNCTIONS,
    EVENT_COLUMNS,
    STORED_EVENTS,
    postgres_columns,
)
from ledger.store.recorders import PostgresLedgerRecorder, SQLiteLedgerRecorder

DEFAULT_URL = "sqlite:///complaints.db"
CONNECT_TIMEOUT_SECONDS = 5
READ_ONLY = "LEDGER_READ_ONLY"  # in the settings of a SQLite URL given ?mode=ro
_SQLITE_MAGIC = b"SQLite format 3\x00"
# A name that needs no quoting anywhere: the library looks its composite type up by the
# unquoted "schema.name", which folds capitals, so a schema with capitals cannot work.
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_OFF = frozenset({"", "n", "no", "f", "false", "off", "0"})


def shown(url: str) -> str:
    """``url`` fit for a message: the password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = quote(unquote(parts.username or ""), safe="")
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def persistence_env(url: str) -> dict[str, str]:
    """The eventsourcing settings that put the ledger where ``url`` says."""
    if not url.strip():
        raise StoreUnavailable(
            "the database URL is empty: give --db (or LEDGER_DB) a URL such as "
            f"{DEFAULT_URL}, or leave both unset for that default"
        )
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if parts.netloc or not path:
            raise StoreUnavailable(
                f"cannot use {url!r}: write sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        # ?mode=ro: only read the file, even where this process could write it.
        mode = parse_qs(parts.query).get("mode", ["rw"])[0]
        if mode not in ("ro", "rw"):
            raise StoreUnavailable(f"cannot use {url!r}: mode must be ro (read only) or rw")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": get_topic(SQLiteLedgerRecorder),
            **({READ_ONLY: "yes"} if mode == "ro" else {}),
        }
    if parts.scheme in ("postgresql", "postgres"):
        return _postgres_env(url)
    raise StoreUnavailable(
        f"cannot use {shown(url)!r}: the database URL must start with sqlite:/// or postgresql://"
    )


def _postgres_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        given = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        raise StoreUnavailable(
            f"cannot use {shown(url)!r}: the port {given!r} is not a number from 1 to 65535"
        ) from None
    query = parse_qs(parts.query)
    for name, values in query.items():
        if name.lower() in (DB_FUNCTIONS.lower(), "enable_db_functions") and any(
            v.strip().lower() not in _OFF for v in values
        ):
            raise StoreUnavailable(f"cannot use {shown(url)!r}: {DB_FUNCTIONS_REFUSED}")
    # A least-privilege role (sql/roles.sql) may not create tables: ?create_tables=no.
    create = query.get("create_tables", ["yes"])[0].lower()
    if create not in ("yes", "no", "true", "false"):
        raise StoreUnavailable(f"cannot use {shown(url)!r}: create_tables must be yes or no")
    schema = query.get("schema", [""])[0]
    if schema and not _SCHEMA_NAME.fullmatch(schema):
        raise StoreUnavailable(
            f"cannot use {shown(url)!r}: the schema {schema!r} is not a plain name "
            "(a small letter or _, then small letters, digits or _, at most 63 in all)"
        )
    return {
        "CREATE_TABLE": create,
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "postgres",
        "POSTGRES_HOST": parts.hostname or "localhost",
        "POSTGRES_PORT": str(port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT_SECONDS),
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_LOCK_TIMEOUT": "30",
        "APPLICATION_RECORDER_TOPIC": get_topic(PostgresLedgerRecorder),
    }


# ---------------------------------------------------------------------- SQLite


def check_sqlite_file(path: str) -> None:
    """Refuse a file that is not empty and not a ledger, before anything writes to it."""
    if ":memory:" in path or "mode=memory" in path:
        return
    try:
        with open(path, "rb") as file:
            header = file.read(100)
            size = file.seek(0, 2)
    except FileNotFoundError:
        return  # a new ledger
    except IsADirectoryError:
        raise StoreUnavailable(f"{path} is a directory, not a ledger file") from None
    except OSError as e:
        raise StoreUnavailable(f"cannot read the ledger file {path}: {e.strerror}") from None
    live_log = Path(path + "-wal").exists()
    if size == 0 and not live_log:
        return  # SQLite's own empty database: a new ledger
    if size > 0:
        if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
            raise StoreUnavailable(
                f"{path} is not a ledger: it is not a SQLite database; nothing was written to it"
            )
        if not live_log:
            _check_size(path, header, size)
        if int.from_bytes(header[68:72], "big") == APPLICATION_ID:
            return
    application, tables = _read_catalogue(path, live_log)
    if application not in (0, APPLICATION_ID):
        raise StoreUnavailable(
            f"{path} is not a ledger: it belongs to another application (application_id "
            f"{application:#x}); nothing was written to it"
        )
    if application == APPLICATION_ID or not tables:
        return
    events = tables.get(STORED_EVENTS, frozenset())
    if COMMAND_LOG in tables and events >= EVENT_COLUMNS:
        return  # a ledger created before the mark existed
    names = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "")
    raise StoreUnavailable(
        f"{path} is not a ledger: it is another application's database (tables {names}); "
        "nothing was written to it. Give --db a new file"
    )


def _check_size(path: str, header: bytes, size: int) -> None:
    """A damaged or truncated file, told from its header (no write-ahead log in use, so the
    file holds every committed page and its header is current)."""
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    header_is_current = header[24:28] == header[92:96]
    if page_size < 512 or page_size & (page_size - 1) or size % page_size:
        raise StoreUnavailable(
            f"{path} is damaged: its size ({size} bytes) is not a whole number of its pages; "
            "restore it from a backup. Nothing was written to it"
        )
    if header_is_current and pages * page_size > size:
        raise StoreUnavailable(
            f"{path} is damaged: it holds {size // page_size} of its {pages} pages (truncated); "
            "restore it from a backup. Nothing was written to it"
        )


def _read_catalogue(path: str, live_log: bool) -> tuple[int, dict[str, frozenset[str]]]:
    """The file's application id and its tables with their columns, read without writing.
    Without a write-ahead log the file is read as immutable: SQLite then creates no -wal,
    -shm or -journal file beside it."""
    mode = "mode=ro" if live_log else "immutable=1"
    uri = f"{Path(path).absolute().as_uri()}?{mode}"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            application = int(conn.execute("PRAGMA application_id").fetchone()[0])
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
                )
            ]
            tables = {
                name: frozenset(
                    row[0] for row in conn.execute("SELECT name FROM pragma_table_info(?)", (name,))
                )
                for name in names
            }
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise StoreUnavailable(f"{path} cannot be read as a ledger: {e}") from None
    return application, tables


# ---------------------------------------------------------------------- PostgreSQL


def refuse_db_functions(*settings: Mapping[str, str]) -> None:
    """Refuse ``POSTGRES_ENABLE_DB_FUNCTIONS`` (or the library's name for it prefixed with
    the application's) switched on in any of ``settings``: the ledger's own, or the process
    environment. The ledger does not read the environment, so there it would be ignored;
    refused, nobody believes it is in force."""
    for source in settings:
        for name in DB_FUNCTION_SETTINGS:
            value = source.get(name)
            if value is not None and value.strip().lower() not in _OFF:
                raise StoreUnavailable(f"{name}={value} is set: {DB_FUNCTIONS_REFUSED}; unset it")


def connect_postgres(env: Mapping[str, str]) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            autocommit=True,
        )
    except psycopg.Error as e:
        where = f"{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}"
        raise StoreUnavailable(f"cannot reach PostgreSQL at {where}: {libpq_reason(e)}") from None


def libpq_reason(error: Exception) -> str:
    """libpq's whole message on one line: its first lines say why (refused, no such
    database, closed by the server), the later ones only add hints."""
    lines = [" ".join(line.split()) for line in str(error).splitlines()]
    return " ".join(line for line in lines if line) or type(error).__name__


def check_postgres_schema(conn: psycopg.Connection[Any], schema: str, events_table: str) -> None:
    """Refuse a schema where a table bears one of the ledger's names but not its columns
    (another application's table): the ledger would write into it, or fail half-way."""
    expected = postgres_columns(events_table)
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = ANY(%s)",
        (schema, list(expected)),
    ).fetchall()
    found: dict[str, set[str]] = {}
    for table, column in rows:
        found.setdefault(table, set()).add(column)
    for table, columns in sorted(found.items()):
        if columns != expected[table]:
            raise StoreUnavailable(
                f"the schema {schema} holds a table {table} that is not the ledger's (columns "
                f"{', '.join(sorted(columns))}); nothing was written. Put the ledger in a "
                "schema of its own: ?schema=NAME"
            )
