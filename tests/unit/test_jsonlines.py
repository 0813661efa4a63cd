"""Reading JSON Lines of commands one line at a time, whatever the bytes of the others."""

from __future__ import annotations

import io
import json
import os
import threading
from typing import Any

import pytest

from commands.bulk_workers import ONE_COMPLAINT_KINDS
from commands.jsonlines import Line, read_commands, read_lines, scan_commands
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


def scanned(*lines: bytes) -> list[tuple[int, Any]]:
    """``scan_commands`` with every one-complaint kind left unparsed, each ``Line`` parsed as
    a worker parses it: what must equal ``read``."""
    out = []
    for item in scan_commands(lines, ONE_COMPLAINT_KINDS):
        assert item is not None
        n, c = item
        c = c.parse() if isinstance(c, Line) else c
        out.append((n, c.command_id if isinstance(c, Envelope) else str(c)))
    return out


ODD_LINES = [
    b"\xff\xfe not UTF-8\n",
    b"{not json\n",
    b"[1, 2]\n",
    b"   \n",
    b"[" * 100_000 + b"\n",
    b'{"command": "add_note", "command_id": "n-nan", "ref": "TS-1", "text": NaN}\n',
    b'{"command": "add_note", "command_id": "n-missing", "ref": "TS-1"}\n',
    b'{"command": "add_note", "command_id": "n-extra", "ref": "TS-1", "text": "x", "x": 1,'
    b' "actor": {"id": "li", "role": "customer_service"}}\n',
    b'{"command": "no_such", "command_id": "n-kind", "ref": "TS-1"}\n',
    b'{"command": "add_note", "command_id": " n-spaced ", "ref": " TS-1 ", "text": "x",'
    b' "actor": {"id": "li", "role": "customer_service"}}\n',
    b'{"command": "add_note", "command_id": "n-dup", "ref": "NOPE", "ref": "TS-2", "text": "x",'
    b' "actor": {"id": "li", "role": "customer_service"}}\n',
    b'{"command": "add_note", "command_id": "n-big", "ref": "TS-1", "text": "x",'
    b' "actor": {"id": "li", "role": "customer_service"}, "occurred_at": 99999999999999999999}\n',
    b'{"command": "add_note", "command_id": 7, "ref": "TS-1", "text": "x"}\n',
    b'{"command": "add_note", "command_id": "", "ref": "TS-1", "text": "x"}\n',
    b'{"command": "add_note", "command_id": "n-lf\\n", "ref": "TS-1\\n", "text": "x",'
    b' "actor": {"id": "li", "role": "customer_service"}}\n',
    b'\xef\xbb\xbf{"command": "add_note", "command_id": "n-bom", "ref": "TS-1", "text": "x",'
    b' "actor": {"id": "li", "role": "customer_service"}}\n',
    # Ids the model refuses that the command log must not be asked about (PostgreSQL takes
    # no NUL, even in a query).
    b'{"command": "add_note", "command_id": "n-nul\\u0000", "ref": "TS-1", "text": "x",'
    b' "actor": {"id": "li", "role": "customer_service"}}\n',
    b'{"command": "add_note", "command_id": "' + b"n" * 129 + b'", "ref": "TS-1", "text": "x",'
    b' "actor": {"id": "li", "role": "customer_service"}}\n',
]


def test_lines_left_for_a_worker_parse_to_what_reading_them_here_gives() -> None:
    lines = [note(1), *ODD_LINES, note(2)]

    assert scanned(*lines) == read(*lines)
    assert len(read(*lines)) == len(lines) - 1  # the blank line alone is skipped


def test_only_plain_lines_of_the_kinds_asked_for_are_left_unparsed() -> None:
    lines = [note(1), *ODD_LINES]

    left = [
        item[0]
        for item in scan_commands(lines, ONE_COMPLAINT_KINDS)
        if item is not None and isinstance(item[1], Line)
    ]
    parsed_here = [
        item[0]
        for item in scan_commands(lines, ())
        if item is not None and isinstance(item[1], Line)
    ]

    # The note, the three a worker refuses (missing text, an extra field, an invalid time),
    # the duplicated reference (orjson and json both keep the last) and the marked one.
    assert left == [1, 8, 9, 12, 13, 17]
    assert parsed_here == []


def test_a_stall_in_the_lines_is_passed_on_and_numbering_goes_on() -> None:
    items = list(scan_commands([note(1), None, note(2)], ONE_COMPLAINT_KINDS))

    assert [None if i is None else i[0] for i in items] == [1, None, 2]


def test_a_pipe_gives_the_lines_a_file_gives_with_a_stall_where_the_writer_paused() -> None:
    """Lines longer than a read, blank ones, a CRLF and a last line without its end, written
    in pieces that split lines, with a pause: the lines as a file has them, ``None`` where
    the writer paused (and the lines before it whole)."""
    data = b"a\n" + b"x" * 200_000 + b"\r\n\n" + b"y" * 70_000 + b"\n" + b"tail"
    pause = data.index(b"y") + 5  # within a line: what came before it is whole lines
    read_fd, write_fd = os.pipe()
    written, paused = threading.Event(), threading.Event()

    def writer() -> None:
        with os.fdopen(write_fd, "wb", buffering=0) as out:
            for start in range(0, pause, 9_999):
                out.write(data[start : min(start + 9_999, pause)])
            written.set()
            paused.wait(30)
            out.write(data[pause:])

    thread = threading.Thread(target=writer)
    thread.start()
    lines: list[bytes] = []
    at_pause: list[bytes] = []
    armed = False  # a silence noticed after the first part was all written: the next is sure
    with os.fdopen(read_fd, "rb") as pipe:
        for line in read_lines(pipe):
            if line is not None:
                lines.append(line)
            elif armed and not paused.is_set():
                at_pause = list(lines)
                paused.set()
            else:
                armed = written.is_set()
    thread.join()

    assert lines == list(io.BytesIO(data))
    assert at_pause == lines[:3]
