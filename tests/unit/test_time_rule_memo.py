"""``timerule.check_new`` keeps the fold of the timelines it checked (issue 17): the answers
must be those of a fold from scratch however the list changed in between."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ledger.domain import timerule
from ledger.domain.errors import OccurredTooEarly
from ledger.domain.facts import Fact
from ledger.domain.timerule import check_new

RECEIVED = datetime(2026, 9, 24, 8, tzinfo=UTC)


def at(hours: int) -> datetime:
    return RECEIVED + timedelta(hours=hours)


def test_a_kept_fold_grows_with_the_list_and_only_by_the_new_facts() -> None:
    timeline = [Fact("received", 1, RECEIVED), Fact("triaged", 2, at(2))]
    check_new(RECEIVED, timeline, Fact("findings", 3, at(3)))
    kept = timerule._FOLDS[id(timeline)]
    assert kept[0] is timeline
    assert kept[2] == timeline
    timeline.append(Fact("findings", 3, at(6)))
    with pytest.raises(OccurredTooEarly, match="the findings"):
        check_new(RECEIVED, timeline, Fact("planned", 4, at(5)))  # a plan follows the findings
    assert timerule._FOLDS[id(timeline)][1] is kept[1]  # the same fold, one fact added
    assert kept[1].count == 3


def test_a_fact_replaced_in_place_is_not_judged_by_the_kept_fold() -> None:
    timeline = [Fact("received", 1, RECEIVED), Fact("triaged", 2, at(2))]
    check_new(RECEIVED, timeline, Fact("findings", 3, at(3)))
    timeline[1] = replace(timeline[1], at=at(5))  # as a correction re-dating the triage would
    with pytest.raises(OccurredTooEarly, match="the triage"):
        check_new(RECEIVED, timeline, Fact("findings", 3, at(3)))


def test_a_shorter_list_or_another_receipt_is_folded_again() -> None:
    timeline = [Fact("received", 1, RECEIVED), Fact("triaged", 2, at(2))]
    check_new(RECEIVED, timeline, Fact("findings", 3, at(3)))
    timeline.pop()
    check_new(RECEIVED, timeline, Fact("triaged", 2, at(1)))  # the later triage is gone
    later = RECEIVED + timedelta(hours=4)
    with pytest.raises(OccurredTooEarly, match="received"):
        check_new(later, timeline, Fact("triaged", 2, at(3)))
