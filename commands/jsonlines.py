"""JSON Lines of commands (docs/commands.md), read one line at a time. Pure: no database.

Each line is decoded on its own, so a line that is not UTF-8, not JSON, nested too deeply or
not a valid command becomes that line's error and the lines after it are read as usual.

For the bulk path's worker processes a line may also be left unparsed (``Line``): this
process reads only what sharing the work out needs (the command's kind, its id and its
complaint's reference) and the worker that decides it parses it as ``parse_line`` does here,
with the same result and the same error. ``read_lines`` reads a pipe so that a producer that
stalls is noticed (``None`` in the lines), and what arrived before the stall is written then.
"""

from __future__ import annotations

import json
import os
import re
import select
import stat
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from commands.models import Envelope, parse_command
from ledger.domain.text import ONE_LINE_FORBIDS

BOM = b"\xef\xbb\xbf"  # the UTF-8 byte order mark some editors write at the start of a file
# A reference as ``commands.fields.Ref`` accepts it, with nothing for the model to strip: a
# line whose reference is not of this form is parsed in this process (which says what is wrong).
_PLAIN_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# An id as ``commands.fields.CommandId`` accepts it: no longer than this, one line, no control
# character (a line whose id is not is parsed in this process, which says what is wrong).
_COMMAND_ID_LENGTH = 128
STALL_SECONDS = 0.05  # how long a pipe may be silent before the lines so far are written


@dataclass(frozen=True, slots=True)
class Line:
    """A line left unparsed, with what choosing its worker needs (as the parsed command
    would have them: a line whose values the model would change is never left unparsed)."""

    raw: bytes
    command: str
    command_id: str
    ref: str

    def parse(self) -> Envelope | Exception:
        command = parse_line(self.raw)
        assert command is not None  # a blank line is never left unparsed
        return command


def read_commands(lines: Iterable[bytes]) -> Iterator[tuple[int, Envelope | Exception]]:
    """Each non-blank line as ``(line number, command)``, or the error that replaced it."""
    for number, raw in enumerate(lines, start=1):
        command = parse_line(_bare(raw))
        if command is not None:
            yield number, command


def scan_commands(
    lines: Iterable[bytes | None], unparsed: Collection[str] = ()
) -> Iterator[tuple[int, Envelope | Exception | Line] | None]:
    """``read_commands``, but a line of one of the ``unparsed`` kinds comes as a ``Line``
    when its kind, id and reference are plain strings; ``None`` in ``lines`` (a stall)
    is passed on."""
    number = 0
    for raw in lines:
        if raw is None:
            yield None
            continue
        number += 1
        line = _bare(raw)
        if unparsed:
            scanned = _scan(line, unparsed)
            if scanned is not None:
                yield number, scanned
                continue
        command = parse_line(line)
        if command is not None:
            yield number, command


def _scan(line: bytes, kinds: Collection[str]) -> Line | None:
    try:
        data = orjson.loads(line)  # stricter than ``json``: what it refuses is parsed here
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict:
        return None
    kind, command_id, ref = data.get("command"), data.get("command_id"), data.get("ref")
    if (
        type(kind) is str
        and kind in kinds
        and type(command_id) is str
        and 0 < len(command_id) <= _COMMAND_ID_LENGTH
        and command_id == command_id.strip()
        # A control character (a NUL above all, which PostgreSQL cannot take even in a
        # query): the command log must not be asked about an id the model refuses.
        and not ONE_LINE_FORBIDS.search(command_id)
        and type(ref) is str
        and _PLAIN_REF.fullmatch(ref)
    ):
        return Line(line, kind, command_id, ref)
    return None


def _bare(raw: bytes) -> bytes:
    # A file joined from files that each began with a mark has one at the start of a line.
    return raw.removeprefix(BOM).removesuffix(b"\n").removesuffix(b"\r")


def parse_line(raw: bytes) -> Envelope | Exception | None:
    """One line (without its end) as a command, or the error that replaced it; None if blank."""
    try:
        line = _text(raw)
        if not line.strip():
            return None
        return parse_command(_load(line))
    except ValueError as e:  # pydantic's ValidationError is one
        return e


def read_lines(file: IO[bytes]) -> Iterator[bytes | None]:
    """The lines of ``file``; from a pipe, also ``None`` whenever nothing more has come for
    ``STALL_SECONDS`` (so that the whole lines before are written meanwhile; the start of a
    line may have come: a stall is silence, not a missing line)."""
    try:
        fd = file.fileno()
        piped = stat.S_ISFIFO(os.fstat(fd).st_mode) or stat.S_ISSOCK(os.fstat(fd).st_mode)
    except (AttributeError, OSError, ValueError):  # not a file of the system's (a test's)
        piped = False
    if not piped or os.name == "nt":  # Windows's select takes sockets only
        yield from file
        return
    yield from _pipe_lines(fd)


def _pipe_lines(fd: int) -> Iterator[bytes | None]:
    # ``None`` again at each ``STALL_SECONDS`` of silence, not only the first: the bulk path
    # may have taken the lines before a stall as the start of a batch it reads ahead, and
    # writes it at the next.
    pending: list[bytes] = []  # the start of a line still coming, as read (joined once)
    while True:
        if not select.select([fd], [], [], STALL_SECONDS)[0]:
            yield None
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        end = chunk.rfind(b"\n") + 1
        if not end:  # no line ends here: joining now would copy a long line at every read
            pending.append(chunk)
            continue
        pending.append(chunk[:end])
        lines = b"".join(pending).split(b"\n")
        pending = [chunk[end:]] if end < len(chunk) else []
        for line in lines[:-1]:
            yield line + b"\n"
    if pending:
        yield b"".join(pending)


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"not UTF-8 text ({e.reason}: byte 0x{raw[e.start]:02x} at byte {e.start + 1} "
            "of the line)"
        ) from None


def _load(line: str) -> Any:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as e:
        # Some of the json module's messages end in "at" ("Invalid control character at").
        message = e.msg.removesuffix(" at")
        raise ValueError(f"not valid JSON ({message} at character {e.pos + 1})") from None
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise ValueError("a line must be a JSON object with a 'command' field")
    return data
