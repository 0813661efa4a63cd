"""Reading JSON Lines of commands one line at a time, whatever the bytes of the others."""

from __future__ import annotations

import json
from typing import Any

import pytest

from commands.jsonlines import read_commands
from commands.models import Envelope
from tests.helpers import actor


def note(n: int) -> bytes:
    return json.dumps({"command": "add_note", "command_id": f"n{n}", "ref": "TS-1",
                       "actor": actor("customer_service"), "text": "备注"},
                      ensure_ascii=False).encode() + b"\n"  # fmt: skip


def read(*lines: bytes) -> list[tuple[int, Any]]:
    return [
        (n, c.command_id if isinstance(c, Envelope) else str(c)) for n, c in read_commands(lines)
    ]


def test_a_line_that_is_not_utf8_is_that_lines_error_and_the_next_ones_are_read() -> None:
    bad = note(2).replace("备".encode(), b"\xe5\xa4", 1)

    assert read(note(1), bad, note(3)) == [
        (1, "n1"),
        (2, "not UTF-8 text (invalid continuation byte: byte 0xe5 at byte 120 of the line)"),
        (3, "n3"),
    ]


def test_a_byte_order_mark_at_the_start_is_ignored() -> None:
    assert read(b"\xef\xbb\xbf" + note(1), note(2)) == [(1, "n1"), (2, "n2")]


def test_a_byte_order_mark_at_the_start_of_a_later_line_is_ignored_too() -> None:
    # As in files joined with cat, each of which began with one.
    assert read(note(1), b"\xef\xbb\xbf" + note(2)) == [(1, "n1"), (2, "n2")]


def test_a_byte_order_mark_inside_a_line_is_an_error() -> None:
    ((number, message),) = read(b" \xef\xbb\xbf" + note(1))

    assert (number, message.startswith("not valid JSON (")) == (1, True)


def test_a_deeply_nested_line_is_an_error_like_any_malformed_line() -> None:
    assert read(b"[" * 100_000 + b"\n", note(2)) == [
        (1, "not valid JSON (nested too deeply)"),
        (2, "n2"),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"text": "a\tb"}', "Invalid control character at character 12"),
        (b'{"text": "ab', "Unterminated string starting at character 10"),
        (b'{"text" "ab"}', "Expecting ':' delimiter at character 9"),
    ],
)
def test_json_errors_say_where_once(line: bytes, message: str) -> None:
    assert read(line + b"\r\n") == [(1, f"not valid JSON ({message})")]


def test_blank_lines_are_skipped_and_still_counted() -> None:
    assert read(b"\n", b"  \r\n", note(3)) == [(3, "n3")]
