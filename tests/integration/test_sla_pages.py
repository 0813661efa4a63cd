"""``report sla`` in pages, as a stream and as totals (issue 17, item 1), on both backends.

The randomised histories of ``test_sla_randomised`` (backdated actions, pauses, extensions,
business-hours clocks: clocks whose stored deadline is exact and clocks worked out from their
facts) are applied through the bulk path and the read models caught up. Then, at moments
before, during and after them, with and without ``--from/--to``:

* the pages of every size tried, concatenated, are the full report's items, byte for byte;
* ``--summary`` equals the full report's totals and late entries;
* ``--format ndjson`` lines are the full report's items;
* a malformed cursor, or one of another moment, is refused with one ``Error:`` line.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from commands.bulk import apply_in_batches
from commands.models import parse_command
from ledger.store.root import open_ledger
from projections.query import open_query
from projections.sla_pages import Position, sla_page, sla_stream, sla_summary
from tests.helpers import event_count, run
from tests.integration.test_sla_randomised import BUSINESS_POLICY, histories, publish

HISTORIES = 100
MOMENTS = ["2021-03-20T10:00:00+08:00", "2021-06-01T09:30:00+08:00", "2022-06-01T00:00:00+08:00"]
PERIODS: list[tuple[date | None, date | None]] = [
    (None, None), (date(2021, 4, 1), date(2021, 6, 30)), (None, date(2021, 5, 15)),
]  # fmt: skip


@pytest.fixture
def filled(ledger_url: str, tmp_path: Path) -> str:
    publish(ledger_url, tmp_path, BUSINESS_POLICY)
    commands = [c for h in histories(HISTORIES, 17) for c in h]
    numbered = [(n, parse_command(c)) for n, c in enumerate(commands, 1)]
    with open_ledger(ledger_url) as ledger:
        list(apply_in_batches(ledger, numbered, batch_size=500))
    assert run(ledger_url, "projections", "run").exit_code == 0
    return ledger_url


def _pages(query: Any, as_of: datetime, first: date | None, last: date | None, size: int) -> list:
    items: list[dict[str, Any]] = []
    after = None
    while True:
        page = sla_page(query, as_of, first, last, size, after)
        assert len(page["items"]) <= size
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        assert len(page["items"]) == size
        after = Position.decode(page["next_cursor"])


@pytest.mark.timeout(900)
def test_pages_stream_and_summary_are_the_full_report(filled: str) -> None:
    compared = worked_out = 0
    with open_query(filled, catch_up=False) as query:
        for moment in MOMENTS:
            as_of = datetime.fromisoformat(moment)
            for first, last in PERIODS:
                full = query.sla_report(as_of, first, last)
                summary = sla_summary(query, as_of, first, last)
                streamed: list[dict[str, Any]] = []
                sla_stream(query, as_of, first, last, streamed.append)

                assert summary["totals"] == full["totals"], (moment, first, last)
                assert summary["recorded_after_due"] == full["recorded_after_due"]
                assert streamed == full["items"]
                # pages of one item only once: each page works the paused cases out again
                one = moment == MOMENTS[0] and first is None and last is None
                for size in (1, 13, 64) if one else (13, 64):
                    paged = _pages(query, as_of, first, last, size)
                    assert orjson.dumps(paged) == orjson.dumps(full["items"]), (moment, size)
                compared += len(full["items"])
            with query.transaction() as cur:
                from projections.sla_pages import Report

                worked_out += len(Report(cur, as_of, None, None).inexact)
    assert compared > 500  # the report is not trivially empty
    assert worked_out > 0  # some cases' clocks were worked out from their facts


def test_the_commands_page_stream_summarise_and_refuse_bad_cursors(filled: str) -> None:
    moment = MOMENTS[1]
    base = ["report", "sla", "--as-of", moment, "--from", "2021-03-01"]
    full = json.loads(run(filled, *base, "--format", "json").stdout)
    summary = json.loads(run(filled, *base, "--summary", "--format", "json").stdout)
    ndjson = run(filled, *base, "--format", "ndjson").stdout
    # The first page with the report's moment and period; the next ones by cursor alone.
    page = json.loads(run(filled, *base, "--limit", "25", "--format", "json").stdout)
    items, pages = page["items"], 1
    while page["next_cursor"] is not None:
        page = json.loads(run(filled, "report", "sla", "--limit", "25", "--after",
                              page["next_cursor"], "--format", "json").stdout)  # fmt: skip
        items += page["items"]
        pages += 1
    before = event_count(filled)
    garbled = run(filled, "report", "sla", "--after", "not-a-cursor", "--format", "json")
    other = run(filled, "report", "sla", "--after", _a_cursor(filled, moment),
                "--as-of", MOMENTS[0])  # fmt: skip

    assert summary["totals"] == full["totals"]
    assert "items" not in summary
    assert [json.loads(line) for line in ndjson.splitlines()] == full["items"]
    assert items == full["items"]
    assert pages == -(-len(full["items"]) // 25)
    for refused in (garbled, other):
        assert refused.exit_code != 0
        assert refused.stdout == ""
        assert [line for line in refused.stderr.splitlines() if line.startswith("Error:")] == [
            refused.stderr.splitlines()[0]
        ]
        assert "Traceback" not in refused.stderr
    assert event_count(filled) == before


def _a_cursor(url: str, moment: str) -> str:
    page = json.loads(run(url, "report", "sla", "--as-of", moment, "--limit", "1",
                          "--format", "json").stdout)  # fmt: skip
    cursor: str = page["next_cursor"]
    return cursor
