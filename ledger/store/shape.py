"""Whether a decoded event holds each of its fields as the type its class declares.

``replay`` asks this only when applying an event raised ``AttributeError``, ``TypeError``
or ``ValueError``: an event of its class's shape that fails to apply shows a bug in the code
applying it (raised as itself), one of another shape a stored event this version cannot
read. Nothing is asked on the hot path; ``Ledger.complaint_events`` (one complaint's events,
for ``show``, ``history`` and the like, which read fields that applying them need not) asks
of each. What cannot be told (a declaration that does not resolve, a construct not known
here) counts as fitting, so a doubt leaves the original error to be seen."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import sys
import types
import typing
from collections.abc import Mapping
from typing import Any

_HINTS: dict[type, list[tuple[str, Any]]] = {}


def fits_its_class(event: Any) -> bool:
    """Whether every field of ``event`` holds a value of its declared type."""
    return misfit(event) is None


def misfit(event: Any) -> str | None:
    """The first field of ``event`` holding a value not of its declared type, or None."""
    cls = type(event)
    hints = _HINTS.get(cls)
    if hints is None:
        fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
        hints = _HINTS[cls] = [(f.name, _declared(cls, f)) for f in fields]
    values = vars(event)
    for name, hint in hints:
        if name in values and not _fits(values[name], hint):
            return name
    return None


def _declared(cls: type, field: dataclasses.Field[Any]) -> Any:
    hint = field.type
    if not isinstance(hint, str):
        return hint
    for owner in cls.__mro__:
        if field.name in inspect.get_annotations(owner):
            names = {**vars(sys.modules[owner.__module__]), **_enclosing(owner)}
            try:
                return eval(hint, names)  # the class's own annotation
            except Exception:
                return Any
    return Any


def _enclosing(owner: type) -> dict[str, Any]:
    """The classes an event class is declared in (``Complaint`` for ``Complaint.Received``)."""
    module = sys.modules[owner.__module__]
    found: dict[str, Any] = {}
    outer: Any = module
    for part in owner.__qualname__.split(".")[:-1]:
        outer = getattr(outer, part, None)
        if outer is None:
            break
        found[part] = outer
        found.update({k: v for k, v in vars(outer).items() if isinstance(v, type)})
    return found


def _fits(value: Any, hint: Any) -> bool:
    if hint is Any or isinstance(hint, typing.TypeVar):
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(_fits(value, h) for h in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if origin is not None:
        return _fits_generic(value, origin, typing.get_args(hint))
    if not isinstance(hint, type):
        return True  # a construct not known here
    if isinstance(value, hint):
        return True
    if issubclass(hint, enum.Enum):  # stored as its value
        return any(value == member.value for member in hint)
    if hint is float:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint in (tuple, list):  # JSON holds both as a list
        return isinstance(value, tuple | list)
    return False


def _fits_generic(value: Any, origin: Any, args: tuple[Any, ...]) -> bool:
    if not isinstance(origin, type):
        return True
    if origin in (tuple, list, set, frozenset):
        if not isinstance(value, tuple | list | set | frozenset):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(map(_fits, value, args))
        return not args or all(_fits(v, args[0]) for v in value)
    if issubclass(origin, Mapping):
        if not isinstance(value, Mapping):
            return False
        if len(args) != 2:
            return True
        return all(_fits(k, args[0]) and _fits(v, args[1]) for k, v in value.items())
    return isinstance(value, origin)
