"""Audit bundles: exported, copied elsewhere and verified with nothing but the bundle and the
digest; altering any byte of the bundle fails it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from ledger.domain.errors import IntegrityViolation
from ledger.integrity.bundle_check import verify_bundle
from ledger.integrity.seals import read_digest
from tests.audit_helpers import SEAL_ENV, is_sqlite, pg_schema, sqlite_path
from tests.conftest import PG_DSN
from tests.helpers import jsonl, life_cmds, run

CONSOLE_SCRIPT = str(Path(sys.executable).parent / "complaint-ledger")


@pytest.fixture
def exported(ledger_url: str, tmp_path: Path) -> tuple[Path, Path]:
    """A bundle of two complaints and the digest of the seal it is proven against."""
    commands = life_cmds("TS-E1") + life_cmds("TS-E2", until="plan") + life_cmds("TS-E3")
    assert run(ledger_url, "apply", "-", input=jsonl(commands)).exit_code == 0
    digest = tmp_path / "digest.json"
    assert run(ledger_url, "seal", "--out", str(digest), env=SEAL_ENV).exit_code == 0
    result = run(ledger_url, "export", "TS-E1", "TS-E2", "--out", str(tmp_path / "bundle"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("exported 2 complaints (13 events) to ")
    return tmp_path / "bundle", digest


def drop_ledger(url: str) -> None:
    if is_sqlite(url):
        for suffix in ("", "-wal", "-shm"):
            Path(sqlite_path(url) + suffix).unlink(missing_ok=True)
        return
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {pg_schema(url)} CASCADE")
        conn.execute(f"CREATE SCHEMA {pg_schema(url)}")


def test_a_copied_bundle_verifies_offline_with_only_the_digest(
    exported: tuple[Path, Path], ledger_url: str, tmp_path: Path
) -> None:
    bundle, digest = exported
    elsewhere = tmp_path / "auditor"
    elsewhere.mkdir()
    shutil.copytree(bundle, elsewhere / "bundle")
    shutil.copy(digest, elsewhere / "digest.json")
    drop_ledger(ledger_url)  # nothing of the ledger is left to read

    result = subprocess.run(
        [CONSOLE_SCRIPT, "verify-bundle", "bundle", "--digest", "digest.json"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},  # no LEDGER_DB: there is no ledger to read
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"bundle intact: 2 complaints, 13 events, proven against the seal at position 21 "
        f"(key {read_digest(digest).key_id})\n"
    )


def test_altering_any_byte_of_the_bundle_fails_it(
    exported: tuple[Path, Path], ledger_url: str, tmp_path: Path
) -> None:
    _, digest_path = exported
    bundle = tmp_path / "small"  # one complaint keeps the byte-by-byte run short
    run(ledger_url, "export", "TS-E2", "--out", str(bundle))
    digest = read_digest(digest_path)
    verify_bundle(bundle, digest)
    passed = []

    for path in sorted(bundle.iterdir()):
        original = path.read_bytes()
        for offset in range(len(original)):
            altered = bytearray(original)
            altered[offset] ^= 0x01
            path.write_bytes(bytes(altered))
            try:
                verify_bundle(bundle, digest)
            except IntegrityViolation:
                continue
            finally:
                path.write_bytes(original)
            passed.append((path.name, offset))

    assert passed == []
    verify_bundle(bundle, digest)


def test_an_altered_bundle_fails_on_the_command_line_with_one_line(
    exported: tuple[Path, Path], ledger_url: str
) -> None:
    bundle, digest = exported
    trail = bundle / "trail.csv"
    trail.write_text(trail.read_text(encoding="utf-8").replace("违规", "合规"), encoding="utf-8")

    result = run(ledger_url, "verify-bundle", str(bundle), "--digest", str(digest))

    assert result.exit_code == 1
    assert result.stderr == "Error: altered since export: trail.csv\n"


def test_a_bundle_checked_against_another_seal_fails(
    exported: tuple[Path, Path], ledger_url: str, tmp_path: Path
) -> None:
    bundle, _ = exported
    later = tmp_path / "later.json"
    run(ledger_url, "seal", "--out", str(later), env=SEAL_ENV)

    result = run(ledger_url, "verify-bundle", str(bundle), "--digest", str(later))

    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: the bundle is proven against the seal at position 21 (key "
    )


def test_a_bundle_without_a_digest_is_refused_in_one_line_unless_no_anchor_is_given(
    exported: tuple[Path, Path], ledger_url: str
) -> None:
    """Without a digest only the bundle's own copy of the seal is checked: a bundle rewritten
    and re-signed with another key would pass, so, as ``verify``, it needs a trust anchor or
    an explicit ``--no-anchor``."""
    bundle, digest = exported

    refused = run(ledger_url, "verify-bundle", str(bundle))
    accepted = run(ledger_url, "verify-bundle", str(bundle), "--no-anchor")

    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert refused.stderr == (
        "Error: no trust anchor, so only the bundle's internal consistency was checked: a "
        "bundle rewritten and re-signed with another key would pass as well. Give --digest "
        "FILE (the digest the ledger's seal wrote), or --no-anchor to accept an internal check\n"
    )
    assert accepted.exit_code == 0, accepted.stderr
    key_id = read_digest(digest).key_id
    assert accepted.stdout == (
        f"bundle intact: 2 complaints, 13 events, proven against the seal at position 21 "
        f"(key {key_id})\n"
        f"no --digest given: trust this only if {key_id} is the ledger's seal key\n"
    )


def test_a_date_range_exports_the_complaints_received_in_it(
    ledger_url: str, tmp_path: Path
) -> None:
    late = life_cmds("TS-LATE", until="triage")
    late[0]["received_at"] = "2026-10-08T09:00:00+08:00"
    late[0]["occurred_at"] = late[1]["occurred_at"] = "2026-10-08T10:00:00+08:00"
    commands = life_cmds("TS-EARLY", until="assign") + late
    run(ledger_url, "apply", "-", input=jsonl(commands))
    run(ledger_url, "seal", "--out", str(tmp_path / "d.json"), env=SEAL_ENV)

    result = run(
        ledger_url, "export", "--from", "2026-10-01T00:00:00+08:00",
        "--to", "2026-11-01T00:00:00+08:00", "--out", str(tmp_path / "october"),
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("exported 1 complaint (2 events) to ")
    assert verify_bundle(tmp_path / "october", read_digest(tmp_path / "d.json")).refs == ["TS-LATE"]


def test_export_needs_a_seal_that_covers_the_complaint(ledger_url: str, tmp_path: Path) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-U", until="triage")))
    unsealed = run(ledger_url, "export", "TS-U", "--out", str(tmp_path / "a"))
    run(ledger_url, "seal", "--out", str(tmp_path / "d.json"), env=SEAL_ENV)
    run(ledger_url, "add-note", "TS-U", "--text", "补充", "--actor", "li", "--role", "leadership")

    after_seal = run(ledger_url, "export", "TS-U", "--out", str(tmp_path / "b"))

    assert unsealed.stderr == (
        "Error: the ledger has no seal yet; run complaint-ledger seal, then export\n"
    )
    assert after_seal.stderr == (
        "Error: TS-U has events after the last seal (position 2); run complaint-ledger seal, "
        "then export\n"
    )
    assert (unsealed.exit_code, after_seal.exit_code) == (1, 1)
