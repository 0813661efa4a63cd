"""A database that cannot be a ledger gets one ``Error: …`` line, exit 1, and is left
exactly as it was: damaged or foreign SQLite files, bad URLs, an empty URL, schemas that
hold another application's tables, unreachable servers."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.integrity.seals import read_digest, sign
from ledger.store.audit_sqlite import APPLICATION_ID
from tests.audit_helpers import SEAL_ENV
from tests.conftest import PG_DSN, pg_url
from tests.helpers import jsonl, life_cmds, run

CS = ["--actor", "li", "--role", "customer_service"]
RECEIVE = [
    "receive",
    "--channel",
    "phone",
    "--received-at",
    "2026-09-24T16:00:00+08:00",
    "--name",
    "张三",
    "--content",
    "深夜来电",
    "--category",
    "harassment",
    *CS,
]
COMMANDS = {"a read": ["list"], "a write": RECEIVE, "verify": ["verify"]}


def assert_one_error_line(result_exit: int, stderr: str, stdout: str) -> str:
    assert result_exit == 1, stderr
    assert stderr.startswith("Error: "), stderr
    assert stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr + stdout
    return stderr.strip()


def snapshot(path: Path) -> tuple[bytes, list[str]]:
    """The file's bytes and every file beside it (a -wal, -shm or -journal must not appear)."""
    return path.read_bytes(), sorted(p.name for p in path.parent.iterdir())


def small_ledger(path: Path) -> Path:
    """A ledger of a few complaints, checkpointed into its file (no write-ahead log left)."""
    commands = [c for ref in ("TS-1", "TS-2", "TS-3") for c in life_cmds(ref)]
    assert run(f"sqlite:///{path}", "apply", "-", input=jsonl(commands)).exit_code == 0
    assert not Path(f"{path}-wal").exists()
    return path


def random_bytes(folder: Path) -> Path:
    path = folder / "random.db"
    path.write_bytes(os.urandom(8192))
    return path


def text_file(folder: Path) -> Path:
    path = folder / "notes.db"
    path.write_text("这不是数据库\nnot a database either\n", encoding="utf-8")
    return path


