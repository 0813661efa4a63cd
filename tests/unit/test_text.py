"""What text may hold, and how a stored NUL reaches the read models."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ledger.domain.text import control_problem
from ledger.domain.values import Actor, Channel, Remedy, RemedyKind, Role
from projections.decoding import without_nul

CONTROL = "holds the control character "
NOT_ALLOWED = ", which is not allowed"


@pytest.mark.parametrize(
    ("text", "lines", "problem"),
    [
        ("正常文本 plain", False, None),
        ("a\tb\r\nc", True, None),
        ("a\x00", True, CONTROL + "U+0000 (NUL) at character 2" + NOT_ALLOWED),
        ("ab\x1b[0m", True, CONTROL + "U+001B (ESC) at character 3" + NOT_ALLOWED),
        ("\x85", True, CONTROL + "U+0085 at character 1" + NOT_ALLOWED),
        ("a\ud800", True, "U+D800 at character 2 is not a character (a lone surrogate)"),
        ("a\tb", False, "holds a line break or tab (U+0009) at character 2; only free text "
                        "(content, reasons, notes, findings) may span lines"),
        ("\u00a0\u2028\u200d", False, None),  # not control characters (Cc)
    ],
)  # fmt: skip
def test_control_problem_names_the_first_bad_character(
    text: str, lines: bool, problem: str | None
) -> None:
    assert control_problem(text, lines=lines) == problem


@dataclass(frozen=True)
class Event:
    category: str
    channel: Channel
    actor: Actor
    tags: tuple[str, ...]
    remedies: tuple[Remedy, ...]
    document: dict[str, object]


def test_without_nul_replaces_nul_in_every_string_however_deep() -> None:
    event = Event(
        category="a\x00b",
        channel=Channel.PHONE,
        actor=Actor("l\x00i", Role.CUSTOMER_SERVICE),
        tags=("x", "y\x00"),
        remedies=(Remedy(RemedyKind.OTHER, None, "d\x00"),),
        document={"version\x00": ["v\x00"]},
    )

    clean = without_nul(event)

    assert clean == Event(
        category="a\ufffdb",
        channel=Channel.PHONE,
        actor=Actor("l\ufffdi", Role.CUSTOMER_SERVICE),
        tags=("x", "y\ufffd"),
        remedies=(Remedy(RemedyKind.OTHER, None, "d\ufffd"),),
        document={"version\ufffd": ["v\ufffd"]},
    )
    assert clean.channel is Channel.PHONE
