"""``verify`` and its trust anchor: without a digest, a key given or a key configured, it
says that it checked only internal consistency and fails unless ``--no-anchor``; a ledger
rewritten and re-sealed with another key passes only that internal check."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.integrity.seals import key_id, public_bytes
from tests.audit_helpers import SEAL_ENV, SEAL_KEY, SEAL_PUBLIC_KEY, VERIFY_ENV
from tests.helpers import event_count, jsonl, life_cmds, run

FORGER_KEY = "7a" * 32
FORGER_PUBLIC_KEY = public_bytes(
    Ed25519PrivateKey.from_private_bytes(bytes.fromhex(FORGER_KEY))
).hex()
SEAL_KEY_ID = key_id(bytes.fromhex(SEAL_PUBLIC_KEY))
NO_ANCHOR = (
    "Error: no trust anchor, so only the ledger's internal consistency was checked: whoever "
    "can write to its database can rewrite it and re-seal it with a key of their own. Give "
    "--digest FILE or --public-key HEX (or set LEDGER_VERIFY_PUBLIC_KEY), or --no-anchor to "
    "accept an internal check\n"
)


def sealed_ledger(url: str, tmp_path: Path, key: str = SEAL_KEY, findings: str = "录音证实") -> str:
    """Two closed complaints, sealed with ``key``; returns the digest's path."""
    commands = life_cmds("TS-A1") + life_cmds("TS-A2")
    for command in commands:
        if command["command"] == "record_findings":
            command["findings"] = findings
    assert run(url, "apply", "-", input=jsonl(commands)).exit_code == 0
    digest = tmp_path / f"digest-{key[:2]}.json"
    sealed = run(url, "seal", "--out", str(digest), env={"LEDGER_SEAL_KEY": key})
    assert sealed.exit_code == 0, sealed.stderr
    return str(digest)


def test_verify_without_an_anchor_says_it_checked_only_consistency_and_fails(
    ledger_url: str, tmp_path: Path
) -> None:
    sealed_ledger(ledger_url, tmp_path)
    before = event_count(ledger_url)

    bare = run(ledger_url, "verify")
    one = run(ledger_url, "verify", "TS-A1")

    assert (bare.exit_code, bare.stderr) == (1, NO_ANCHOR)
    assert bare.stdout.startswith(
        "verified 18 events (to position 18) and 1 seal: internally consistent\n"
    )
    assert (one.exit_code, one.stderr) == (1, NO_ANCHOR)
    assert one.stdout == (
        "TS-A1: 8 events match their chain links; head included in the seal at position 16: "
        "internally consistent\n"
    )
    assert event_count(ledger_url) == before


def test_no_anchor_accepts_the_internal_check_and_says_so(ledger_url: str, tmp_path: Path) -> None:
    sealed_ledger(ledger_url, tmp_path)

    result = run(ledger_url, "verify", "--no-anchor")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "verified 18 events (to position 18) and 1 seal: internally consistent"
    )
    assert result.stdout.splitlines()[-1] == (
        "not anchored (--no-anchor): only the ledger's internal consistency was checked; a "
        "ledger rewritten and re-sealed with another key would pass as well"
    )


@pytest.mark.parametrize(
    ("how", "source"),
    [
        ("public key in the environment", "LEDGER_VERIFY_PUBLIC_KEY"),
        ("seal key in the environment", "the seal key in LEDGER_SEAL_KEY"),
        ("public key given", "--public-key"),
    ],
)
def test_a_key_given_or_configured_anchors_the_check_and_is_named(
    ledger_url: str, tmp_path: Path, how: str, source: str
) -> None:
    sealed_ledger(ledger_url, tmp_path)
    args, env = {
        "public key in the environment": ([], VERIFY_ENV),
        "seal key in the environment": ([], SEAL_ENV),
        "public key given": (["--public-key", SEAL_PUBLIC_KEY], {}),
    }[how]

    whole = run(ledger_url, "verify", *args, env=env)
    one = run(ledger_url, "verify", "TS-A2", *args, env=env)

    assert (whole.exit_code, one.exit_code) == (0, 0), whole.stderr + one.stderr
    assert whole.stdout.splitlines()[0] == "verified 18 events (to position 18) and 1 seal: intact"
    assert whole.stdout.splitlines()[-1] == f"anchored to key {SEAL_KEY_ID} ({source})"
    assert one.stdout == (
        "TS-A2: 8 events match their chain links; head included in the seal at position 16: "
        f"intact\nanchored to key {SEAL_KEY_ID} ({source})\n"
    )


