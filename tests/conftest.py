"""Backends for the integration and end-to-end tests.

Every test that takes ``ledger_url`` runs twice: on a fresh SQLite file and on
a fresh schema of the PostgreSQL server named by ``LEDGER_TEST_PG`` (default:
the local server's ``test`` database). Without a reachable server the
PostgreSQL half is skipped on a developer's machine and FAILS when ``CI=true``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest

PG_DSN = os.environ.get("LEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_unavailable() -> str | None:
    try:
        psycopg.connect(PG_DSN, connect_timeout=3).close()
    except psycopg.Error as e:
        return f"PostgreSQL at {PG_DSN} is unreachable: {str(e).strip().splitlines()[-1]}"
    return None


def require_postgres() -> None:
    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)")
    pytest.skip(reason)


def _fresh_schema() -> Iterator[str]:
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield schema
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A fresh, empty schema on the test server, dropped afterwards."""
    yield from _fresh_schema()


@pytest.fixture
def postgres_schema_2() -> Iterator[str]:
    """A second fresh schema, for tests that copy one ledger into another."""
    yield from _fresh_schema()


def pg_url(schema: str) -> str:
    return f"{PG_DSN}?schema={schema}"


@pytest.fixture
def second_url(ledger_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A second empty ledger on the same backend as ``ledger_url`` (to copy or compare)."""
    if ledger_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'second.db'}"
    schema: str = request.getfixturevalue("postgres_schema_2")
    return pg_url(schema)


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    schema: str = request.getfixturevalue("postgres_schema")
    return pg_url(schema)


@pytest.fixture(autouse=True)
def no_seal_key_of_this_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``verify`` trusts the seal key of the machine it runs on (and ``seal`` uses it): the
    tests see only the keys they set themselves, never the developer's own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    for name in ("LEDGER_SEAL_KEY", "LEDGER_SEAL_KEY_FILE", "LEDGER_VERIFY_PUBLIC_KEY"):
        monkeypatch.delenv(name, raising=False)


# The year the tests count into as one whose State Council notice is unknown, and what the
# ``holidays`` package guessed for it before any notice (its rules, no make-up working day).
# The package learns each notice when it comes out, so ``unknown_year`` fixes its view of
# that year for the test: the tests of unknown years then pass whichever version is installed.
UNKNOWN_YEAR = 2027
GUESSED_DAYS_OFF = frozenset(
    date(UNKNOWN_YEAR, month, day)
    for month, day in [(1, 1), (2, 5), (2, 8), (2, 9), (2, 10), (4, 5), (5, 3), (5, 4), (6, 9),
                       (9, 15), (10, 1), (10, 4), (10, 5)]
)  # fmt: skip


@pytest.fixture
def unknown_year(monkeypatch: pytest.MonkeyPatch) -> int:
    """The package knows no notice for ``UNKNOWN_YEAR`` and guesses ``GUESSED_DAYS_OFF``."""
    from ledger.domain import calendar

    known = calendar._package_calendar
    guess = calendar.YearCalendar(
        UNKNOWN_YEAR, GUESSED_DAYS_OFF, frozenset(), calendar.package_source()
    )
    monkeypatch.setattr(
        calendar, "_package_calendar", lambda year: guess if year == UNKNOWN_YEAR else known(year)
    )
    return UNKNOWN_YEAR


# A JetStream stream of a test's own, for the event feed's tests (tests/nats_streams.py).
from tests.nats_streams import own_server, stream  # noqa: E402, F401
