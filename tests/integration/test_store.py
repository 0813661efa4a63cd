"""The event store on both backends: schema on first use, reopening, concurrent start-up."""

from __future__ import annotations

import multiprocessing

from ledger.store.root import open_ledger
from tests.conftest import pg_url
from tests.helpers import jsonl, life_cmds, run


def open_and_count(url: str) -> int:
    with open_ledger(url) as ledger:
        return ledger.count_events()


def test_schema_is_created_on_first_use_and_events_survive_reopening(ledger_url: str) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-KEEP")))

    with open_ledger(ledger_url) as ledger:
        complaint = ledger.get_complaint("TS-KEEP")

    assert (complaint.version, str(complaint.status)) == (8, "closed")
    assert open_and_count(ledger_url) == 8


def test_processes_opening_a_fresh_postgres_ledger_at_once_all_succeed(
    postgres_schema: str,
) -> None:
    url = pg_url(postgres_schema)

    with multiprocessing.get_context("spawn").Pool(6) as pool:
        counts = pool.map(open_and_count, [url] * 6)

    assert counts == [0] * 6
