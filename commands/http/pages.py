"""Cursor pagination: ``?limit=&cursor=`` in, ``{items, next_cursor}`` out. A cursor is the
sort key of the last item served, opaque to clients (base64url of JSON)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from commands.http.problems import Problem


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(cursor: str | None, size: int) -> list[Any] | None:
    """The key a cursor holds (``size`` values, each a string or an integer), or 400."""
    if cursor is None:
        return None
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        key = None
    if not (
        isinstance(key, list)
        and len(key) == size
        and all(isinstance(k, str | int) and not isinstance(k, bool) for k in key)
    ):
        raise Problem(400, "cursor: not a cursor this API gave out; start again without it")
    return key
