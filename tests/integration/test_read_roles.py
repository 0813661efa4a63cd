"""Read commands as the logins of ``sql/roles.sql``, on the PostgreSQL server: a reader and
a writer run ``list``, ``report`` and ``audit``; an auditor every read command. Both also in
sessions that may not write at all (``default_transaction_read_only=on``, as on a hot
standby), and neither writes: the read models are read as they stand, with their lag."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.audit_helpers import SEAL_ENV
from tests.conftest import PG_DSN, pg_url
from tests.helpers import jsonl, life_cmds, run

SCRIPT = Path(__file__).resolve().parents[2] / "sql" / "roles.sql"
CODES = Path(__file__).resolve().parents[2] / "docs" / "codes-example.toml"
READ_ONLY = {"PGOPTIONS": "-c default_transaction_read_only=on"}
SESSIONS = {"read-write session": {}, "read-only session": READ_ONLY}
READ_MODELS = {
    "list": ["list", "--format", "json"],
    "report sla": ["report", "sla", "--format", "json"],
    "report stats": ["report", "stats", "--format", "json"],
    "audit": ["audit", "TS-R", "--format", "json"],
    "projections status": ["projections", "status", "--format", "json"],
}
LOG = {
    "show": ["show", "TS-R", "--format", "json"],
    "history": ["history", "TS-R", "--format", "json"],
    "sla": ["sla", "TS-R", "--format", "json"],
    "verify": ["verify", "--no-anchor"],
    "export-commands": ["export-commands"],
    "staff list": ["staff", "list", "--format", "json"],
    "policy list": ["policy", "list", "--format", "json"],
    "policy show": ["policy", "show", "default-2026.1"],
    "calendar list": ["calendar", "list", "--format", "json"],
    "training report": ["training", "report", "--format", "json"],
    "drill list": ["drill", "list", "--format", "json"],
    "codes list": ["codes", "list", "--format", "json"],
}
HEAD = 15  # two complaints' 13 events, the seal book and its seal


@pytest.fixture
def logins(postgres_schema: str) -> Iterator[dict[str, str]]:
    """A sealed ledger with its read models built by the owner, the script run, and a login
    (as a URL) in each of the reader, auditor and writer roles; the owner's URL as
    ``owner``."""
    owner = pg_url(postgres_schema)
    commands = [*life_cmds("TS-R"), *life_cmds("TS-S", until="plan")]
    assert run(owner, "apply", "-", input=jsonl(commands)).exit_code == 0
    assert run(owner, "seal", "--out", "/dev/null", env=SEAL_ENV).exit_code == 0
    assert run(owner, "projections", "run").exit_code == 0
    prefix = f"{postgres_schema}_"
    script = ["-v", f"schema={postgres_schema}", "-v", f"prefix={prefix}", "-f", str(SCRIPT)]
    subprocess.run(["psql", PG_DSN, "-q", *script], check=True, capture_output=True)
    groups = ("writer", "reader", "auditor", "feed")  # every group the script creates
    names = {group: f"{prefix}{group}_login" for group in ("reader", "auditor", "writer")}
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        for group, login in names.items():
            conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE {prefix}{group}")
    yield {
        "owner": owner,
        **{group: owner.replace("postgres@", f"{login}@") for group, login in names.items()},
    }
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        for role in [*names.values(), *(f"{prefix}{g}" for g in groups)]:
            conn.execute(f"DROP OWNED BY {role} CASCADE")
            conn.execute(f"DROP ROLE {role}")


def positions(schema: str) -> list[tuple[object, ...]]:
    with psycopg.connect(PG_DSN) as conn:
        return conn.execute(
            f"SELECT name, position FROM {schema}.projection_positions ORDER BY name"
        ).fetchall()


def note(owner: str) -> None:
    """One event more in the log, which no runner projects."""
    added = run(
        owner, "add-note", "TS-R", "--text", "回访", "--actor", "li", "--role", "leadership"
    )
    assert added.exit_code == 0, added.stderr


@pytest.mark.parametrize("session", SESSIONS.values(), ids=SESSIONS.keys())
@pytest.mark.parametrize("group", ["reader", "auditor", "writer"])
def test_reader_auditor_and_writer_run_list_report_and_audit(
    logins: dict[str, str], group: str, session: dict[str, str]
) -> None:
    results = {name: run(logins[group], *args, env=session) for name, args in READ_MODELS.items()}

    failed = {name: r.stderr for name, r in results.items() if r.exit_code != 0}
    assert failed == {}
    assert [c["ref"] for c in json.loads(results["list"].stdout)] == ["TS-R", "TS-S"]
    assert json.loads(results["report sla"].stdout)["lag"] == 0
    assert len(json.loads(results["audit"].stdout)) == 8
    assert [r["lag"] for r in json.loads(results["projections status"].stdout)] == [0, 0, 0]
    assert results["report stats"].stderr == (
        f"lag: 0 events (read models at position {HEAD}, the head of the log)\n"
    )


@pytest.mark.parametrize("session", SESSIONS.values(), ids=SESSIONS.keys())
def test_the_auditor_runs_every_command_that_reads_the_log(
    logins: dict[str, str], session: dict[str, str], tmp_path: Path
) -> None:
    auditor = logins["auditor"]

    results = {name: run(auditor, *args, env=session) for name, args in LOG.items()}
    exported = run(auditor, "export", "TS-R", "--out", str(tmp_path / "bundle"), env=session)

    failed = {name: r.stderr for name, r in results.items() if r.exit_code != 0}
    assert failed == {}
    assert exported.exit_code == 0, exported.stderr
    assert json.loads(results["show"].stdout)["complainant"]["phone"] == "13800000000"
    assert results["verify"].stdout.startswith(f"verified {HEAD} events")
    assert len(results["export-commands"].stdout.splitlines()) == 8 + 5
    assert json.loads(results["staff list"].stdout) == []
    assert [p["version"] for p in json.loads(results["policy list"].stdout)] == ["default-2026.1"]
    assert json.loads(results["policy show"].stdout)["version"] == "default-2026.1"
    assert json.loads(results["calendar list"].stdout) == []
    assert json.loads(results["codes list"].stdout) == []
    assert run("", "verify-bundle", str(tmp_path / "bundle"), "--no-anchor").exit_code == 0


def test_the_reader_lists_and_shows_the_code_lists_from_the_read_models(
    logins: dict[str, str], postgres_schema: str, tmp_path: Path
) -> None:
    """``codes list`` and ``codes show`` as a login that may not read the log: from the
    ``publications`` read model, answered as the log answers the owner, with the lag."""
    owner, reader = logins["owner"], logins["reader"]
    revised = tmp_path / "codes-2026.2.toml"
    revised.write_text(CODES.read_text(encoding="utf-8").replace("codes-2026.1", "codes-2026.2"))
    for path, effective_from in ((revised, "2026-10-01T00:00:00+08:00"),
                                 (CODES, "2026-09-01T00:00:00+08:00")):  # fmt: skip
        published = run(owner, "codes", "publish", str(path), "--effective-from",
                        effective_from, "--actor", "chen", "--role", "leadership")  # fmt: skip
        assert published.exit_code == 0, published.output
    assert run(owner, "projections", "run").exit_code == 0
    before = positions(postgres_schema)
    commands = {
        "list": ["codes", "list", "--format", "json"],
        "list table": ["codes", "list"],
        "show": ["codes", "show", "codes-2026.2", "--format", "json"],
        "show table": ["codes", "show", "codes-2026.1"],
    }

    as_owner = {name: run(owner, *args) for name, args in commands.items()}
    as_reader = {name: run(reader, *args) for name, args in commands.items()}
    unknown = run(reader, "codes", "show", "codes-2027.1")

    assert {n: r.stderr for n, r in as_reader.items() if r.exit_code != 0} == {}
    lag = f"lag: 0 events (read models at position {HEAD + 3}, the head of the log)"
    for name in ("list", "show"):
        assert as_reader[name].stdout == as_owner[name].stdout
        assert as_reader[name].stderr == lag + "\n"
    for name in ("list table", "show table"):
        assert as_reader[name].stdout == as_owner[name].stdout + lag + "\n"
    listed = json.loads(as_reader["list"].stdout)
    assert [c["version"] for c in listed] == ["codes-2026.1", "codes-2026.2"]
    assert (unknown.exit_code, unknown.stderr) == (
        1, "Error: no code list version 'codes-2027.1'; published: codes-2026.1, codes-2026.2\n"
    )  # fmt: skip
    assert positions(postgres_schema) == before


@pytest.mark.parametrize("command", ["show", "history", "verify"])
def test_the_reader_may_not_read_the_log_and_is_told_in_one_line(
    logins: dict[str, str], command: str
) -> None:
    result = run(logins["reader"], *LOG[command])

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "permission denied" in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


@pytest.mark.parametrize("group", ["reader", "auditor", "writer"])
def test_logins_that_may_not_write_read_models_read_as_it_stands_and_say_the_lag(
    logins: dict[str, str], group: str, postgres_schema: str
) -> None:
    note(logins["owner"])
    before = positions(postgres_schema)

    trail = run(logins[group], "audit", "TS-R", "--format", "json")
    table = run(logins[group], "list")
    refused = run(logins[group], "list", "--max-lag", "0")
    allowed = run(logins[group], "list", "--format", "json", "--max-lag", "1")

    assert trail.exit_code == 0, trail.stderr
    assert "NoteAdded" not in [row["action"] for row in json.loads(trail.stdout)]
    behind = f"lag: 1 event behind the log (read models at position {HEAD} of {HEAD + 1})"
    assert trail.stderr == behind + "\n"
    assert table.stdout.splitlines()[-1] == behind
    assert (refused.exit_code, refused.stdout) == (1, "")
    assert refused.stderr == (
        f"Error: the read models are 1 event behind the log (position {HEAD} of {HEAD + 1}), "
        "more than --max-lag 0: run complaint-ledger projections run, or keep projections "
        "follow running\n"
    )
    assert allowed.exit_code == 0, allowed.stderr
    assert positions(postgres_schema) == before  # nothing caught up, nothing written


def test_the_writer_lists_read_models_the_owner_rebuilt_after_the_script_ran(
    logins: dict[str, str], postgres_schema: str
) -> None:
    """The rebuild swaps in tables the owner creates after the script ran: the writer reads
    them by the script's default privileges, as the reader does, and still writes none."""
    rebuilt = run(logins["owner"], "projections", "rebuild", "--workers", "1")
    assert rebuilt.exit_code == 0, rebuilt.output
    writer = logins["writer"].split("//")[1].split("@")[0]

    listed = run(logins["writer"], "list", "--format", "json")
    trail = run(logins["writer"], "audit", "TS-R", "--format", "json")

    assert listed.exit_code == 0, listed.stderr
    assert [c["ref"] for c in json.loads(listed.stdout)] == ["TS-R", "TS-S"]
    assert trail.exit_code == 0, trail.stderr
    with (
        psycopg.connect(PG_DSN.replace("postgres@", f"{writer}@")) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(f"DELETE FROM {postgres_schema}.case_state")


def test_the_owner_in_a_read_only_session_reads_without_catching_up(
    logins: dict[str, str], postgres_schema: str
) -> None:
    note(logins["owner"])
    before = positions(postgres_schema)

    read_only = run(logins["owner"], "audit", "TS-R", "--format", "json", env=READ_ONLY)
    after_read_only = positions(postgres_schema)
    read_write = run(logins["owner"], "audit", "TS-R", "--format", "json")

    assert read_only.exit_code == 0, read_only.stderr
    assert read_only.stderr.startswith("lag: 1 event behind the log")
    assert after_read_only == before
    assert read_write.exit_code == 0, read_write.stderr
    assert read_write.stderr.startswith("lag: 0 events")
    assert json.loads(read_write.stdout)[-1]["action"] == "NoteAdded"


def test_a_reader_without_the_head_function_reads_but_cannot_tell_the_lag(
    logins: dict[str, str], postgres_schema: str
) -> None:
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP FUNCTION {postgres_schema}.complaint_ledger_head()")

    listed = run(logins["reader"], "list", "--format", "json")
    bounded = run(logins["reader"], "list", "--max-lag", "100")

    assert listed.exit_code == 0, listed.stderr
    assert listed.stderr == (
        f"lag: unknown (read models at position {HEAD}; this login may not read the log)\n"
    )
    assert bounded.exit_code == 1
    assert bounded.stderr.startswith("Error: cannot tell how far behind the log the read models")
    assert bounded.stderr.count("\n") == 1


def test_read_models_not_built_are_named_in_one_line_to_a_reader(
    logins: dict[str, str], postgres_schema: str
) -> None:
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {postgres_schema}.audit_trail")

    result = run(logins["reader"], "audit", "TS-R")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the read models have not been built yet (no table audit_trail): run "
        "complaint-ledger projections run, as a login that may write them\n"
    )


@pytest.mark.parametrize("session", SESSIONS.values(), ids=SESSIONS.keys())
def test_the_reader_finds_the_same_complainant_by_the_blind_index_without_its_secret(
    logins: dict[str, str], postgres_schema: str, session: dict[str, str]
) -> None:
    reader = logins["reader"]
    login = reader.split("//")[1].split("@")[0]

    related = run(reader, "related", "TS-R", "--format", "json", env=session)
    repeats = run(reader, "report", "stats", "--repeats", "--format", "json", env=session)
    with psycopg.connect(PG_DSN.replace("postgres@", f"{login}@")) as conn:
        digests = conn.execute(f"SELECT COUNT(*) FROM {postgres_schema}.complainant_index")
        indexed = digests.fetchone()
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"SELECT secret FROM {postgres_schema}.index_secret")

    assert related.exit_code == 0, related.stderr
    same = json.loads(related.stdout)["same_complainant"]
    assert [(r["ref"], r["matched"], r["status"]) for r in same] == [
        ("TS-S", ["account_ref", "id_number", "phone"], "open")
    ]
    assert repeats.exit_code == 0, repeats.stderr
    assert json.loads(repeats.stdout)["repeat_complaints"] == 1
    assert indexed == (6,)
