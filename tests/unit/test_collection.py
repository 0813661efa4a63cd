"""``commands.collection.fewer_collections``: the interpreter's collection threshold is one
setting of the whole process, so the threshold it finds must come back when the last of its
users ends, whatever order they end in (two bulk generators consumed in turn, or two threads)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

from commands.collection import BULK_THRESHOLD, fewer_collections


def _bulk(steps: int) -> Iterator[int]:
    """A bulk path's shape: a generator that runs under ``fewer_collections``."""
    with fewer_collections():
        for _ in range(steps):
            yield gc.get_threshold()[0]


def test_the_threshold_comes_back_when_two_users_end_out_of_order() -> None:
    before = gc.get_threshold()
    raised = max(BULK_THRESHOLD, before[0])
    first, second = _bulk(3), _bulk(3)
    assert next(first) == raised
    assert next(second) == raised
    assert list(first) == [raised, raised]  # the first ends while the second still runs
    assert gc.get_threshold()[0] == raised
    assert list(second) == [raised, raised]
    assert gc.get_threshold() == before


def test_nested_users_and_an_error_put_the_threshold_back() -> None:
    before = gc.get_threshold()
    try:
        with fewer_collections(), fewer_collections(10):
            assert gc.get_threshold()[0] == max(BULK_THRESHOLD, before[0])
            raise KeyError("x")
    except KeyError:
        pass
    assert gc.get_threshold() == before
