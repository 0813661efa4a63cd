"""The human renderers of the command line: table widths, escapes, times."""

from __future__ import annotations

from datetime import datetime

import pytest

from commands.cli.output import due_time, local_time, printable, render_table


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("处置一组", 8),  # CJK ideographs: two columns each
        ("ｱｲ", 2),  # halfwidth katakana: one column each, though above U+2E80
        ("e\u0301te\u0301", 3),  # combining accents take no column
        ("a\u200bb", 2),  # nor does a zero-width space
        ("한국어", 6),  # Hangul syllables: two each
        ("，。", 4),  # fullwidth punctuation
    ],
)
def test_table_columns_are_as_wide_as_the_terminal_shows_their_text(
    text: str, columns: int
) -> None:
    table = render_table([{"name": text, "next": "x"}], ["name", "next"]).splitlines()

    width = max(columns, len("name"))
    assert table[1] == "-" * width + "  ----"
    assert table[2] == text + " " * (width - columns) + "  x"


def test_a_table_cell_with_control_characters_shows_their_escapes() -> None:
    table = render_table([{"a": "x\x1b[2Jy\nz", "b": "k"}], ["a", "b"]).splitlines()

    assert table == ["a             b", "------------  -", "x\\x1b[2Jy\\nz  k"]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("a\rb\tc\x00d\x7f", "a\\rb\\tc\\x00d\\x7f"),
        ("\x9b31m", "\\x9b31m"),  # the one-byte CSI of C1
        ("abc\u202edef\u2066", "abc\\u202edef\\u2066"),
        ("催收员说：“还钱！” 👍", "催收员说：“还钱！” 👍"),
    ],
)
def test_printable_escapes_what_would_act_on_a_terminal_and_nothing_else(
    raw: str, shown: str
) -> None:
    assert printable(raw) == shown


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("2026-11-30T04:11:44+00:00", "2026-11-30 12:11:44 +08:00"),
        ("2026-11-30T12:11:44.999+08:00", "2026-11-30 12:11:44 +08:00"),
        ("2026-11-29T16:00:00.000000+00:00", "2026-11-30 00:00:00 +08:00"),
    ],
)
def test_local_time_names_its_offset(stored: str, shown: str) -> None:
    assert local_time(stored) == shown


@pytest.mark.parametrize(
    ("due", "shown"),
    [
        ("2026-10-12T16:00:00+00:00", "2026-10-12 23:59:59 +08:00"),  # local midnight
        ("2026-10-13T00:00:00+08:00", "2026-10-12 23:59:59 +08:00"),
        ("2026-10-13T00:00:01+08:00", "2026-10-13 00:00:01 +08:00"),
        ("2026-09-25T16:00:00+08:00", "2026-09-25 16:00:00 +08:00"),
    ],
)
def test_a_deadline_at_the_end_of_a_day_reads_as_its_last_second(due: str, shown: str) -> None:
    assert due_time(datetime.fromisoformat(due)) == shown
