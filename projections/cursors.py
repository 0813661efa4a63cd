"""Cursors of paged reads (``list``, ``audit``, ``report sla``): the sort key of the last
item served, opaque to clients (base64url of JSON), so the next page starts after it
(keyset pagination: rows appended meanwhile do not shift the pages, as an offset would)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from ledger.domain.errors import LedgerError


class BadCursor(LedgerError):
    """A cursor this ledger did not give out, or one given out for another report."""


def encode(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode(text: str, kinds: tuple[type, ...], what: str = "this list") -> list[Any]:
    """The key ``text`` holds, each value of the type in ``kinds``, or ``BadCursor``."""
    try:
        key = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        key = None
    if not (
        isinstance(key, list)
        and len(key) == len(kinds)
        and all(type(k) is kind for k, kind in zip(key, kinds, strict=True))
    ):
        raise BadCursor(f"--after: {text[:40]!r} is not a cursor of {what}; start again without it")
    return key
