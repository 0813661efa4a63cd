"""The blind index's normalisation and keyed digests (ledger.store.blind_index), pure."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from ledger.store.blind_index import digest, index_entries, normalise

SECRET = b"s" * 32


@pytest.mark.parametrize(
    ("kind", "given", "indexed"),
    [
        ("phone", "13812345678", "13812345678"),
        ("phone", "+86 138-1234-5678", "13812345678"),
        ("phone", "0086 13812345678", "13812345678"),
        ("phone", "+8613812345678", "13812345678"),
        ("phone", "138 1234\t5678", "13812345678"),
        ("phone", "010-8765-4321", "01087654321"),  # a landline keeps its area code
        ("id_number", "44030519851230123x", "44030519851230123X"),
        ("id_number", "440305 19851230 123X", "44030519851230123X"),
        ("account_ref", "ln-2026-0042", "LN20260042"),
        ("account_ref", " - ", None),
        ("phone", None, None),
        # What Chinese input methods type: full-width digits, letters, dashes, spaces, plus.
        (
            "phone",
            "\uff11\uff13\uff18\uff0d\uff11\uff12\uff13\uff14\uff0d\uff15\uff16\uff17\uff18",
            "13812345678",
        ),
        ("phone", "\uff0b\uff18\uff16\u3000138 1234 5678", "13812345678"),
        ("phone", "138\u20141234\u20155678", "13812345678"),
        ("phone", "138\u20101234\u22125678", "13812345678"),
        ("phone", "138\u2013\u2011\u20121234\ufe635678", "13812345678"),
        ("id_number", "11010519491231002\uff38", "11010519491231002X"),
        ("id_number", "11010519491231002\uff58", "11010519491231002X"),
        ("account_ref", "\uff2c\uff2e\uff0d\uff12\uff10\uff12\uff16", "LN2026"),
        ("account_ref", "\u3000\uff0d\u2014", None),
    ],
)
def test_an_identifier_is_indexed_in_one_normal_form(
    kind: str, given: str | None, indexed: str | None
) -> None:
    assert normalise(kind, given) == indexed


def test_the_digest_is_an_hmac_under_the_secret_of_the_kind_and_the_normal_form() -> None:
    expected = hmac.new(SECRET, b"phone:13812345678", hashlib.sha256).hexdigest()

    assert digest(SECRET, "phone", "13812345678") == expected
    assert digest(SECRET, "phone", "13812345678") != hashlib.sha256(b"13812345678").hexdigest()
    assert digest(b"t" * 32, "phone", "13812345678") != expected  # another ledger, another digest
    assert digest(SECRET, "account_ref", "13812345678") != expected  # the kind separates


def test_one_entry_per_identifier_given_each_filed_under_the_key() -> None:
    entries = index_entries(
        SECRET, key_id="k1", ref="TS-1", received_at="2026-09-20T02:00:00.000000+00:00",
        phone="+86 138-1234-5678", id_number=None, account_ref="ln-1",
    )  # fmt: skip

    assert [(e.key_id, e.ref, e.kind) for e in entries] == [
        ("k1", "TS-1", "phone"),
        ("k1", "TS-1", "account_ref"),
    ]
    assert entries[0].digest == digest(SECRET, "phone", "13812345678")
    assert "13812345678" not in repr(entries)


@pytest.mark.parametrize(
    ("kind", "given"),
    [
        ("phone", "①③⑧⓪⓪①③⑧⓪⓪⓪"),
        ("phone", "¹³⁸⁰⁰¹³⁸⁰⁰⁰"),
        ("phone", "𝟏𝟑𝟖𝟎𝟎𝟏𝟑𝟖𝟎𝟎𝟎"),
        ("id_number", "™™™™"),
        ("id_number", "ⅫⅪⅫ"),
    ],
)
def test_only_full_width_forms_are_folded_not_look_alikes(kind: str, given: str) -> None:
    """A circled or superscript number is not the phone 13800138000 (only the full-width
    block, the ideographic space and dashes are folded)."""
    assert normalise(kind, given) == given
