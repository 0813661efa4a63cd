"""One registry of event classes (ledger.domain.events): complete, versioned, and decided on
by every consumer that keeps a table of events."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import datetime
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, BaseAggregate, event

import commands.export
import ledger
import ledger.domain.facts
import projections.audit
import projections.casefold
from ledger.domain import events as registry
from ledger.domain.events import Coverage, EventClass

# Import every module of ledger/, so that every aggregate has registered its events.
for _module in pkgutil.walk_packages(ledger.__path__, "ledger."):
    importlib.import_module(_module.name)

CONSUMERS: list[Coverage] = [
    ledger.domain.facts.COVERAGE,
    projections.casefold.COVERAGE,
    projections.audit.COVERAGE,
    commands.export.COVERAGE,
]
LEDGER_AGGREGATES = ("Complaint", "StaffDirectory", "PolicyBook", "CalendarBook", "SealBook",
                     "ReadinessBook")  # fmt: skip
ENTRIES = [e for e in registry.registered() if e.aggregate.__module__.startswith("ledger.")]
CASES = [(c, e) for c in CONSUMERS for e in ENTRIES if c.concerns(e)]


@pytest.mark.parametrize(
    ("consumer", "entry"), CASES, ids=[f"{c.consumer.split(' (')[0]}:{e.name}" for c, e in CASES]
)
def test_every_consumer_handles_or_ignores_every_event_of_its_aggregates(
    consumer: Coverage, entry: EventClass
) -> None:
    assert consumer.decides(entry), (
        f"{consumer.consumer} neither handles nor ignores {entry.name}: add it to its table "
        "or to what it ignores"
    )


@pytest.mark.parametrize("consumer", CONSUMERS, ids=[c.consumer for c in CONSUMERS])
def test_a_consumer_names_only_registered_events_of_its_aggregates(consumer: Coverage) -> None:
    named = consumer.handled | consumer.ignored
    known = {e.name for e in ENTRIES if consumer.concerns(e)}

    assert sorted(named - known) == []
    assert consumer.aggregates <= set(LEDGER_AGGREGATES)


def _aggregates_in_ledger() -> set[type[Any]]:
    found: set[type[Any]] = set()
    pending: list[type[Any]] = [BaseAggregate]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("ledger."):
                found.add(sub)
    return found


def test_every_aggregate_of_the_ledger_registered_every_event_class() -> None:
    aggregates = _aggregates_in_ledger()

    assert sorted(a.__qualname__ for a in aggregates) == sorted(LEDGER_AGGREGATES)
    for aggregate in aggregates:
        classes = registry.event_classes_of(aggregate)
        assert classes, aggregate
        for cls in classes:
            entry = registry.named(cls.__qualname__)
            assert entry.cls is cls
            assert entry.class_version == cls.class_version >= 1
            assert registry.by_topic(entry.topic) is entry


def test_the_registry_knows_the_stored_names_and_todays_versions() -> None:
    received = registry.named("Complaint.Received")
    opened = [registry.named(f"{a}.Opened") for a in LEDGER_AGGREGATES[1:]]

    assert received.topic == "ledger.complaint:Complaint.Received"
    assert registry.topic_of("PolicyBook.PolicyPublished") == (
        "ledger.registry:PolicyBook.PolicyPublished"
    )
    assert registry.topic_of("SealBook.LedgerSealed") == "ledger.sealbook:SealBook.LedgerSealed"
    assert len({e.topic for e in opened}) == 5  # five "Opened", five stored names
    # Version 2: the complaint's events whose free text is sealed (docs/audit.md, "Erasure").
    sealed_text = {"Received", "Triaged", "Escalated", "CustomerContacted", "FindingsRecorded",
                   "ResolutionExecuted", "OutcomeCommunicated", "CallbackRecorded", "Closed",
                   "Reopened", "Withdrawn", "DeadlineExtended", "ClocksPaused", "ClocksResumed",
                   "NoteAdded", "OccurrenceCorrected"}  # fmt: skip
    # Version 3: triage and closure carry a cause code (issue 15, item 2a); version 4: the
    # regulator's business type and business channel too.
    coded = {"Triaged", "Closed"}
    # And the policy publication, which names why the plan was revised (issue 15, item 7).
    assert {e.name for e in ENTRIES if e.class_version == 2} == {
        *(f"Complaint.{n}" for n in sealed_text - coded),
        "PolicyBook.PolicyPublished",
    }
    assert {e.name for e in ENTRIES if e.class_version == 3} == set()
    assert {e.name for e in ENTRIES if e.class_version == 4} == {f"Complaint.{n}" for n in coded}
    assert {e.class_version for e in ENTRIES} == {1, 2, 4}
    assert registry.topic_of("PolicyBook.CodesPublished") == (
        "ledger.registry:PolicyBook.CodesPublished"
    )
    # Issue 16 added the alerts' two; issue 15 six, sealed from their first version, the
    # code lists' publication, two for improvement measures, the reply to the regulator, the
    # links (reasons sealed from their first version), the readiness book's three (training
    # and drills), and two for evidence and callbacks that did not reach the complainant.
    assert len(ENTRIES) == 52


def test_an_unregistered_event_is_named_as_such() -> None:
    with pytest.raises(registry.UnregisteredEvent, match=r"Rogue is not a registered event"):
        registry.name_of(Rogue())
    with pytest.raises(registry.UnregisteredEvent, match=r"'Complaint\.Nothing'"):
        registry.topic_of("Complaint.Nothing")


class Rogue:
    pass


# ---------------------------------------------------------------------- register's checks


class Sheet(Aggregate):
    @event("Started")
    def __init__(self) -> None:
        self.lines: list[str] = []

    @event("Written")
    def write(self, text: str) -> None:
        self.lines.append(text)


def test_register_refuses_a_table_that_leaves_out_or_invents_an_event() -> None:
    with pytest.raises(TypeError, match=r"missing \['Written'\], not events of Sheet \['Wrote'\]"):
        registry.register(Sheet, {"Started": 1, "Wrote": 1})


def test_register_refuses_a_version_without_its_upcasters() -> None:
    with pytest.raises(
        TypeError, match=r"Sheet\.Written is at class_version 3 but has no upcast_v1"
    ):
        registry.register(Sheet, {"Started": 1, "Written": 3})


def test_register_refuses_a_table_that_disagrees_with_the_class() -> None:
    class Ruled(Aggregate):
        class Drawn(Aggregate.Event):
            class_version = 2

            @staticmethod
            def upcast_v1_v2(state: dict[str, Any]) -> None:
                state["width"] = 1

        @event(Drawn)
        def draw(self, width: int) -> None:
            self.width = width

    with pytest.raises(TypeError, match=r"declares class_version 2 but the table .* says 1"):
        registry.register(Ruled, {"Created": 1, "Drawn": 1})


def test_register_sets_the_version_written_in_the_table() -> None:
    registry.register(Sheet, {"Started": 1, "Written": 1})
    page = Sheet()
    page.write("x")

    versions = [registry.entry_of(e).class_version for e in page.collect_events()]

    assert versions == [1, 1]
    assert Sheet.Written.class_version == 1  # type: ignore[attr-defined]
    assert isinstance(page.created_on, datetime)
