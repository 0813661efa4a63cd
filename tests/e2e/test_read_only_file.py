"""A SQLite ledger that may not be written (a file of another user's, an archived copy opened
with ``?mode=ro``) is read as it stands: no catching up, nothing written or created beside
it, the lag said."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import jsonl, life_cmds, run

POLICY = Path(__file__).resolve().parents[2] / "docs" / "policy-business-hours.toml"
BEHIND = "lag: 1 event behind the log (read models at position 8 of 9)"


@pytest.fixture(params=["mode=ro", "permissions"])
def unwritable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A way to make the ledger file in ``tmp_path`` unwritable: the URL to read it with, once
    ``make`` (the second item's folder is where the ledger lives) has been called."""
    folder = tmp_path / "ledgers"
    folder.mkdir()
    url = f"sqlite:///{folder / 'ledger.db'}"
    if request.param == "mode=ro":
        yield f"{url}?mode=ro", folder
        return
    yield url, folder
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", *unwritable_paths(folder)], check=False)
    folder.chmod(0o755)


def unwritable_paths(folder: Path) -> list[str]:
    return [str(p) for p in (*sorted(folder.iterdir()), folder)]


def make_unwritable(url: str, folder: Path) -> None:
    if url.endswith("?mode=ro"):
        return
    (folder / "ledger.db").chmod(0o444)
    folder.chmod(0o555)
    if os.geteuid() == 0:
        # Root writes whatever the permissions say; the immutable attribute stops even root
        # (and makes access(2) say so, as permissions do for anyone else).
        done = subprocess.run(
            ["chattr", "+i", *unwritable_paths(folder)], capture_output=True, text=True
        )
        if done.returncode != 0:
            reason = f"cannot make a file unwritable for root here: {done.stderr.strip()}"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(reason)
            pytest.skip(reason)


def writable(url: str) -> str:
    return url.removesuffix("?mode=ro")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_an_unwritable_sqlite_ledger_is_read_as_it_stands(unwritable: tuple[str, Path]) -> None:
    url, folder = unwritable
    assert run(writable(url), "apply", "-", input=jsonl(life_cmds("TS-1"))).exit_code == 0
    assert run(writable(url), "projections", "run").exit_code == 0
    note = ["--text", "回访", "--actor", "li", "--role", "leadership"]
    assert run(writable(url), "add-note", "TS-1", *note).exit_code == 0
    make_unwritable(url, folder)
    before = snapshot(folder)

    trail = run(url, "audit", "TS-1", "--format", "json")
    listed = run(url, "list")
    shown = run(url, "show", "TS-1", "--format", "json")
    verified = run(url, "verify", "--no-anchor")

    assert trail.exit_code == 0, trail.stderr
    assert json.loads(trail.stdout)[-1]["action"] == "Closed"
    assert trail.stderr == BEHIND + "\n"
    assert listed.stdout.splitlines()[-1] == BEHIND
    assert json.loads(shown.stdout)["history"][-1]["event"] == "NoteAdded"
    assert verified.exit_code == 0, verified.stderr
    assert snapshot(folder) == before


def test_the_books_of_an_unwritable_sqlite_ledger_are_listed_as_they_stand(
    unwritable: tuple[str, Path],
) -> None:
    url, folder = unwritable
    lead = ["--actor", "chen", "--role", "leadership"]
    assert run(writable(url), "apply", "-", input=jsonl(life_cmds("TS-1"))).exit_code == 0
    published = run(writable(url), "policy", "publish", str(POLICY), *lead)
    assert published.exit_code == 0, published.stderr
    assert run(writable(url), "calendar", "publish", "2026", *lead).exit_code == 0
    make_unwritable(url, folder)
    before = snapshot(folder)

    staff = run(url, "staff", "list", "--format", "json")
    policies = run(url, "policy", "list", "--format", "json")
    shown = run(url, "policy", "show", "business-hours-2026.1")
    years = run(url, "calendar", "list", "--format", "json")

    assert [r.exit_code for r in (staff, policies, shown, years)] == [0, 0, 0, 0], [
        r.stderr for r in (staff, policies, shown, years)
    ]
    assert json.loads(staff.stdout) == []
    assert [p["version"] for p in json.loads(policies.stdout)] == [
        "default-2026.1",
        "business-hours-2026.1",
    ]
    assert json.loads(shown.stdout)["version"] == "business-hours-2026.1"
    assert [y["year"] for y in json.loads(years.stdout)] == [2026]
    assert snapshot(folder) == before


def test_an_unwritable_sqlite_ledger_without_read_models_says_so(
    unwritable: tuple[str, Path],
) -> None:
    url, folder = unwritable
    assert run(writable(url), "apply", "-", input=jsonl(life_cmds("TS-1"))).exit_code == 0
    make_unwritable(url, folder)
    before = snapshot(folder)

    result = run(url, "report", "sla")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the read models have not been built yet (no table case_state): run "
        "complaint-ledger projections run, as a login that may write them\n"
    )
    assert snapshot(folder) == before


def test_a_ledger_opened_read_only_refuses_to_write(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert run(url, "apply", "-", input=jsonl(life_cmds("TS-1"))).exit_code == 0
    before = snapshot(tmp_path)

    note = ["--text", "回访", "--actor", "li", "--role", "leadership"]
    result = run(f"{url}?mode=ro", "add-note", "TS-1", *note)
    caught_up = run(f"{url}?mode=ro", "projections", "run")

    assert result.exit_code == 1
    assert (
        result.stderr
        == f"Error: {url}?mode=ro is opened read only (mode=ro): this command writes\n"
    )
    assert caught_up.exit_code == 1
    assert snapshot(tmp_path) == before


def test_a_sqlite_mode_other_than_ro_or_rw_is_refused(tmp_path: Path) -> None:
    result = run(f"sqlite:///{tmp_path / 'ledger.db'}?mode=rwc", "list")

    assert result.exit_code == 1
    assert result.stderr.endswith("mode must be ro (read only) or rw\n")
    assert list(tmp_path.iterdir()) == []