def truncated_mid_page(folder: Path) -> Path:
    data = small_ledger(folder / "whole.db").read_bytes()
    path = folder / "truncated.db"
    path.write_bytes(data[: len(data) // 2 + 100])
    return path


def truncated_at_a_page(folder: Path) -> Path:
    data = small_ledger(folder / "whole.db").read_bytes()
    path = folder / "truncated.db"
    path.write_bytes(data[: 4096 * (len(data) // 4096 // 2)])
    return path


def header_only(folder: Path) -> Path:
    data = small_ledger(folder / "whole.db").read_bytes()
    path = folder / "truncated.db"
    path.write_bytes(data[:60])
    return path


CORRUPT = {
    "random bytes": (random_bytes, "is not a ledger: it is not a SQLite database"),
    "a text file": (text_file, "is not a ledger: it is not a SQLite database"),
    "a ledger cut mid-page": (truncated_mid_page, "is damaged: its size"),
    "a ledger cut at a page": (truncated_at_a_page, "pages (truncated)"),
    "a ledger cut inside its header": (header_only, "is not a ledger: it is not a SQLite"),
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize(("make", "expected"), CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_sqlite_file_is_refused_in_one_line_and_left_untouched(
    tmp_path: Path, make: Callable[[Path], Path], expected: str, command: list[str]
) -> None:
    path = make(tmp_path)
    before = snapshot(path)

    result = run(f"sqlite:///{path}", *command)

    message = assert_one_error_line(result.exit_code, result.stderr, result.stdout)
    assert message.startswith(f"Error: {path} ")
    assert expected in message
    assert snapshot(path) == before


def foreign_app(folder: Path) -> Path:
    path = folder / "crm.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers VALUES (1, '李四')")
    conn.close()
    return path


def foreign_event_store(folder: Path) -> Path:
    """Another event-sourced application's file: a ``stored_events`` table of the same shape."""
    path = folder / "other-app.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
            "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
        )
        conn.execute("INSERT INTO stored_events VALUES ('a', 1, 'shop:Order.Created', x'7b7d')")
    conn.close()
    return path


def foreign_wal(folder: Path) -> Path:
    """A foreign file in write-ahead-log mode, checkpointed and closed."""
    path = folder / "wal-app.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE readings (at TEXT, value REAL)")
    conn.commit()
    conn.close()
    return path


def foreign_marked(folder: Path) -> Path:
    """A file another application marked as its own, with no tables yet."""
    path = folder / "marked.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1234")
    conn.commit()
    conn.close()
    return path


FOREIGN = {
    "another application's database": (foreign_app, "tables customers"),
    "one with its own stored_events": (foreign_event_store, "tables stored_events"),
    "a WAL-mode database": (foreign_wal, "tables readings"),
    "one marked by another application": (foreign_marked, "application_id 0x4d2"),
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize(("make", "expected"), FOREIGN.values(), ids=FOREIGN.keys())
def test_a_foreign_sqlite_file_is_refused_and_never_written(
    tmp_path: Path, make: Callable[[Path], Path], expected: str, command: list[str]
) -> None:
    path = make(tmp_path)
    before = snapshot(path)

    result = run(f"sqlite:///{path}", *command)

    message = assert_one_error_line(result.exit_code, result.stderr, result.stdout)
    assert message.startswith(f"Error: {path} is not a ledger: ")
    assert expected in message
    assert snapshot(path) == before


def test_a_new_ledger_marks_its_file_and_an_empty_file_becomes_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()

    result = run(f"sqlite:///{path}", *RECEIVE)

    assert result.exit_code == 0, result.stderr
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.close()


def test_a_ledger_made_before_the_mark_still_opens_and_stays_unmarked(tmp_path: Path) -> None:
    path = small_ledger(tmp_path / "old.db")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 0")
    conn.commit()
    conn.close()

    listed = run(f"sqlite:///{path}", "show", "TS-2")
    verified = run(f"sqlite:///{path}", "verify", "--no-anchor")

    assert listed.exit_code == 0, listed.stderr
    assert "TS-2" in listed.stdout
    assert verified.exit_code == 0, verified.stderr
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0
    conn.close()


# ---------------------------------------------------------------------- empty URL


@pytest.mark.parametrize("how", ["--db ''", "LEDGER_DB=''"])
def test_an_empty_database_url_is_an_error_and_creates_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["list", "--db", ""] if how.startswith("--db") else ["list"]

    result = run("", *args)

    message = assert_one_error_line(result.exit_code, result.stderr, result.stdout)
    assert message.startswith("Error: the database URL is empty")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- PostgreSQL URLs


def test_a_postgres_url_with_a_port_that_is_not_a_number_is_refused() -> None:
    result = run("postgresql://postgres:secret@127.0.0.1:abc/x", "list")

    message = assert_one_error_line(result.exit_code, result.stderr, result.stdout)
    assert message == (
        "Error: cannot use 'postgresql://postgres:***@127.0.0.1:abc/x': the port 'abc' is "
        "not a number from 1 to 65535"
    )


@pytest.mark.parametrize(
    "schema", ["x;drop table y", 'x"; DROP TABLE y; --', "1abc", "a" * 64, "x y", "Ledger"]
)
def test_a_schema_that_is_not_a_plain_name_is_refused_before_any_sql(schema: str) -> None:
    result = run(f"{PG_DSN}?schema={schema}", "list")

    message = assert_one_error_line(result.exit_code, result.stderr, result.stdout)
    assert f"the schema {schema!r} is not a plain name" in message


def tables_of(schema: str) -> dict[str, list[str]]:
    with psycopg.connect(PG_DSN) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
            (schema,),
        ).fetchall()
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(table, []).append(column)
    return found


@pytest.mark.parametrize("table", ["command_log", "complaintledger_events", "person_keys"])
def test_a_schema_whose_table_has_a_ledger_name_but_other_columns_is_refused(
    postgres_schema: str, table: str
) -> None:
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {postgres_schema}.{table} (id serial, body text)")
    before = tables_of(postgres_schema)

    result = run(pg_url(postgres_schema), *RECEIVE)

    message = assert_one_error_line(result.exit_code, result.stderr, result.stdout)
    assert message == (
        f"Error: the schema {postgres_schema} holds a table {table} that is not the ledger's "
        "(columns body, id); nothing was written. Put the ledger in a schema of its own: "
        "?schema=NAME"
    )
    assert tables_of(postgres_schema) == before


def test_a_shared_schema_with_other_tables_is_usable(postgres_schema: str) -> None:
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {postgres_schema}.stored_events (id serial, body text)")
        conn.execute(f"CREATE TABLE {postgres_schema}.customers (id serial, name text)")

    result = run(pg_url(postgres_schema), *RECEIVE)

    assert result.exit_code == 0, result.stderr
    assert tables_of(postgres_schema)["stored_events"] == ["id", "body"]


@pytest.fixture
def closing_server() -> Iterator[int]:
    """A port on which something accepts connections and closes them at once."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def free_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


def test_a_server_that_hangs_up_is_named_with_libpqs_reason(closing_server: int) -> None:
    result = run(f"postgresql://postgres@127.0.0.1:{closing_server}/test", "list")

    message = assert_one_error_line(result.exit_code, result.stderr, result.stdout)
    assert message.startswith(f"Error: cannot reach PostgreSQL at 127.0.0.1:{closing_server}/test")
    assert "server closed the connection unexpectedly" in message


def test_a_refused_connection_says_it_was_refused() -> None:
    port = free_port()

    result = run(f"postgresql://postgres@127.0.0.1:{port}/test", "list")

    message = assert_one_error_line(result.exit_code, result.stderr, result.stdout)
    assert "Connection refused" in message
    assert "Is the server running on that host" in message


# ---------------------------------------------------------------------- keys and digests


@pytest.fixture
def sealed(tmp_path: Path) -> tuple[str, Path]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert run(url, "apply", "-", input=jsonl(life_cmds("TS-D", until="triage"))).exit_code == 0
    digest = tmp_path / "digest.json"
    assert run(url, "seal", "--out", str(digest), env=SEAL_ENV).exit_code == 0
    return url, digest


@pytest.mark.parametrize("key", ["zz", "ab" * 31, "ab" * 33, "g" * 64, ""])
def test_a_public_key_that_is_not_one_is_refused_as_such(
    sealed: tuple[str, Path], key: str
) -> None:
    url, _ = sealed

    result = run(url, "verify", "--public-key", key)

    message = assert_one_error_line(result.exit_code, result.stderr, result.stdout)
    assert message == (
        f"Error: --public-key: {key!r} is not an Ed25519 public key (64 hex digits, as in a "
        "digest's public_key)"
    )


def test_the_seal_key_in_capitals_verifies_like_the_same_key(sealed: tuple[str, Path]) -> None:
    url, digest = sealed
    key = json.loads(digest.read_text())["public_key"]

    result = run(url, "verify", "--public-key", key.upper())

    assert result.exit_code == 0, result.stderr


MALFORMED = {
    "a public key that is not hex": (("public_key",), "zz", "'zz' is not an Ed25519 public key"),
    "a short signature": (("signature",), "abcd", "signature is not 64 bytes in hex"),
    "a position given as text": (("seal", "position"), "3", "seal.position is not a whole number"),
    "a head that is not a hash": (("seal", "head"), "x", "seal.head is not 32 bytes in hex"),
    "no seal at all": (("seal",), None, "no 'seal'"),
}


@pytest.mark.parametrize(("where", "value", "said"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_digest_is_blamed_on_the_digest(
    sealed: tuple[str, Path], where: tuple[str, ...], value: object, said: str
) -> None:
    url, digest = sealed
    data = json.loads(digest.read_text())
    target = data
    for key in where[:-1]:
        target = target[key]
    if value is None:
        del target[where[-1]]
    else:
        target[where[-1]] = value
    digest.write_text(json.dumps(data))

    result = run(url, "verify", "--digest", str(digest))

    message = assert_one_error_line(result.exit_code, result.stderr, result.stdout)
    assert message.startswith(f"Error: {digest} is not a ledger digest: ")
    assert said in message


def test_a_tampered_digest_is_blamed_on_the_digest(sealed: tuple[str, Path]) -> None:
    url, digest = sealed
    data = json.loads(digest.read_text())
    data["seal"]["head"] = "00" * 32
    digest.write_text(json.dumps(data))

    result = run(url, "verify", "--digest", str(digest))

    message = assert_one_error_line(result.exit_code, result.stderr, result.stdout)
    assert message == (
        f"Error: the digest's signature does not match its seal (position 2, key "
        f"{data['key_id']}): the digest file was altered or damaged; the ledger was not "
        "checked against it"
    )


def test_a_digest_signed_with_another_key_names_both_keys(sealed: tuple[str, Path]) -> None:
    url, digest = sealed
    original = read_digest(digest)
    forger = Ed25519PrivateKey.generate()
    forged = sign(original.seal, forger)
    digest.write_text(forged.to_json())

    result = run(url, "verify", "--digest", str(digest))
    with_key = run(url, "verify", "--digest", str(digest), "--public-key", original.public_key)

    message = assert_one_error_line(result.exit_code, result.stderr, result.stdout)
    assert message == (
        f"Error: the ledger's seal at position 2 was signed by key {original.key_id}, the "
        f"digest by key {forged.key_id}: the digest is not this ledger's, or the ledger's "
        "seals were replaced"
    )
    assert with_key.stderr == (
        f"Error: the digest was signed by key {forged.key_id}, not by key {original.key_id} "
        "(--public-key): the ledger was not checked against it\n"
    )
