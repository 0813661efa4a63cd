"""``report sla`` as a ``ledger_reader`` login, where clocks must be worked out at query time
(an overdue business-hours clock, a clock whose pause is still open): the rules come from the
``publications`` read model, never from the log the reader may not read, and the report is
the owner's, figure for figure."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from projections.schema import CASES_SHAPE
from tests.conftest import PG_DSN, pg_url
from tests.helpers import actor, event_count, jsonl, life_cmds, run

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "sql" / "roles.sql"
READ_ONLY = {"PGOPTIONS": "-c default_transaction_read_only=on"}
SESSIONS = {"read-write session": {}, "read-only session": READ_ONLY}
LEAD = ["--actor", "chen", "--role", "leadership"]
AS_OF = "2026-10-30T12:00:00+08:00"
REPORT = ["report", "sla", "--format", "json", "--as-of", AS_OF]


def pausable_policy(tmp_path: Path) -> Path:
    """docs/policy-business-hours.toml with its investigation and plan clocks pausable."""
    text = (ROOT / "docs" / "policy-business-hours.toml").read_text(encoding="utf-8")
    for clock in ("investigation", "plan"):
        # The table itself, at a line's start: the file's comments show an example of it.
        head, _, tail = text.partition(f"\n[clocks.{clock}]")
        text = head + f"\n[clocks.{clock}]" + tail.replace("pausable = false", "pausable = true", 1)
    path = tmp_path / "business-hours-pausable.toml"
    path.write_text(text.replace("business-hours-2026.1", "business-hours-pause"), "utf-8")
    return path


def paused(ref: str) -> list[dict[str, Any]]:
    """A complaint assigned, then paused (waiting on the customer) and never resumed."""
    team = actor("handling_team", "wang")
    pause = {"command": "pause", "ref": ref, "command_id": f"{ref}-pause", "reason": "等待",
             "actor": team, "occurred_at": "2026-09-25T10:00:00+08:00"}  # fmt: skip
    return [*life_cmds(ref, until="assign"), pause]


@pytest.fixture
def reader(postgres_schema: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The owner's URL and a ``ledger_reader`` login's, on a ledger with a business-hours
    policy and a calendar published, one complaint overdue and one paused, projected."""
    owner = pg_url(postgres_schema)
    published = run(owner, "policy", "publish", str(pausable_policy(tmp_path)),
                    "--effective-from", "2026-01-01T00:00:00+08:00", *LEAD)  # fmt: skip
    assert published.exit_code == 0, published.stderr
    assert run(owner, "calendar", "publish", "2026", *LEAD).exit_code == 0
    commands = [*life_cmds("TS-O", until="assign"), *paused("TS-P")]
    assert run(owner, "apply", "-", input=jsonl(commands)).exit_code == 0
    assert run(owner, "projections", "run").exit_code == 0
    prefix = f"{postgres_schema}_"
    script = ["-v", f"schema={postgres_schema}", "-v", f"prefix={prefix}", "-f", str(SCRIPT)]
    subprocess.run(["psql", PG_DSN, "-q", *script], check=True, capture_output=True)
    login = f"{prefix}reader_login"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE {prefix}reader")
    yield owner, owner.replace("postgres@", f"{login}@")
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        for role in (login, *(f"{prefix}{g}" for g in ("writer", "reader", "auditor"))):
            conn.execute(f"DROP OWNED BY {role} CASCADE")
            conn.execute(f"DROP ROLE {role}")


@pytest.mark.parametrize("session", SESSIONS.values(), ids=SESSIONS.keys())
def test_the_reader_works_out_business_hours_and_paused_clocks_as_the_owner_does(
    reader: tuple[str, str], session: dict[str, str]
) -> None:
    owner, login = reader

    mine = run(owner, *REPORT, "--no-catch-up")
    theirs = run(login, *REPORT, env=session)

    assert mine.exit_code == 0, mine.stderr
    assert theirs.exit_code == 0, theirs.stderr
    assert theirs.stdout == mine.stdout
    items = {(i["ref"], i["clock"]): i for i in json.loads(theirs.stdout)["items"]}
    overdue = items[("TS-O", "investigation")]
    assert overdue["status"] == "overdue"
    # Business time: the office's hours from the deadline to AS_OF, far less than wall time.
    assert 0 < overdue["late_by_business_seconds"] < overdue["late_by_seconds"] / 2
    assert "TS-P" in {ref for ref, _ in items}  # the paused case, worked out from its fold


def test_the_reader_is_told_in_one_line_when_publications_were_never_kept(
    reader: tuple[str, str], postgres_schema: str
) -> None:
    """Read models of a release before ``publications`` (shape 3): refused, not a traceback;
    the owner's runner then brings them to the current shape and the reader reports as before."""
    owner, login = reader
    before = run(owner, *REPORT, "--no-catch-up").stdout
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {postgres_schema}.publications")
        conn.execute(
            f"UPDATE {postgres_schema}.projection_positions SET position = 3"
            " WHERE name = 'shape:cases'"
        )

    refused = run(login, *REPORT)
    ran = run(owner, "projections", "run")
    theirs = run(login, *REPORT)

    assert (refused.exit_code, refused.stdout) == (1, "")
    assert refused.stderr == (
        "Error: the case read models were built by an earlier release (shape 3; this release "
        f"reads shape {CASES_SHAPE}): run complaint-ledger projections run, as a login that "
        "may write them, to rebuild them\n"
    )
    assert ran.exit_code == 0, ran.stderr
    assert theirs.exit_code == 0, theirs.stderr
    assert theirs.stdout == before


