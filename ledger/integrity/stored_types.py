"""The types the ledger stores each column of an event and of its chain link as.

SQLite keeps whatever type a value is written with (``state || x'00'`` makes an event's
bytes text): a value of another type was written outside the ledger. The readers the
verifier uses check each row before hashing it, so such a row is named as tampered
instead of failing the hash with a ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.domain.errors import IntegrityViolation

Columns = tuple[tuple[str, type], ...]
EVENT_COLUMNS: Columns = (
    ("originator id", bytes),
    ("version", int),
    ("topic", str),
    ("state", bytes),
)
LINK_COLUMNS: Columns = (
    ("previous position", int),
    ("originator id", bytes),
    ("version", int),
    ("record hash", bytes),
    ("link", bytes),
    ("stream link", bytes),
)
_KINDS: dict[type, str] = {
    str: "text",
    bytes: "bytes",
    int: "an integer",
    float: "a real number",
    type(None): "NULL",
}


def id_bytes(value: Any) -> Any:
    """An originator id stored as 32 lower-case hex digits, as its 16 bytes; any other value
    as it is (``mistyped`` names it). Capitals would pass ``fromhex`` but not the ledger's
    look-ups by id: the event would drop out of its complaint unseen."""
    if isinstance(value, str) and len(value) == 32:
        try:
            found = bytes.fromhex(value)
        except ValueError:
            return value
        return found if found.hex() == value else value
    return value


def mistyped(values: Sequence[Any], columns: Columns) -> str | None:
    """What is stored as another type than the ledger writes, if anything."""
    for value, (column, kind) in zip(values, columns, strict=True):
        if column == "originator id" and isinstance(value, str):  # not 32 lower-case hex
            return f"its {column} is stored as {value!r}"
        if type(value) is not kind:
            return f"its {column} is stored as {_KINDS.get(type(value), type(value).__name__)}"
        if column == "originator id" and isinstance(value, bytes) and len(value) != 16:
            return f"its {column} is stored as {len(value)} bytes"
    return None


def event_mistyped(values: Sequence[Any]) -> str | None:
    """The message for an event row (originator id, version, topic, state) stored with a
    value of another type, or None."""
    problem = mistyped(values, EVENT_COLUMNS)
    if problem is None:
        return None
    return f"{problem}, not as the ledger writes it: the event was changed outside the ledger"


def link_mistyped(values: Sequence[Any]) -> str | None:
    """The same for a chain-link row (previous position, originator id, version, hashes)."""
    problem = mistyped(values, LINK_COLUMNS)
    if problem is None:
        return None
    return (
        f"{problem} in its chain link, not as the ledger writes it: the link was changed "
        "outside the ledger"
    )


def checked_event(position: int, values: Sequence[Any]) -> None:
    """Raise ``IntegrityViolation`` naming ``position`` when an event row is mistyped."""
    problem = event_mistyped(values)
    if problem is not None:
        raise IntegrityViolation(f"position {position}: {problem}")


def checked_link(position: int, values: Sequence[Any]) -> None:
    """Raise ``IntegrityViolation`` naming ``position`` when a chain-link row is mistyped."""
    problem = link_mistyped(values)
    if problem is not None:
        raise IntegrityViolation(f"position {position}: {problem}")
