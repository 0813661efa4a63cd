"""The blind index of complainants: keyed digests of phone, ID number and account reference.

A complaint's complainant is found again by an HMAC-SHA256 of each normalised identifier
under a secret of the ledger (``index_secret``), never by the value and never by an unkeyed
hash: there are about 10^11 mobile numbers, so an unkeyed digest is undone by trying them
all. The secret sits in the ledger's own table, which ``sql/roles.sql`` denies the reader
(like the personal-data keys); the digests sit in ``complainant_index``, which the reader may
read, so a reader finds the same complainant's complaints by joining digests with digests
and never needs the secret. The rows are written in the transaction of the complaint's
``Received`` event and filed under its key id: the transaction that destroys the key
(``erase``, and ``reapply_erasures``) deletes them. docs/repeats.md explains the choices.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from psycopg.sql import SQL, Composed, Identifier, Literal

from ledger.domain.sealed import IndexEntry, LinkEntry
from ledger.domain.text import fold_width

INDEX_SECRET = "index_secret"
COMPLAINANT_INDEX = "complainant_index"
COMPLAINT_LINKS = "complaint_links"
SECRET_BYTES = 32
KINDS = ("phone", "id_number", "account_ref")
_SEPARATORS = re.compile(r"[\s\-]+")


def normalise(kind: str, value: str | None) -> str | None:
    """The form a value is indexed in: full-width characters folded (``fold_width``: what a
    Chinese input method types, ``１３８－…``, ``＋８６``, ``…002Ｘ``), spaces and dashes
    stripped; a phone without its ``+86`` (or ``0086``) country prefix; an ID number's
    check character ``x`` and an account reference in upper case. None when nothing is left."""
    if value is None:
        return None
    plain = _SEPARATORS.sub("", fold_width(value))
    if kind == "phone":
        for prefix in ("+86", "0086"):
            if plain.startswith(prefix):
                plain = plain.removeprefix(prefix)
                break
    else:
        plain = plain.upper()
    return plain or None


def index_time(moment: datetime) -> str:
    """A time as the index keeps it: fixed-width UTC ISO 8601, as the read models do."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def digest(secret: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 of ``kind:value`` (the kind keeps a phone from matching an account
    reference with the same digits), in hex."""
    message = f"{kind}:{value}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def index_entries(
    secret: bytes,
    *,
    key_id: str,
    ref: str,
    received_at: str,
    phone: str | None,
    id_number: str | None,
    account_ref: str | None,
) -> list[IndexEntry]:
    """The index rows of one complaint: one per identifier given."""
    values = {"phone": phone, "id_number": id_number, "account_ref": account_ref}
    entries = []
    for kind in KINDS:
        plain = normalise(kind, values[kind])
        if plain is not None:
            entries.append(IndexEntry(key_id, ref, kind, digest(secret, kind, plain), received_at))
    return entries


def index_rows(entries: Iterable[IndexEntry]) -> list[tuple[str, str, str, str, str]]:
    return [(e.key_id, e.ref, e.kind, e.digest, e.received_at) for e in entries]


def link_rows(entries: Iterable[LinkEntry]) -> list[tuple[str, str, str]]:
    return [(e.ref, e.other, e.occurred_at) for e in entries]


SQLITE_TABLES = [
    # One row (id 1): the secret the digests are keyed with.
    f"CREATE TABLE IF NOT EXISTS {INDEX_SECRET} "
    "(id INTEGER PRIMARY KEY CHECK (id = 1), secret BLOB NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {COMPLAINANT_INDEX} (key_id TEXT NOT NULL, ref TEXT NOT NULL, "
    "kind TEXT NOT NULL, digest TEXT NOT NULL, received_at TEXT NOT NULL, "
    "PRIMARY KEY (key_id, kind))",
    f"CREATE INDEX IF NOT EXISTS {COMPLAINANT_INDEX}_digest ON {COMPLAINANT_INDEX} (digest, ref)",
    f"CREATE INDEX IF NOT EXISTS {COMPLAINANT_INDEX}_ref ON {COMPLAINANT_INDEX} (ref)",
    f"CREATE TABLE IF NOT EXISTS {COMPLAINT_LINKS} (ref TEXT NOT NULL, other TEXT NOT NULL, "
    "occurred_at TEXT NOT NULL, PRIMARY KEY (ref, other))",
    f"CREATE INDEX IF NOT EXISTS {COMPLAINT_LINKS}_other ON {COMPLAINT_LINKS} (other)",
]


def postgres_tables(schema: str) -> list[Composed]:
    """The same tables on PostgreSQL, in ``schema``."""

    def name(table: str) -> Composed:
        return SQL("{}.{}").format(Identifier(schema), Identifier(table))

    index, links = name(COMPLAINANT_INDEX), name(COMPLAINT_LINKS)
    return [
        _secret_table(schema),
        SQL(
            "CREATE TABLE IF NOT EXISTS {} (key_id text NOT NULL, ref text NOT NULL, "
            "kind text NOT NULL, digest text NOT NULL, received_at text NOT NULL, "
            "PRIMARY KEY (key_id, kind))"
        ).format(index),
        SQL("CREATE INDEX IF NOT EXISTS {} ON {} (digest, ref)").format(
            Identifier(f"{COMPLAINANT_INDEX}_digest"), index
        ),
        SQL("CREATE INDEX IF NOT EXISTS {} ON {} (ref)").format(
            Identifier(f"{COMPLAINANT_INDEX}_ref"), index
        ),
        SQL(
            "CREATE TABLE IF NOT EXISTS {} (ref text NOT NULL, other text NOT NULL, "
            "occurred_at text NOT NULL, PRIMARY KEY (ref, other))"
        ).format(links),
        SQL("CREATE INDEX IF NOT EXISTS {} ON {} (other)").format(
            Identifier(f"{COMPLAINT_LINKS}_other"), links
        ),
    ]


def _secret_table(schema: str) -> Composed:
    """The secret's table on PostgreSQL, readable by its owner alone when it is created.

    ``sql/roles.sql`` gives the reader and the auditor SELECT on every table the owner
    creates later (default privileges); a ledger older than the blind index gets this table
    when the owner first opens it after the upgrade, so without the revocations here those
    logins could read the secret until the script ran again. Only a fresh table is touched:
    the writer's grants of a later run of the script stay."""
    return SQL(
        "DO $body$ DECLARE grantee text; BEGIN "
        "IF to_regclass({qualified}) IS NULL THEN "
        "CREATE TABLE {table} (id integer PRIMARY KEY CHECK (id = 1), secret bytea NOT NULL); "
        "FOR grantee IN SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' "
        "ELSE quote_ident(r.rolname) END "
        "FROM pg_class c, aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee "
        "WHERE c.oid = {qualified}::regclass AND a.grantee <> c.relowner LOOP "
        "EXECUTE 'REVOKE ALL ON ' || {qualified} || ' FROM ' || grantee; "
        "END LOOP; END IF; END $body$"
    ).format(
        qualified=Literal(f"{Identifier(schema).as_string()}.{INDEX_SECRET}"),
        table=SQL("{}.{}").format(Identifier(schema), Identifier(INDEX_SECRET)),
    )
