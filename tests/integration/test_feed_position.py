"""The feed's position in the ledger's database: kept per destination, moved only from the
value a feed read, so a second feed on the same stream stops instead of publishing beside it."""

from __future__ import annotations

import pytest

from consumers.feed.position import FeedBusy, FeedPositions
from ledger.store.root import open_ledger


def test_positions_start_at_zero_and_are_kept_per_destination(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        positions = FeedPositions(ledger)
        positions.move("nats:A", 0, 40)

        assert (positions.get("nats:A"), positions.get("nats:B")) == (40, 0)


def test_a_feed_whose_position_another_moved_stops_and_moves_nothing(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        positions = FeedPositions(ledger)
        read_by_both = positions.get("nats:A")
        positions.move("nats:A", read_by_both, 10)  # the first feed

        with pytest.raises(FeedBusy, match="another feed moved the position of nats:A past 0"):
            positions.move("nats:A", read_by_both, 7)  # the second, from what it read

        assert positions.get("nats:A") == 10
