"""How the command log recognises a resubmission (``commands.fingerprints``): keyed with the
complaint's key, public without its sealed fields, and the unkeyed rows of earlier releases."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from commands import fingerprints
from commands.fingerprints import Match
from commands.models import parse_command

KEY = bytes(range(32))


def note(text: str = "客户说其女儿在第三中学", who: str = "li") -> Any:
    return parse_command(
        {"command": "add_note", "command_id": "n-1", "ref": "TS-1",
         "actor": {"id": who, "role": "customer_service"}, "text": text}
    )  # fmt: skip


def test_a_keyed_fingerprint_holds_neither_the_text_nor_its_unkeyed_digest() -> None:
    stored = fingerprints.keyed(note(), KEY)

    prefix, public, mac = stored.split(":")
    assert prefix == "k1"
    assert public == note("anything else").public_fingerprint()
    assert mac != hashlib.sha256(note().body()).hexdigest()
    assert note().fingerprint() not in stored


@pytest.mark.parametrize(
    ("resubmitted", "key", "expected"),
    [
        (note(), KEY, Match.SAME),
        (note("另一条"), KEY, Match.DIFFERENT),
        (note(who="zhao"), KEY, Match.DIFFERENT),
        (note(), None, Match.UNKNOWABLE),  # the key was destroyed since
        (note("另一条"), None, Match.UNKNOWABLE),
        (note(who="zhao"), None, Match.DIFFERENT),  # the public part still tells
        (note(), bytes(32), Match.DIFFERENT),  # another complaint's key
    ],
)
def test_a_resubmission_is_compared_with_the_key_the_complaint_has_now(
    resubmitted: Any, key: bytes | None, expected: Match
) -> None:
    stored = fingerprints.keyed(note(), KEY)

    assert fingerprints.compare(resubmitted, stored, lambda: key) is expected


def test_a_fingerprint_made_without_a_key_compares_the_public_part_only() -> None:
    stored = fingerprints.keyed(note(), None)  # recorded after the erasure: text withheld

    assert fingerprints.compare(note("另一条"), stored, lambda: None) is Match.SAME
    assert fingerprints.compare(note(who="zhao"), stored, lambda: None) is Match.DIFFERENT


def test_rows_written_before_fingerprints_were_keyed_compare_the_old_way() -> None:
    legacy = hashlib.sha256(note().body()).hexdigest()

    def no_key() -> bytes | None:
        raise AssertionError("an unkeyed row needs no key")

    assert legacy == note().fingerprint()
    assert fingerprints.compare(note(), legacy, no_key) is Match.SAME
    assert fingerprints.compare(note("另一条"), legacy, no_key) is Match.DIFFERENT
