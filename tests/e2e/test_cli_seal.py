"""``seal`` and ``verify`` on the command line: keys, digests, and clear refusals."""

from __future__ import annotations

import json
import multiprocessing
import stat
from pathlib import Path
from typing import Any

from commands.handlers import handle
from commands.models import parse_command
from ledger.store.root import open_ledger
from tests.audit_helpers import SEAL_ENV
from tests.helpers import actor, event_count, jsonl, life_cmds, run


def test_the_first_seal_creates_a_key_file_and_says_where(ledger_url: str, tmp_path: Path) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-K", until="triage")))
    key_file = tmp_path / "keys" / "seal.pem"
    env = {"LEDGER_SEAL_KEY_FILE": str(key_file)}

    first = run(ledger_url, "seal", "--out", str(tmp_path / "d1.json"), env=env)
    second = run(ledger_url, "seal", "--out", str(tmp_path / "d2.json"), env=env)

    lines = first.stdout.splitlines()
    assert lines[0].startswith(f"created a new seal key at {key_file} (keep it safe")
    assert lines[1].startswith("sealed position 2 (2 events, 1 stream), head ")
    assert lines[2] == f"digest written to {tmp_path / 'd1.json'}"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "created" not in second.stdout
    assert second.stdout.startswith("sealed position 4 (4 events, 2 streams)")
    digests = [json.loads((tmp_path / f"d{n}.json").read_text()) for n in (1, 2)]
    assert digests[0]["key_id"] == digests[1]["key_id"]
    assert digests[1]["seal"]["previous_position"] == 2
    assert run(ledger_url, "verify", "--digest", str(tmp_path / "d1.json")).exit_code == 0


def test_a_seal_with_another_key_is_refused_and_appends_nothing(
    ledger_url: str, tmp_path: Path
) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-K", until="triage")))
    run(ledger_url, "seal", "--out", str(tmp_path / "d.json"), env=SEAL_ENV)
    before = event_count(ledger_url)

    other = run(ledger_url, "seal", env={"LEDGER_SEAL_KEY": "7a" * 32})
    malformed = run(ledger_url, "seal", env={"LEDGER_SEAL_KEY": "not-hex"})

    assert other.exit_code == 1
    assert other.stderr.startswith("Error: the ledger was sealed with key ")
    assert malformed.stderr == (
        "Error: LEDGER_SEAL_KEY must be a 32-byte Ed25519 private key in hex (64 hex digits)\n"
    )
    assert event_count(ledger_url) == before


def test_verify_without_a_seal_says_so_and_with_a_wrong_key_fails(
    ledger_url: str, tmp_path: Path
) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-V", until="assign")))

    unsealed = run(ledger_url, "verify", "--no-anchor")
    run(ledger_url, "seal", "--out", str(tmp_path / "d.json"), env=SEAL_ENV)
    wrong_key = run(ledger_url, "verify", "--public-key", "00" * 32)
    bad_digest = run(ledger_url, "verify", "--digest", str(tmp_path / "missing.json"))

    assert unsealed.stdout == (
        "verified 3 events (to position 3) and 0 seals: internally consistent\n"
        "not sealed yet: run complaint-ledger seal to protect what is there\n"
        "not anchored (--no-anchor): only the ledger's internal consistency was checked; a "
        "ledger rewritten and re-sealed with another key would pass as well\n"
    )
    assert wrong_key.exit_code == 1
    assert "was signed by key" in wrong_key.stderr
    assert bad_digest.exit_code == 1
    assert bad_digest.stderr.startswith("Error: cannot read the digest ")


def test_a_forged_digest_signature_is_refused(ledger_url: str, tmp_path: Path) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-V", until="assign")))
    run(ledger_url, "seal", "--out", str(tmp_path / "d.json"), env=SEAL_ENV)
    digest = json.loads((tmp_path / "d.json").read_text())
    digest["seal"]["events"] += 1
    (tmp_path / "d.json").write_text(json.dumps(digest))

    result = run(ledger_url, "verify", "--digest", str(tmp_path / "d.json"))

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the digest's signature does not match its seal (position 3, key "
        f"{digest['key_id']}): the digest file was altered or damaged; the ledger was not "
        "checked against it\n"
    )


