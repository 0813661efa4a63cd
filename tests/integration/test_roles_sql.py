"""``sql/roles.sql`` on the PostgreSQL server: the writer appends but cannot rewrite, the
reader sees only read models, the auditor reads everything and writes nothing, the feed reads
the log and writes its position only."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from tests.audit_helpers import SEAL_ENV, VERIFY_ENV
from tests.conftest import PG_DSN, pg_url
from tests.helpers import event_count, jsonl, life_cmds, run
from tests.nats_streams import Stream, message_count

SCRIPT = Path(__file__).resolve().parents[2] / "sql" / "roles.sql"
LEAD = ["--actor", "chen", "--role", "leadership"]


@pytest.fixture
def roles(postgres_schema: str) -> Iterator[dict[str, str]]:
    """The ledger's tables and a read model, the script run, and a login role per group."""
    owner_url = pg_url(postgres_schema)
    assert run(owner_url, "apply", "-", input=jsonl(life_cmds("TS-R"))).exit_code == 0
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {postgres_schema}.case_state (ref text PRIMARY KEY)")
        conn.execute(f"INSERT INTO {postgres_schema}.case_state VALUES ('TS-R')")
    prefix = f"{postgres_schema}_"
    script = ["-v", f"schema={postgres_schema}", "-v", f"prefix={prefix}", "-f", str(SCRIPT)]
    subprocess.run(["psql", PG_DSN, "-q", *script], check=True, capture_output=True)
    groups = ("writer", "reader", "auditor", "feed")
    logins = {group: f"{prefix}{group}_login" for group in groups}
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        for group, login in logins.items():
            conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE {prefix}{group}")
    yield logins
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        for role in [*logins.values(), *(f"{prefix}{g}" for g in logins)]:
            conn.execute(f"DROP OWNED BY {role} CASCADE")
            conn.execute(f"DROP ROLE {role}")


def connect(login: str, schema: str) -> psycopg.Connection[tuple[object, ...]]:
    conn = psycopg.connect(PG_DSN, user=login, autocommit=True)
    conn.execute(f"SET search_path TO {schema}")
    return conn


def test_the_writer_runs_the_ledger_but_cannot_rewrite_it(
    roles: dict[str, str], postgres_schema: str
) -> None:
    url = pg_url(postgres_schema).replace("postgres@", f"{roles['writer']}@")
    url += "&create_tables=no"

    note = run(url, "add-note", "TS-R", "--text", "回访", "--actor", "li", "--role", "leadership")
    erased = run(url, "erase", "TS-R", "--reason", "保存期满", *LEAD)
    sealed = run(url, "seal", "--out", "/dev/null", env=SEAL_ENV)

    assert (note.exit_code, erased.exit_code, sealed.exit_code) == (0, 0, 0), sealed.stderr
    assert run(url, "verify", env=VERIFY_ENV).exit_code == 0
    with connect(roles["writer"], postgres_schema) as conn:
        with pytest.raises(errors.RaiseException, match="append-only"):
            conn.execute("UPDATE complaintledger_events SET state = state")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("DELETE FROM complaintledger_events")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE complaintledger_events DISABLE TRIGGER USER")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("INSERT INTO case_state VALUES ('TS-X')")


