"""Events as the read models take them: text without NUL characters.

Commands refuse control characters (``commands/fields.py``), but an event written by an
older version may hold a NUL, and PostgreSQL cannot keep one in a text column: every batch
that carried it would fail, for good. The read models show such a NUL as U+FFFD
(``ledger.domain.text.NUL_SHOWN_AS``) on both backends, so both give the same answer. The stored
event is not touched: it still verifies, and ``show``/``history`` replay it as it is.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent

from ledger.domain.text import shown_without_nul

# How the JSON transcoder writes a NUL inside a string. The ledger stores events as plain
# JSON (no compressor, no cipher), so a stored event without this holds no NUL, and the
# common case costs one search of the bytes.
_NUL_ESCAPE = b"\\u0000"


def decode(mapper: Mapper[Any], stored: StoredEvent) -> Any:
    """The domain event of ``stored``, with every NUL in its text replaced."""
    event = mapper.to_domain_event(stored)
    if _NUL_ESCAPE in stored.state:
        return without_nul(event)
    return event


def without_nul(value: Any) -> Any:
    """``value`` with NUL replaced in every string it holds, however deep; unchanged
    values (enums included) are returned as they are."""
    if isinstance(value, str):
        return shown_without_nul(value) if "\x00" in value else value
    if type(value) in (tuple, list):
        return type(value)(without_nul(v) for v in value)
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: without_nul(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init
        }
        return dataclasses.replace(value, **changes)
    return value