def test_the_seal_key_file_of_this_machine_anchors_the_check(
    ledger_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    env = {"XDG_CONFIG_HOME": str(config)}
    assert run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-A1"))).exit_code == 0
    assert run(ledger_url, "seal", "--out", str(tmp_path / "d.json"), env=env).exit_code == 0

    result = run(ledger_url, "verify", env=env)

    key_file = config / "complaint-ledger" / "seal-key.pem"
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1].endswith(f"(the seal key at {key_file})")


def test_a_ledger_rewritten_and_resealed_with_another_key_is_caught_by_the_anchor(
    ledger_url: str, second_url: str, tmp_path: Path
) -> None:
    digest = sealed_ledger(ledger_url, tmp_path)
    # Whoever can write to the database can put any history there and seal it: here the
    # same complaints with other findings, sealed with a key of their own.
    sealed_ledger(second_url, tmp_path, key=FORGER_KEY, findings="查无实据")
    forger_id = key_id(bytes.fromhex(FORGER_PUBLIC_KEY))

    unanchored = run(second_url, "verify", "--no-anchor")
    bare = run(second_url, "verify")
    by_key = run(second_url, "verify", env=VERIFY_ENV)
    by_digest = run(second_url, "verify", "--digest", digest)

    assert unanchored.exit_code == 0  # consistent with itself, which is all it says
    assert (bare.exit_code, bare.stderr) == (1, NO_ANCHOR)
    assert (by_key.exit_code, by_key.stderr) == (
        1,
        f"Error: the seal at position 16 was signed by key {forger_id}, not by key "
        f"{SEAL_KEY_ID} (LEDGER_VERIFY_PUBLIC_KEY): the ledger's seals were replaced, or it is "
        "not the ledger that key seals\n",
    )
    assert by_digest.exit_code == 1
    assert by_digest.stderr.startswith(
        f"Error: the ledger's seal at position 16 was signed by key {forger_id}"
    )


def test_a_key_but_no_seal_to_check_it_against_is_not_an_anchor(
    ledger_url: str, second_url: str, tmp_path: Path
) -> None:
    sealed_ledger(ledger_url, tmp_path)
    late = jsonl(life_cmds("TS-A3", until="triage"))
    assert run(ledger_url, "apply", "-", input=late).exit_code == 0
    unsealed_url = second_url
    assert run(unsealed_url, "apply", "-", input=late).exit_code == 0

    after_the_seal = run(ledger_url, "verify", "TS-A3", env=VERIFY_ENV)
    never_sealed = run(unsealed_url, "verify", env=VERIFY_ENV)
    accepted = run(unsealed_url, "verify", "--no-anchor", env=VERIFY_ENV)

    said = (
        f"Error: no seal ties what was checked to key {SEAL_KEY_ID} (LEDGER_VERIFY_PUBLIC_KEY): "
        "it was not sealed yet, or its seals were removed, so only its internal consistency "
        "was checked. Run complaint-ledger seal, or give --no-anchor to accept an internal "
        "check\n"
    )
    assert (after_the_seal.exit_code, after_the_seal.stderr) == (1, said)
    assert after_the_seal.stdout == (
        "TS-A3: 2 events match their chain links; no seal covers it yet: internally consistent\n"
    )
    assert (never_sealed.exit_code, never_sealed.stderr) == (1, said)
    assert accepted.exit_code == 0


def test_explicit_options_take_the_place_of_the_configured_key(
    ledger_url: str, tmp_path: Path
) -> None:
    digest = sealed_ledger(ledger_url, tmp_path)
    elsewhere = {"LEDGER_VERIFY_PUBLIC_KEY": FORGER_PUBLIC_KEY}

    by_digest = run(ledger_url, "verify", "--digest", digest, env=elsewhere)
    by_key = run(ledger_url, "verify", "--public-key", SEAL_PUBLIC_KEY, env=elsewhere)
    configured = run(ledger_url, "verify", env=elsewhere)

    assert (by_digest.exit_code, by_key.exit_code, configured.exit_code) == (0, 0, 1)
    assert (
        by_digest.stdout.splitlines()[-1] == f"anchored to key {SEAL_KEY_ID} (the digest {digest})"
    )


@pytest.mark.parametrize("value", ["zz", "ab" * 31])
def test_a_configured_public_key_that_is_not_one_is_refused_in_one_line(
    ledger_url: str, tmp_path: Path, value: str
) -> None:
    sealed_ledger(ledger_url, tmp_path)

    result = run(ledger_url, "verify", env={"LEDGER_VERIFY_PUBLIC_KEY": value})

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: LEDGER_VERIFY_PUBLIC_KEY: {value!r} is not an Ed25519 public key (64 hex "
        "digits, as in a digest's public_key)\n"
    )
