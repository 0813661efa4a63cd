"""JSON Lines of commands (docs/commands.md), read one line at a time. Pure: no database.

Each line is decoded on its own, so a line that is not UTF-8, not JSON, nested too deeply or
not a valid command becomes that line's error and the lines after it are read as usual.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from commands.models import Envelope, parse_command

BOM = b"\xef\xbb\xbf"  # the UTF-8 byte order mark some editors write at the start of a file


def read_commands(lines: Iterable[bytes]) -> Iterator[tuple[int, Envelope | Exception]]:
    """Each non-blank line as ``(line number, command)``, or the error that replaced it."""
    for number, raw in enumerate(lines, start=1):
        # A file joined from files that each began with a mark has one at the start of a line.
        raw = raw.removeprefix(BOM).removesuffix(b"\n").removesuffix(b"\r")
        try:
            line = _text(raw)
            if not line.strip():
                continue
            yield number, parse_command(_load(line))
        except ValueError as e:  # pydantic's ValidationError is one
            yield number, e


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
