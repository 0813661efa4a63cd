"""One registry of the ledger's event classes: each class, the name it is stored under (its
topic) and the version of its stored shape (its ``class_version``).

Each aggregate's module registers the aggregate once it is defined (``register``), with the
version of every one of its events written out. The registry is derived from the aggregate
class: every event class the library made for it is registered, none is forgotten, and a
table that leaves one out, names one that does not exist, or disagrees with a version an
event class declares itself, stops the import.

Stored events are never rewritten. An event whose shape changes gets the next
``class_version`` and a static method ``upcast_vN_vN+1(state)`` that turns the stored state of
version N into that of N+1; the library's mapper runs the chain when it decodes (stored
states of version 1 carry no version, later ones carry ``class_version``). ``register``
refuses a version without its chain of upcasters.

Consumers of events (the case fold, the clock facts, the audit summaries, the history views,
export-commands, the rulebook) key their tables by the registry's names (``Complaint.Triaged``,
``PolicyBook.Opened``) and say which events they ignore (``Coverage``), so that a new event
class fails ``tests/unit/test_event_registry.py`` until every consumer has decided about it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import CanInitAggregate, CanMutateAggregate
from eventsourcing.utils import get_topic


@dataclass(frozen=True)
class EventClass:
    """One registered event class."""

    cls: type[Any]
    aggregate: type[Any]
    topic: str
    class_version: int

    @property
    def name(self) -> str:
        """The registry's name: ``Aggregate.Event`` (``Opened`` alone would be ambiguous)."""
        return str(self.cls.__qualname__)

    @property
    def short(self) -> str:
        """The event's own name, as read models and command output show it."""
        return str(self.cls.__name__)


class UnregisteredEvent(TypeError):
    """An event whose class no aggregate registered: a programming error, never bad input."""


_BY_CLASS: dict[type[Any], EventClass] = {}
_BY_NAME: dict[str, EventClass] = {}
_BY_TOPIC: dict[str, EventClass] = {}


def event_classes_of(aggregate: type[Any]) -> list[type[Any]]:
    """The event classes the library stores for ``aggregate``, in definition order: every
    event class defined on it except the bases the library adds (``Event``, and ``Created``
    when another event creates the aggregate)."""
    found = [
        value
        for key, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, CanMutateAggregate)
        and value.__qualname__ == f"{aggregate.__qualname__}.{key}"
        and key != "Event"
    ]
    creators = [c for c in found if issubclass(c, CanInitAggregate)]
    if len(creators) > 1:
        found = [c for c in found if c.__name__ != "Created"]
    return found


def register(aggregate: type[Any], versions: Mapping[str, int]) -> None:
    """Register the event classes of ``aggregate``, each with its ``class_version`` as given
    in ``versions`` (event name -> version; every event class, nothing else).

    Call it after ``keep_topics`` (if the aggregate has stored names to keep): it reads each
    class's topic, which the library remembers from the first time it is asked."""
    classes = {c.__name__: c for c in event_classes_of(aggregate)}
    where = aggregate.__name__
    if set(versions) != set(classes):
        missing = sorted(set(classes) - set(versions))
        extra = sorted(set(versions) - set(classes))
        raise TypeError(
            f"the event versions of {where} must name each of its events once: "
            f"missing {missing}, not events of {where} {extra}"
        )
    for short, cls in classes.items():  # every check first: a refused table changes nothing
        version = versions[short]
        if not isinstance(version, int) or version < 1:
            raise TypeError(f"{where}.{short}: class_version must be a whole number from 1")
        declared = getattr(cls, "class_version", None)
        if declared is not None and declared != version:
            raise TypeError(
                f"{where}.{short} declares class_version {declared} but the table of "
                f"{where}'s event versions says {version}: change both together"
            )
        for n in range(1, version):
            if not callable(getattr(cls, f"upcast_v{n}_v{n + 1}", None)):
                raise TypeError(
                    f"{where}.{short} is at class_version {version} but has no "
                    f"upcast_v{n}_v{n + 1}: stored events of version {n} could not be read"
                )
    for short, cls in classes.items():
        cls.class_version = versions[short]
        entry = EventClass(cls, aggregate, get_topic(cls), versions[short])
        _BY_CLASS[cls] = entry
        _BY_NAME[entry.name] = entry
        _BY_TOPIC[entry.topic] = entry


def registered() -> tuple[EventClass, ...]:
    """Every registered event class (of the aggregates whose modules have been imported)."""
    return tuple(_BY_NAME.values())


def entry_of(event: object) -> EventClass:
    entry = _BY_CLASS.get(type(event))
    if entry is None:
        raise UnregisteredEvent(f"{type(event).__qualname__} is not a registered event class")
    return entry


def name_of(event: object) -> str:
    """The registry's name of ``event``'s class (``Complaint.Triaged``)."""
    return entry_of(event).name


def named(name: str) -> EventClass:
    entry = _BY_NAME.get(name)
    if entry is None:
        raise UnregisteredEvent(f"no registered event class is named {name!r}")
    return entry


def topic_of(name: str) -> str:
    """The stored topic of the event class named ``name``."""
    return named(name).topic


def by_topic(topic: str) -> EventClass | None:
    return _BY_TOPIC.get(topic)


@dataclass(frozen=True)
class Coverage:
    """What one consumer does with the events of some aggregates: the names it handles and
    the ones it deliberately ignores. Every event of those aggregates must be one or other."""

    consumer: str
    aggregates: frozenset[str]
    handled: frozenset[str]
    ignored: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, consumer: str, aggregates: Iterable[str], handled: Iterable[str],
        ignored: Iterable[str] = (),
    ) -> Coverage:  # fmt: skip
        return cls(consumer, frozenset(aggregates), frozenset(handled), frozenset(ignored))

    def concerns(self, entry: EventClass) -> bool:
        return entry.aggregate.__qualname__ in self.aggregates

    def decides(self, entry: EventClass) -> bool:
        return entry.name in self.handled or entry.name in self.ignored
