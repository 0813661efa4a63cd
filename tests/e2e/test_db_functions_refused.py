"""The library's database-function insert path (``POSTGRES_ENABLE_DB_FUNCTIONS``) appends
events without their chain link, command-log entry and keys: a PostgreSQL ledger refuses to
open with it, however it is switched on, in one line and without writing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.domain.errors import StoreUnavailable
from ledger.store.root import Ledger, open_ledger, persistence_env
from tests.conftest import pg_url
from tests.helpers import event_count, jsonl, life_cmds, run

REFUSED = (
    "the ledger refuses the library's database-function insert path, which skips its hash "
    "chain, command log and personal-data keys"
)
NOTE = ["add-note", "TS-F", "--text", "x", "--actor", "li", "--role", "customer_service"]


@pytest.fixture
def url(postgres_schema: str) -> str:
    ledger = pg_url(postgres_schema)
    assert run(ledger, "apply", "-", input=jsonl(life_cmds("TS-F", until="triage"))).exit_code == 0
    return ledger


@pytest.mark.parametrize(
    "name", ["POSTGRES_ENABLE_DB_FUNCTIONS", "COMPLAINTLEDGER_POSTGRES_ENABLE_DB_FUNCTIONS"]
)
@pytest.mark.parametrize("value", ["yes", "true", "1", "maybe"])
def test_the_switch_in_the_environment_is_refused_in_one_line(
    url: str, name: str, value: str
) -> None:
    before = event_count(url)

    write = run(url, *NOTE, env={name: value})
    read = run(url, "show", "TS-F", env={name: value})

    for result in (write, read):
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == f"Error: {name}={value} is set: {REFUSED}; unset it\n"
    assert event_count(url) == before


@pytest.mark.parametrize("option", ["enable_db_functions=yes", "POSTGRES_ENABLE_DB_FUNCTIONS=on"])
def test_the_switch_in_the_url_is_refused_in_one_line(url: str, option: str) -> None:
    before = event_count(url)

    result = run(f"{url}&{option}", *NOTE)

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"Error: cannot use {url + '&' + option!r}: {REFUSED}\n"
    assert event_count(url) == before


def test_the_switch_given_to_the_composition_root_or_the_application_is_refused(url: str) -> None:
    switched_on = {**persistence_env(url), "POSTGRES_ENABLE_DB_FUNCTIONS": "yes"}

    with pytest.raises(StoreUnavailable, match="database-function insert path"):
        open_ledger(url, POSTGRES_ENABLE_DB_FUNCTIONS="yes")
    with pytest.raises(StoreUnavailable, match="database-function insert path"):
        Ledger(env=switched_on)


def test_the_switch_turned_off_or_on_a_sqlite_ledger_changes_nothing(
    url: str, tmp_path: Path
) -> None:
    off = run(url, *NOTE, env={"POSTGRES_ENABLE_DB_FUNCTIONS": "no"})
    sqlite = run(f"sqlite:///{tmp_path / 'l.db'}", "apply", "-",
                 input=jsonl(life_cmds("TS-F", until="triage")),
                 env={"POSTGRES_ENABLE_DB_FUNCTIONS": "yes"})  # fmt: skip

    assert (off.exit_code, sqlite.exit_code) == (0, 0), off.stderr + sqlite.stderr
    assert run(url, "verify", "--no-anchor").exit_code == 0
