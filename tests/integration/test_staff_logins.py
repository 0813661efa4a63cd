"""On PostgreSQL the command line is proven by the login it connects as (``session_user``):
a real login of the ``sql/roles.sql`` writer group, mapped to one member of staff."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PG_DSN, pg_url
from tests.e2e.http_server import TEST_LOGIN
from tests.helpers import event_count, jsonl, receive_cmd, run

SCRIPT = Path(__file__).resolve().parents[2] / "sql" / "roles.sql"
LEAD = ["--actor", "chen", "--role", "leadership"]


@pytest.fixture
def li_login(postgres_schema: str) -> Iterator[tuple[str, str]]:
    """A ledger whose directory maps li to a login of li's own; (owner's URL, li's URL)."""
    owner = pg_url(postgres_schema)
    login = f"li_{uuid.uuid4().hex[:8]}"
    assert run(owner, "staff", "allow-login", TEST_LOGIN, *LEAD).exit_code == 0
    for staff_id, unit, role, extra in (
        ("chen", "leadership_group", "leadership", []),
        ("li", "customer_service", "customer_service", ["--login", login]),
    ):
        since = ["--from", "2026-01-01T00:00:00+08:00"]
        added = run(owner, "staff", "add", staff_id, "--name", staff_id, "--unit", unit,
                    "--grant", role, *since, *extra, *LEAD)  # fmt: skip
        assert added.exit_code == 0, added.output
    assert run(owner, "apply", "-", input=jsonl([receive_cmd("TS-L")])).exit_code == 0
    prefix = f"{postgres_schema}_"
    script = ["-v", f"schema={postgres_schema}", "-v", f"prefix={prefix}", "-f", str(SCRIPT)]
    subprocess.run(["psql", PG_DSN, "-q", *script], check=True, capture_output=True)
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE {prefix}writer")
    yield owner, owner.replace(f"{TEST_LOGIN}@", f"{login}@") + "&create_tables=no"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        for role in (login, f"{prefix}writer", f"{prefix}reader", f"{prefix}auditor"):
            conn.execute(f"DROP OWNED BY {role} CASCADE")
            conn.execute(f"DROP ROLE {role}")


def test_a_cli_write_on_postgresql_records_the_session_user(li_login: tuple[str, str]) -> None:
    owner, as_li = li_login

    result = run(as_li, "add-note", "TS-L", "--text", "回访", "--actor", "li", "--role",
                 "customer_service")  # fmt: skip

    assert result.exit_code == 0, result.output
    last = json.loads(run(owner, "history", "TS-L", "--format", "json").stdout)["events"][-1]
    login = as_li.split("://")[1].split("@")[0]
    assert (last["actor_id"], last["actor_method"], last["actor_credential"]) == (
        "li",
        "database",
        login,
    )


def test_a_login_cannot_act_as_another_member(li_login: tuple[str, str]) -> None:
    owner, as_li = li_login
    before = event_count(owner)

    result = run(as_li, "add-note", "TS-L", "--text", "n", *LEAD)

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: database login 'li_")
    assert result.stderr.endswith("'s; it cannot act as chen\n")
    assert event_count(owner) == before
