"""Which existing JetStream streams the feed takes (``consumers.feed.sinks.check_stream``), and
how long a following feed waits between attempts to reach the server (``feeder.Backoff``)."""

from __future__ import annotations

import pytest

from consumers.feed.feeder import Backoff
from consumers.feed.sinks import DUPLICATE_WINDOW, FeedError, check_stream, covers


@pytest.mark.parametrize(
    ("pattern", "taken"),
    [("ledger.>", True), (">", True), ("*.>", True), ("ledger", False), ("ledger.*", False),
     ("ledger.*.>", False), ("ledger.Complaint.>", False), ("other.>", False)],
)  # fmt: skip
def test_a_stream_subject_covers_the_feeds_subjects_only_if_it_takes_all_of_them(
    pattern: str, taken: bool
) -> None:
    assert covers(pattern, "ledger.>") is taken


def test_a_longer_prefix_is_covered_by_a_shorter_pattern() -> None:
    assert covers("a.>", "a.b.c.>")
    assert covers("a.*.c.>", "a.b.c.>")
    assert not covers("a.b.c.d.>", "a.b.c.>")


def test_the_window_must_reach_the_feeds() -> None:
    check_stream("S", "ledger.>", ["ledger.>"], DUPLICATE_WINDOW)
    check_stream("S", "ledger.>", ["x", "ledger.>"], 3600.0)
    with pytest.raises(
        FeedError, match="has duplicate_window 119 s, the feed needs at least 120 s"
    ):
        check_stream("S", "ledger.>", ["ledger.>"], 119.0)
    with pytest.raises(FeedError, match="has duplicate_window none"):
        check_stream("S", "ledger.>", ["ledger.>"], 0.0)


def test_the_follower_waits_longer_after_each_failure_up_to_its_longest() -> None:
    delays = Backoff(first=0.5, longest=30.0).delays()
    assert [next(delays) for _ in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
