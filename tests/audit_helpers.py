"""Helpers for the audit tests: a seal key, and a superuser who tampers with the tables."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.domain.values import reference_id
from ledger.integrity.sealbook import SEAL_BOOK_ID, SEAL_BOOK_REF
from ledger.integrity.seals import public_bytes
from ledger.store.audit_sqlite import append_only_triggers
from tests.conftest import PG_DSN

SEAL_KEY = "5e" * 32  # a fixed Ed25519 private key (hex) for the tests
SEAL_ENV = {"LEDGER_SEAL_KEY": SEAL_KEY}
# What an auditor is given: the public half of SEAL_KEY, as verify's trust anchor.
SEAL_PUBLIC_KEY = public_bytes(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SEAL_KEY))).hex()
VERIFY_ENV = {"LEDGER_VERIFY_PUBLIC_KEY": SEAL_PUBLIC_KEY}


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def pg_schema(url: str) -> str:
    return parse_qs(urlsplit(url).query)["schema"][0]


class Superuser:
    """Direct SQL on the ledger's tables, with the append-only triggers out of the way, as a
    database administrator (or an attacker with the administrator's rights) could do."""

    def __init__(self, url: str, conn: Any) -> None:
        self.sqlite = is_sqlite(url)
        self.conn = conn
        self.events = "stored_events" if self.sqlite else "complaintledger_events"
        self.pos = "rowid" if self.sqlite else "notification_id"

    def sql(self, statement: str, *params: Any) -> list[Any]:
        if not self.sqlite:
            statement = statement.replace("?", "%s")
        cursor = self.conn.execute(statement, params)
        return list(cursor.fetchall()) if cursor.description else []

    def oid(self, ref: str) -> Any:
        oid = SEAL_BOOK_ID if ref == SEAL_BOOK_REF else reference_id(ref)
        return oid.hex if self.sqlite else oid

    def position_of(self, ref: str, version: int) -> int:
        rows = self.sql(
            f"SELECT {self.pos} FROM {self.events} WHERE originator_id = ? "
            "AND originator_version = ?",
            self.oid(ref),
            version,
        )
        return int(rows[0][0])

    def state_at(self, position: int) -> bytes:
        return bytes(
            self.sql(f"SELECT state FROM {self.events} WHERE {self.pos} = ?", position)[0][0]
        )

    def change_byte(self, position: int, offset: int) -> None:
        state = bytearray(self.state_at(position))
        state[offset] = state[offset] ^ 0x01
        self.sql(f"UPDATE {self.events} SET state = ? WHERE {self.pos} = ?", bytes(state), position)

    def delete(self, position: int) -> None:
        self.sql(f"DELETE FROM {self.events} WHERE {self.pos} = ?", position)

    def delete_complaint(self, ref: str) -> None:
        self.sql(f"DELETE FROM {self.events} WHERE originator_id = ?", self.oid(ref))

    def insert(self, ref: str, version: int, topic: str, state: bytes) -> int:
        self.sql(
            f"INSERT INTO {self.events} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)",
            self.oid(ref),
            version,
            topic,
            state,
        )
        return self.position_of(ref, version)

    def swap(self, first: int, second: int) -> None:
        for source, target in ((first, -1), (second, first), (-1, second)):
            self.sql(
                f"UPDATE {self.events} SET {self.pos} = ? WHERE {self.pos} = ?", target, source
            )

    def links(self) -> list[Any]:
        return self.sql("SELECT * FROM chain_links ORDER BY position")

    def replace_link(self, position: int, link: bytes, stream_link: bytes, record: bytes) -> None:
        self.sql(
            "UPDATE chain_links SET link = ?, stream_link = ?, record_hash = ? WHERE position = ?",
            link,
            stream_link,
            record,
            position,
        )

    def uuid(self, value: Any) -> UUID:
        return UUID(value) if isinstance(value, str) else value


@contextmanager
def superuser(url: str) -> Iterator[Superuser]:
    """Tamper in one transaction; the triggers are dropped (SQLite) or disabled (PostgreSQL)
    for it and restored afterwards."""
    tables = ("stored_events", "chain_links")
    if is_sqlite(url):
        conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
        conn.execute("BEGIN")
        for table in tables:
            for op in ("update", "delete"):
                conn.execute(f"DROP TRIGGER {table}_no_{op}")
        yield Superuser(url, conn)
        for table in tables:
            for statement in append_only_triggers(table):
                conn.execute(statement)
        conn.execute("COMMIT")
        conn.close()
        return
    with psycopg.connect(PG_DSN) as conn:
        conn.execute(f"SET search_path TO {pg_schema(url)}")
        for table in ("complaintledger_events", "chain_links"):
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        yield Superuser(url, conn)
        for table in ("complaintledger_events", "chain_links"):
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
