"""The hash chain, the Merkle tree, personal-data sealing and seal signatures (no database)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from ledger.domain.errors import SealKeyUnusable
from ledger.domain.values import Complainant
from ledger.integrity.chain import (
    GENESIS,
    Appended,
    extend_chain,
    leaf_hash,
    merkle_levels,
    merkle_proof,
    merkle_root,
    record_hash,
    root_from_proof,
)
from ledger.integrity.seals import Seal, load_signing_key, public_bytes, sign
from ledger.store.crypto import PersonalDataUnreadable, open_complainant, seal_complainant

A, B = uuid.UUID(int=1), uuid.UUID(int=2)


def appended(position: int, oid: uuid.UUID, version: int, state: bytes = b"{}") -> Appended:
    return Appended(position, oid, version, "t:Complaint.Noted", state)


@pytest.mark.parametrize(
    "changed",
    [
        (B, 1, "t:Complaint.Noted", b"{}"),
        (A, 2, "t:Complaint.Noted", b"{}"),
        (A, 1, "t:Complaint.Other", b"{}"),
        (A, 1, "t:Complaint.Noted", b"{ }"),
    ],
)
def test_the_record_hash_covers_originator_version_topic_and_bytes(
    changed: tuple[uuid.UUID, int, str, bytes],
) -> None:
    assert record_hash(A, 1, "t:Complaint.Noted", b"{}") != record_hash(*changed)


def test_extending_the_chain_in_two_steps_equals_one_step() -> None:
    events = [appended(1, A, 1), appended(2, B, 1), appended(5, A, 2), appended(6, B, 2)]

    whole = extend_chain(None, {}, events)
    first = extend_chain(None, {}, events[:2])
    rest = extend_chain(
        (2, first[-1].link), {A: first[0].stream_link, B: first[1].stream_link}, events[2:]
    )

    assert [*first, *rest] == whole
    assert [k.prev_position for k in whole] == [0, 1, 2, 5]
    assert whole[2].stream_link != whole[0].stream_link


def test_a_changed_event_changes_its_link_and_every_later_link() -> None:
    events = [appended(p, A, p) for p in range(1, 6)]
    changed = [*events[:2], appended(3, A, 3, b'{"x":1}'), *events[3:]]

    original, altered = extend_chain(None, {}, events), extend_chain(None, {}, changed)

    assert [o.link == a.link for o, a in zip(original, altered, strict=True)] == [
        True, True, False, False, False,
    ]  # fmt: skip


@pytest.mark.parametrize("size", range(1, 18))
def test_every_leaf_has_a_proof_to_the_root(size: int) -> None:
    leaves = [leaf_hash(uuid.UUID(int=i), i, GENESIS) for i in range(size)]
    levels = merkle_levels(leaves)

    roots = {root_from_proof(leaf, merkle_proof(levels, i)) for i, leaf in enumerate(leaves)}

    assert roots == {merkle_root(leaves)}


def test_a_proof_does_not_prove_another_leaf() -> None:
    leaves = [leaf_hash(uuid.UUID(int=i), 1, GENESIS) for i in range(5)]
    proof = merkle_proof(merkle_levels(leaves), 2)

    assert root_from_proof(leaf_hash(uuid.UUID(int=2), 2, GENESIS), proof) != merkle_root(leaves)


def test_personal_data_opens_only_with_its_key_and_in_its_own_complaint() -> None:
    person = Complainant("张三", "13800000000", "110101199001011234", None)
    sealed, key = seal_complainant(person, A)
    _, other_key = seal_complainant(person, A)

    assert open_complainant(sealed, key.key, A) == person
    assert "张三".encode() not in sealed.ciphertext
    with pytest.raises(PersonalDataUnreadable):
        open_complainant(sealed, other_key.key, A)
    with pytest.raises(PersonalDataUnreadable):
        open_complainant(sealed, key.key, B)


def seal_at(position: int) -> Seal:
    return Seal(
        position, "ab" * 32, position, 1, "cd" * 32, "2026-11-30T00:00:00+00:00", None, None
    )


def test_a_seal_signature_checks_with_the_public_key_and_fails_when_the_seal_changes(
    tmp_path: Path,
) -> None:
    key, _ = load_signing_key(None, tmp_path / "k.pem", create=True)
    digest = sign(seal_at(10), key)

    digest.check_signature()
    assert digest.public_key == public_bytes(key).hex()
    with pytest.raises(SealKeyUnusable, match="does not carry a valid signature"):
        type(digest)(seal_at(11), digest.public_key, digest.signature).check_signature()


def test_a_signing_key_comes_from_the_environment_before_the_file(tmp_path: Path) -> None:
    from_env, created = load_signing_key("5e" * 32, tmp_path / "k.pem", create=True)
    from_file, created_file = load_signing_key(None, tmp_path / "k.pem", create=True)
    again, created_again = load_signing_key(None, tmp_path / "k.pem", create=False)

    assert (created, created_file, created_again) == (None, tmp_path / "k.pem", None)
    assert public_bytes(from_env) != public_bytes(from_file) == public_bytes(again)
    with pytest.raises(SealKeyUnusable, match="no seal key"):
        load_signing_key(None, tmp_path / "missing.pem", create=False)
