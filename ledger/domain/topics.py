"""Stored names of aggregates and events, kept apart from where the classes live.

The library names a class by ``module:qualname`` when it stores an event, and finds the
class again by that name. The names in a ledger's log must outlive any move of the code, so
each aggregate class and its event classes carry the name they were first stored under
(the library's ``TOPIC`` attribute), whatever module defines them now.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import BaseAggregate, CanMutateAggregate
from eventsourcing.utils import register_topic


def keep_topics(aggregate: type[BaseAggregate[Any]], module: str) -> None:
    """Name ``aggregate`` and its event classes as stored: ``module:Aggregate.Event``.

    Must run before the library first asks for one of their topics (at import of the module
    that defines them), since it remembers the first answer.
    """
    classes: list[type] = [aggregate]
    prefix = aggregate.__qualname__ + "."
    for value in vars(aggregate).values():
        if (
            isinstance(value, type)
            and issubclass(value, CanMutateAggregate)
            and value.__qualname__.startswith(prefix)
        ):
            classes.append(value)
    for cls in classes:
        topic = f"{module}:{cls.__qualname__}"
        cls.TOPIC = topic  # type: ignore[attr-defined]
        # So that the stored name resolves even though no module of that name exists.
        register_topic(topic, cls)