def test_the_reader_sees_read_models_only(roles: dict[str, str], postgres_schema: str) -> None:
    with connect(roles["reader"], postgres_schema) as conn:
        assert conn.execute("SELECT ref FROM case_state").fetchall() == [("TS-R",)]
        for table in ("complaintledger_events", "chain_links", "command_log", "person_keys"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(f"SELECT 1 FROM {table}")


def test_the_auditor_reads_everything_and_writes_nothing(
    roles: dict[str, str], postgres_schema: str
) -> None:
    tables = ("complaintledger_events", "chain_links", "command_log", "person_keys", "case_state")
    with connect("postgres", postgres_schema) as conn:
        as_owner = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
    with connect(roles["auditor"], postgres_schema) as conn:
        as_auditor = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("INSERT INTO case_state VALUES ('TS-X')")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("DELETE FROM person_keys")

    url = pg_url(postgres_schema).replace("postgres@", f"{roles['auditor']}@")
    verified = run(url + "&create_tables=no", "verify", "--no-anchor")  # never sealed

    assert as_auditor == as_owner
    assert [len(as_owner[t]) for t in tables] == [8, 8, 8, 1, 1]  # TS-R's whole life, its key
    assert verified.exit_code == 0, verified.stderr
    assert verified.stdout.startswith("verified 8 events (to position 8) and 0 seals")


def test_the_feed_publishes_the_log_and_writes_only_its_position(
    roles: dict[str, str], postgres_schema: str, stream: Stream
) -> None:
    url = pg_url(postgres_schema).replace("postgres@", f"{roles['feed']}@")

    published = run(url, "feed", "nats", *stream.args, "--db", url, "--once")

    assert published.exit_code == 0, published.output
    assert message_count(stream) == event_count(pg_url(postgres_schema))
    with connect(roles["feed"], postgres_schema) as conn:
        assert conn.execute("SELECT count(*) FROM feed_positions").fetchone() == (1,)
        for table in ("person_keys", "command_log", "case_state"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(f"SELECT 1 FROM {table}")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("INSERT INTO complaintledger_events DEFAULT VALUES")


def test_a_ledger_upgraded_after_the_script_keeps_the_index_secret_from_the_readers(
    roles: dict[str, str], postgres_schema: str
) -> None:
    """A ledger older than the blind index gets ``index_secret`` when the owner first opens it
    after the upgrade, i.e. after the script ran: the script's default privileges would give
    the reader and the auditor SELECT on it, and the digests would be as weak as plain
    hashes. The owner creates it readable by no one else."""
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {postgres_schema}.index_secret")  # as before the upgrade
    owner = pg_url(postgres_schema)

    received = run(owner, "apply", "-", input=jsonl(life_cmds("TS-U", until="receive")))

    assert received.exit_code == 0, received.output
    for group in ("reader", "auditor"):
        with (
            connect(roles[group], postgres_schema) as conn,
            pytest.raises(errors.InsufficientPrivilege),
        ):
            conn.execute("SELECT secret FROM index_secret")


def test_the_writer_links_attaches_and_backfills_the_index(
    roles: dict[str, str], postgres_schema: str
) -> None:
    """What issue 15 added to the writer's work: a receipt files digests, ``link`` a link row,
    ``attach`` an event, ``index backfill`` digests of older complaints; ``erase`` deletes the
    digests. All with the script's grants and no more."""
    url = pg_url(postgres_schema).replace("postgres@", f"{roles['writer']}@")
    url += "&create_tables=no"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:  # TS-R as received before the index
        conn.execute(f"DELETE FROM {postgres_schema}.complainant_index")
    attach = {"command": "attach", "command_id": "w-attach", "ref": "TS-R", "sha256": "0" * 64,
              "size": 1, "kind": "document", "location": "s3://bucket/x",
              "actor": {"id": "li", "role": "customer_service"}}  # fmt: skip
    link = {"command": "link", "command_id": "w-link", "ref": "TS-W", "other": "TS-R",
            "reason": "同一事件", "actor": {"id": "li", "role": "customer_service"}}  # fmt: skip
    lines = [*life_cmds("TS-W", until="receive"), attach, link]

    applied = run(url, "apply", "-", input=jsonl(lines))
    backfilled = run(url, "index", "backfill")
    erased = run(url, "erase", "TS-W", "--reason", "保存期满", *LEAD)

    assert applied.exit_code == 0, applied.output
    assert backfilled.exit_code == 0, backfilled.output
    assert erased.exit_code == 0, erased.output
    with connect("postgres", postgres_schema) as conn:
        indexed = conn.execute("SELECT DISTINCT ref FROM complainant_index").fetchall()
        links = conn.execute("SELECT ref, other FROM complaint_links").fetchall()
    assert indexed == [("TS-R",)]
    assert links == [("TS-W", "TS-R")]