BOOK_READS = [
    ["policy", "list", "--format", "json"],
    ["policy", "list"],
    ["policy", "show", "business-hours-pause"],
    ["policy", "show", "default-2026.1"],
    ["calendar", "list", "--format", "json"],
    ["calendar", "list"],
]
LAG = "lag: 0 events (read models at position {}, the head of the log)\n"


def _revise(owner: str, tmp_path: Path) -> None:
    """A second policy revision, with its reason and drill, taking effect before the first
    one published; and the 2026 calendar published again (its revision 2)."""
    text = pausable_policy(tmp_path).read_text("utf-8").replace("business-hours-pause", "rev-2")
    (tmp_path / "rev-2.toml").write_text(text, "utf-8")
    published = run(owner, "policy", "publish", str(tmp_path / "rev-2.toml"), "--reason",
                    "应急预案修订 after the drill", "--effective-from",
                    "2025-06-01T00:00:00+08:00", *LEAD)  # fmt: skip
    assert published.exit_code == 0, published.stderr
    assert run(owner, "calendar", "publish", "2026", *LEAD).exit_code == 0
    assert run(owner, "projections", "run").exit_code == 0


@pytest.mark.parametrize("session", SESSIONS.values(), ids=SESSIONS.keys())
def test_the_reader_lists_and_shows_policies_and_calendars_as_the_owner_does(
    reader: tuple[str, str], session: dict[str, str], tmp_path: Path
) -> None:
    """policy list, policy show and calendar list as a ``ledger_reader`` login: from the
    ``publications`` read model, never the log it may not read, and the owner's answer, the
    lag said after it (on standard error beside JSON); nothing written."""
    owner, login = reader
    _revise(owner, tmp_path)
    before = _snapshot(owner)
    for args in BOOK_READS:
        mine = run(owner, *args)
        theirs = run(login, *args, env=session)
        assert mine.exit_code == 0, (args, mine.stderr)
        assert theirs.exit_code == 0, (args, theirs.stderr)
        lag = LAG.format(_head(owner))
        if "list" in args and "json" not in args:
            assert (theirs.stdout, theirs.stderr) == (mine.stdout + lag, ""), args
        else:
            assert (theirs.stdout, theirs.stderr) == (mine.stdout, lag), args
    listed = json.loads(run(login, "policy", "list", "--format", "json").stdout)
    assert [(p["version"], p["effective_from"], p["reason"]) for p in listed] == [
        ("default-2026.1", None, None),
        ("rev-2", "2025-05-31T16:00:00+00:00", "应急预案修订 after the drill"),
        ("business-hours-pause", "2025-12-31T16:00:00+00:00", None),
    ]
    years = json.loads(run(login, "calendar", "list", "--format", "json").stdout)
    assert [(y["year"], y["revision"]) for y in years] == [(2026, 2)]
    unknown = run(login, "policy", "show", "nope", env=session)
    assert (unknown.exit_code, unknown.stdout) == (1, "")
    assert unknown.stderr.startswith("Error: no policy version 'nope'; published: default-2026.1")
    assert _snapshot(owner) == before


def test_read_models_of_shape_7_are_rebuilt_with_the_policies_entries(
    reader: tuple[str, str], postgres_schema: str, tmp_path: Path
) -> None:
    """Read models kept before ``publications`` held the policies' entries (shape 7): the
    reader is refused in one line; the owner's next run rebuilds them (shape 9 added the
    regulator's business codes, which only the log can give: the case rows lose a mark only
    they held) with the entries, and the reader lists as the owner."""
    owner, login = reader
    _revise(owner, tmp_path)
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {postgres_schema}.publications DROP COLUMN entry")
        conn.execute(f"UPDATE {postgres_schema}.projection_positions SET position = 7"
                     " WHERE name = 'shape:cases'")  # fmt: skip
        conn.execute(f"UPDATE {postgres_schema}.case_state SET team = 'mark'")

    refused = run(login, "policy", "list")
    ran = run(owner, "projections", "run")
    mine, theirs = (run(url, "policy", "list", "--format", "json") for url in (owner, login))

    assert (refused.exit_code, refused.stdout) == (1, "")
    assert refused.stderr.startswith(
        f"Error: the case read models were built by an earlier release (shape 7; this release "
        f"reads shape {CASES_SHAPE})"
    )
    assert ran.exit_code == 0, ran.stderr
    assert theirs.stdout == mine.stdout
    assert len(json.loads(theirs.stdout)) == 3
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        teams = conn.execute(f"SELECT DISTINCT team FROM {postgres_schema}.case_state").fetchall()
    assert ("mark",) not in teams


def _head(url: str) -> int:
    return event_count(url)


def _snapshot(url: str) -> tuple[int, list[Any]]:
    """The log's length and the read models' positions and publications."""
    schema = url.partition("schema=")[2]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        rows = conn.execute(f"SELECT * FROM {schema}.projection_positions ORDER BY name").fetchall()
        rows += conn.execute(f"SELECT * FROM {schema}.publications ORDER BY label").fetchall()
    return event_count(url), rows
