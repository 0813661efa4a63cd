"""CSV records with the physical line each starts on, for importers. Pure: no database.

Exports from other systems are rarely clean: lines of tool output before the header, quoted
fields that run over several lines, a file cut off in the middle of a record, a stray byte that
is not UTF-8. The reader finds the header, numbers each record by the line it starts on, and turns
every record it cannot read into a ``Rejection`` (line, reason) so the import can go on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from commands.models import Command
from ledger.domain.errors import ImportFileInvalid

# Lines before the header are tolerated (e.g. `unzip` output), but only this many.
MAX_LINES_BEFORE_HEADER = 50


@dataclass(frozen=True)
class Record:
    """One complete record: its fields by column name."""

    line: int
    fields: dict[str, str]


@dataclass(frozen=True)
class Rejection:
    """A record (or row) that cannot be imported, and why."""

    line: int
    reason: str


@dataclass(frozen=True)
class Row:
    """One imported complaint's commands, validated, in the order they must be applied."""

    line: int
    ref: str
    commands: tuple[Command, ...]


class _CountedLines:
    """An iterator over lines that knows how many it has handed out."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.count = 0

    def __iter__(self) -> _CountedLines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.count += 1
        return line


def find_header(
    lines: Iterator[str], first_column: str, required: Sequence[str], name: str
) -> list[str]:
    """Consume ``lines`` up to and including the header (the first line whose first column is
    ``first_column``) and return its column names."""
    for _ in range(MAX_LINES_BEFORE_HEADER + 1):
        line = next(lines, None)
        if line is None:
            break
        line = line.lstrip("\ufeff")
        if not line.lstrip('"').startswith(first_column):
            continue
        header = [column.strip() for column in next(csv.reader([line]))]
        missing = [column for column in required if column not in header]
        if missing:
            raise ImportFileInvalid(f"{name}: the header lacks {', '.join(map(repr, missing))}")
        return header
    raise ImportFileInvalid(
        f"{name}: no header line starting with {first_column!r} in its first "
        f"{MAX_LINES_BEFORE_HEADER + 1} lines; is it the right kind of file?"
    )


def read_records(
    lines: Iterable[str], first_column: str, required: Sequence[str], name: str
) -> Iterator[Record | Rejection]:
    """Every record after the header, numbered by the physical line it starts on.

    ``lines`` should come from a file opened with ``newline=""`` (so quoted line breaks stay
    inside their field) and ``errors="surrogateescape"`` (so a byte that is not UTF-8 rejects
    its record instead of stopping the import). Blank lines are skipped.
    """
    counted = _CountedLines(lines)
    header = find_header(counted, first_column, required, name)
    reader = csv.reader(counted)
    while True:
        start = counted.count + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield Rejection(start, f"not a readable CSV record: {e}")
            continue
        if not fields:
            continue
        if len(fields) != len(header):
            yield Rejection(
                start,
                f"the record has {len(fields)} fields, the header {len(header)} "
                "(a line break inside an unquoted field, or the file is cut off)",
            )
            continue
        problem = _not_utf8(header, fields)
        if problem:
            yield Rejection(start, problem)
            continue
        yield Record(start, dict(zip(header, fields, strict=True)))


def _not_utf8(header: Sequence[str], fields: Sequence[str]) -> str | None:
    for column, value in zip(header, fields, strict=True):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            byte = ord(value[e.start]) - 0xDC00
            return f"{column!r} is not UTF-8 text (byte 0x{byte:02x})"
    return None
