"""The installed ``complaint-ledger`` script, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = str(Path(sys.executable).with_name("complaint-ledger"))


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql://postgres@127.0.0.1:1/test",
            "Error: cannot reach PostgreSQL at 127.0.0.1:1/test: ",
        ),
        ("sqlite:////nonexistent-dir/sub/ledger.db", "Error: cannot open the ledger at "),
        ("mysql://localhost/x", "Error: cannot use 'mysql://localhost/x': the database URL must"),
    ],
    ids=["postgres down", "sqlite path missing", "unknown scheme"],
)
def test_unusable_database_gives_a_one_line_error(url: str, message: str) -> None:
    result = cli(
        "add-note",
        "TS-1",
        "--text",
        "x",
        "--actor",
        "li",
        "--role",
        "customer_service",
        "--db",
        url,
    )

    assert result.returncode == 1
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_usage_error_exits_2_with_one_error_line_first() -> None:
    result = cli("triage")

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "Error: Missing argument 'REF'.",
        "Usage: complaint-ledger triage [OPTIONS] REF",
        "Try 'complaint-ledger triage --help' for help.",
    ]


def test_demo_fills_a_fresh_sqlite_ledger_and_prints_the_sla_report(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"

    result = cli("demo", "--complaints", "12", "--db", db)

    assert result.returncode == 0, result.stderr
    table, summary, report = result.stdout.split("\n\n", 2)
    where, *table_lines = table.splitlines()
    refs = [line.split()[0] for line in table_lines[2:]]
    assert where == f"demo ledger: {db} (the file {tmp_path / 'demo.db'})"
    assert len(refs) == 12
    assert summary.startswith(f"12 complaints, {sum(int(t.split()[-1]) for t in table_lines[2:])}")
    assert f" events in {db}: " in summary
    assert report.startswith("SLA report as of 2026-11-27 18:00:00 +08:00\n")
    shown = cli("show", refs[0], "--db", db, "--format", "json")
    assert json.loads(shown.stdout)["ref"] == refs[0]


def test_every_subcommand_is_found_where_the_lazy_map_says() -> None:
    """``SUBCOMMANDS`` names the module of each subcommand; a command missing from it, or
    listed under the wrong module, would not be found by a user."""
    import pkgutil
    from importlib import import_module

    import commands.cli as package
    from commands.cli.base import SUBCOMMANDS
    from commands.cli.base import cli as root

    for info in pkgutil.iter_modules(package.__path__):
        import_module(f"commands.cli.{info.name}")
    registered = {
        name: str(getattr(command.callback, "__module__", "")).removeprefix("commands.cli.")
        for name, command in root.commands.items()
    }
    assert registered == dict(SUBCOMMANDS)


def test_a_report_does_not_load_the_write_path() -> None:
    probe = (
        "import sys; from commands.cli.base import cli; import click;"
        "cli.get_command(click.Context(cli), 'report');"
        "print(sorted(m for m in ('commands.models', 'commands.handlers', 'commands.cli.writes')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == "[]"


def test_a_report_on_up_to_date_read_models_loads_neither_pydantic_nor_the_projections(
    tmp_path: Path,
) -> None:
    """What a report needs is SQL over the read models: the projections, the policy and
    pydantic (about a third of the command's start-up) are only loaded to apply new events."""
    db = f"sqlite:///{tmp_path / 'r.db'}"
    assert cli("demo", "--complaints", "5", "--db", db).returncode == 0
    heavy = ("pydantic", "ledger.domain.policy", "ledger.domain.complaint", "projections.cases")
    probe = (
        "import sys; from commands.cli import main; sys.argv = ['complaint-ledger', 'report',"
        f" 'sla', '--format', 'json', '--db', {db!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert json.loads(out.stdout)["items"] is not None
    assert out.stderr.strip() == "[]"