def notes(url: str, ref: str, writer: int, count: int, start: Any) -> None:
    with open_ledger(url) as ledger:
        start.wait(timeout=60)
        for i in range(count):
            data = {
                "command": "add_note",
                "command_id": f"{ref}-w{writer}-n{i}",
                "ref": ref,
                "actor": actor("customer_service"),
                "text": f"note {i}",
            }
            handle(ledger, parse_command(data))


def test_concurrent_writers_keep_the_chain_whole(ledger_url: str, tmp_path: Path) -> None:
    run(
        ledger_url,
        "apply",
        "-",
        input=jsonl(life_cmds("TS-C1", "triage") + life_cmds("TS-C2", "triage")),
    )
    context = multiprocessing.get_context("spawn")
    start = context.Manager().Event()
    writers = [
        context.Process(target=notes, args=(ledger_url, ref, n, 25, start))
        for n, ref in enumerate(("TS-C1", "TS-C2", "TS-C1"))
    ]
    for w in writers:
        w.start()
    start.set()
    for w in writers:
        w.join(timeout=120)

    result = run(ledger_url, "verify", "--no-anchor")

    assert [w.exitcode for w in writers] == [0, 0, 0]
    assert result.exit_code == 0, result.stderr
    assert event_count(ledger_url) >= 4 + 75
    assert result.stdout.startswith("verified 79 events")


def test_audit_commands_refuse_bad_paths_in_one_line_and_change_nothing(
    ledger_url: str, tmp_path: Path
) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-P", until="triage")))
    run(ledger_url, "seal", "--out", str(tmp_path / "d.json"), env=SEAL_ENV)
    before = event_count(ledger_url)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")

    results = {
        "seal": run(ledger_url, "seal", "--out", str(tmp_path / "no" / "d.json"), env=SEAL_ENV),
        "bundle": run(ledger_url, "verify-bundle", str(tmp_path / "missing")),
        "export": run(ledger_url, "export", "TS-P", "--out", str(tmp_path / "full")),
        "range": run(ledger_url, "export", "--from", "2026-01-01T00:00:00Z", "--out", "b"),
    }

    assert {k: r.exit_code for k, r in results.items()} == {
        "seal": 1,
        "bundle": 1,
        "export": 1,
        "range": 2,
    }
    assert results["seal"].stderr == (
        f"Error: cannot write the digest into {tmp_path / 'no'}; nothing was sealed\n"
    )
    assert results["bundle"].stderr == f"Error: {tmp_path / 'missing'} is not a bundle directory\n"
    assert results["export"].stderr == (
        f"Error: {tmp_path / 'full'} is not empty; export into a new directory\n"
    )
    assert event_count(ledger_url) == before
    assert all("Traceback" not in r.output for r in results.values())


def test_a_seal_names_the_key_it_was_signed_with(ledger_url: str, tmp_path: Path) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-K", until="triage")))
    config = tmp_path / "config"
    default_key = config / "complaint-ledger" / "seal-key.pem"
    env = {"XDG_CONFIG_HOME": str(config)}

    first = run(ledger_url, "seal", "--out", str(tmp_path / "d1.json"), env=env)
    second = run(ledger_url, "seal", "--out", str(tmp_path / "d2.json"), env=env)
    from_env = run(ledger_url, "seal", "--out", str(tmp_path / "d3.json"), env=SEAL_ENV)

    assert first.stdout.startswith(f"created a new seal key at {default_key} (keep it safe")
    assert "signed with" not in first.stdout
    assert second.stdout.splitlines()[1:] == [
        f"signed with the seal key at {default_key}",
        f"digest written to {tmp_path / 'd2.json'}",
    ]
    assert from_env.exit_code == 1  # another key than the ledger's: refused, nothing named
    assert "signed with" not in from_env.stdout


def test_a_seal_with_the_key_in_the_environment_says_so(ledger_url: str, tmp_path: Path) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-K", until="triage")))

    result = run(ledger_url, "seal", "--out", str(tmp_path / "d.json"), env=SEAL_ENV)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "signed with the key in LEDGER_SEAL_KEY",
        f"digest written to {tmp_path / 'd.json'}",
    ]
