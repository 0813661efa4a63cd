"""Readable one-line descriptions of validation errors."""

from __future__ import annotations

from pydantic import ValidationError

from commands.models import COMMAND_NAMES


def describe_validation_error(error: ValidationError) -> str:
    items = error.errors()
    locs = [tuple(str(p) for p in item["loc"]) for item in items]
    parts = []
    for item, loc in zip(items, locs, strict=True):
        if any(other != loc and other[: len(loc)] == loc for other in locs):
            continue  # a container's complaint about a bad element says nothing new
        if loc and loc[0] in COMMAND_NAMES:
            loc = loc[1:]  # the discriminator's own name adds nothing
        where = ".".join(loc)
        parts.append(f"{where}: {_message(item)}" if where else _message(item))
    return "; ".join(parts)


def _message(item: object) -> str:
    assert isinstance(item, dict)
    kind = item["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "union_tag_invalid":
        tag = item.get("ctx", {}).get("tag")
        return f"unknown command {tag!r}; expected one of: {', '.join(COMMAND_NAMES)}"
    if kind == "union_tag_not_found":
        return f"'command' is required, one of: {', '.join(COMMAND_NAMES)}"
    return str(item["msg"]).removeprefix("Value error, ")
