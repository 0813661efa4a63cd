"""The lean read of ``report sla --summary`` and its pages (``projections.lean``), on both
backends: where it answers, it answers exactly as the full path (``open_query``) — the same
totals, items and lag —; where it cannot tell it would, it declines and the full path answers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from projections import lean
from projections.db import quoted
from projections.lean import open_lean
from projections.query import open_query
from projections.sla_pages import Report, sla_page, sla_summary
from tests.helpers import event_count, jsonl, receive_cmd, run

MOMENTS = ["2026-01-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00", "2030-01-01T00:00:00+08:00"]


@pytest.fixture
def projected(ledger_url: str) -> str:
    assert run(ledger_url, "demo", "--complaints", "12", "--db", ledger_url).exit_code == 0
    assert run(ledger_url, "projections", "run").exit_code == 0
    return ledger_url


# The ledger's names as written in Python source: each may appear only in its one module.
NAMES: dict[str, str | None] = {
    '"stored_events"': "ledger/store/names.py",
    '"command_log"': "ledger/store/names.py",
    '"chain_links"': "ledger/store/names.py",
    '"person_keys"': "ledger/store/names.py",
    '"complaintledger_events"': None,  # made from the application's name, there
    "0x434C6467": "ledger/store/names.py",
    '"POSTGRES_ENABLE_DB_FUNCTIONS"': "ledger/store/names.py",
    '"projection_positions"': "projections/schema.py",
    '"complaint_ledger_head"': "projections/schema.py",
}


def test_the_ledgers_names_are_written_once() -> None:
    """The store and the lean read take the ledger's table names, columns and settings from
    one module (``ledger.store.names``) instead of each writing them out: they cannot drift."""
    root = Path(__file__).resolve().parents[2]
    written = sorted(
        (literal, str(path.relative_to(root)))
        for package in ("ledger", "projections", "commands", "consumers")
        for path in (root / package).rglob("*.py")
        for literal in NAMES
        if literal.lower() in path.read_text(encoding="utf-8").lower()
    )
    assert written == sorted((k, v) for k, v in NAMES.items() if v)
    from ledger.store.names import LEDGER_NAME, POSTGRES_EVENTS, postgres_columns
    from ledger.store.root import Ledger

    assert Ledger.name == LEDGER_NAME
    assert f"{Ledger.name.lower()}_events" == POSTGRES_EVENTS
    assert postgres_columns(POSTGRES_EVENTS) == lean.POSTGRES_COLUMNS


def test_the_names_load_nothing() -> None:
    """The lean read's imports, names included, load neither psycopg nor the library."""
    probe = (
        "import sys, projections.lean, ledger.store.names\n"
        "print(sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in "
        "('psycopg', 'psycopg_pool', 'eventsourcing', 'pydantic', 'cryptography')"
        " or m.startswith('ledger.store.') and m != 'ledger.store.names'))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("catch_up", [False, True])
def test_the_lean_read_answers_as_the_full_path(projected: str, catch_up: bool) -> None:
    """Up to date (a catch-up would do nothing), so the lean read answers, with or without
    catch-up asked for: totals, pages and lag as the full path's."""
    before = event_count(projected)
    query = open_lean(projected, catch_up=catch_up)
    assert query is not None
    try:
        with open_query(projected, catch_up=False) as full:
            assert query.lag("cases") == full.lag("cases")
            for moment in MOMENTS:
                as_of = datetime.fromisoformat(moment)
                assert sla_summary(query, as_of) == sla_summary(full, as_of)
                report = full.sla_report(as_of)
                assert sla_summary(query, as_of)["totals"] == report["totals"]
                page = sla_page(query, as_of, None, None, 5)
                assert page == sla_page(full, as_of, None, None, 5)
                assert page["items"] == report["items"][:5]
    finally:
        query.close()
    assert event_count(projected) == before


def test_the_lean_read_declines_what_it_cannot_tell(projected: str) -> None:
    """Read models behind the log: with catch-up the full path catches up, so the lean read
    declines; without, it answers with the same lag as the full path, unless --max-lag is
    exceeded (the full path then refuses, in its words)."""
    appended = run(projected, "apply", "-", input=jsonl([receive_cmd("TS-LEAN")]))
    assert appended.exit_code == 0, appended.output  # appended, not projected
    with open_query(projected, catch_up=False) as full:
        behind = full.lag("cases")
    assert behind.events
    assert open_lean(projected, catch_up=True) is None
    assert open_lean(projected, catch_up=False, max_lag=behind.events - 1) is None
    query = open_lean(projected, catch_up=False, max_lag=behind.events)
    assert query is not None
    try:
        assert query.lag("cases") == behind
    finally:
        query.close()
    # the command catches up on the full path and then says so
    out = run(projected, "report", "sla", "--summary", "--format", "json",
              "--as-of", MOMENTS[1])  # fmt: skip
    assert out.exit_code == 0
    assert json.loads(out.stdout)["lag"] == 0


def test_the_lean_read_declines_urls_and_ledgers_it_does_not_know(
    ledger_url: str, projected: str
) -> None:
    if ledger_url.startswith("sqlite"):
        assert open_lean(projected + "?mode=ro", catch_up=False) is None
        assert open_lean(projected + "-missing", catch_up=False) is None
    else:
        assert open_lean(projected + "&create_tables=no", catch_up=False) is None
        assert open_lean(projected.replace(":5432", ":1"), catch_up=False) is None
    assert open_lean("mysql://x/y", catch_up=False) is None


def test_a_ledger_never_projected_is_left_to_the_full_path(ledger_url: str) -> None:
    assert run(ledger_url, "apply", "-", input=jsonl([receive_cmd("TS-NEW")])).exit_code == 0
    assert open_lean(ledger_url, catch_up=False) is None
    refused = run(ledger_url, "report", "sla", "--summary", "--no-catch-up")
    assert refused.exit_code != 0
    assert refused.stderr.startswith("Error: the read models have not been built yet")


def test_the_summary_loads_neither_the_store_nor_the_library(projected: str) -> None:
    """What makes the lean read lean: on SQLite neither psycopg nor the library is loaded;
    on PostgreSQL psycopg alone."""
    heavy = ("ledger.store.root", "eventsourcing.application", "eventsourcing.persistence",
             "pydantic", "cryptography", "psycopg_pool")  # fmt: skip
    for extra in (["--summary"], ["--limit", "3", "--format", "json"]):
        probe = (
            "import sys; from commands.cli import main; sys.argv = ['complaint-ledger', "
            f"'report', 'sla', *{extra!r}, '--db', {projected!r}]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules), 'psycopg' in sys.modules,"
            " file=sys.stderr)"
        )
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             check=True)  # fmt: skip
        assert out.stderr.strip() == f"[] {projected.startswith('postgres')}", extra


def test_the_at_risk_clocks_are_counted_alike_with_and_without_their_index(
    projected: str,
) -> None:
    """Read models built now have the index of open clocks by deadline and warning moment,
    and the summary and pages read the clocks at risk on it; read models built before it
    (the index dropped here) are read without it, to the same totals and items."""
    moments = [datetime.fromisoformat(f"2026-11-{d}T{h}:00:00+08:00")
               for d in (10, 18, 27) for h in (10, 20)]  # fmt: skip
    with open_query(projected, catch_up=False) as full:
        with full.transaction() as cur:
            index = Report(cur, moments[0], None, None).risk_index
        assert index is not None
        found = [(sla_summary(full, m), sla_page(full, m, None, None, 500)) for m in moments]
        assert any(s["totals"]["all"]["at_risk"] for s, _ in found)
        for (summary, page), moment in zip(found, moments, strict=True):
            report = full.sla_report(moment)
            assert summary["totals"] == report["totals"]
            assert page["items"] == report["items"][:500]
        with full.store.transaction(full.names) as cur:
            cur.execute(f"DROP INDEX {full.store.name(index) if cur.postgres else quoted(index)}")
        with full.transaction() as cur:
            assert Report(cur, moments[0], None, None).risk_index is None
        again = [(sla_summary(full, m), sla_page(full, m, None, None, 500)) for m in moments]
    assert again == found


def _set(url: str, statement: str, params: tuple[object, ...]) -> None:
    """One write to the read models, as a runner makes it (to stage what a test reads)."""
    from ledger.store.root import open_ledger
    from projections.runner import Runner

    with open_ledger(url) as ledger, Runner(ledger).transaction() as cur:
        cur.execute(statement, params)


def test_read_models_of_an_older_shape_are_left_to_the_full_path(projected: str) -> None:
    """Read models an earlier release built: the full path refuses them without a catch-up
    (and rebuilds them with one), so the lean read never answers from them."""
    from projections.schema import CASES_SHAPE, SHAPE_KEY

    _set(projected, "UPDATE {positions} SET position = ? WHERE name = ?",
         (CASES_SHAPE - 1, SHAPE_KEY))  # fmt: skip
    assert open_lean(projected, catch_up=False) is None
    assert open_lean(projected, catch_up=True) is None
    refused = run(projected, "report", "sla", "--summary", "--no-catch-up")
    assert refused.exit_code != 0
    assert refused.stderr.startswith("Error: the case read models were built by an earlier")


def test_statistics_marked_to_work_out_are_left_to_the_full_path(projected: str) -> None:
    """A catch-up would work out the marked statistics groups: the lean read declines where
    one is asked for, and answers where it is not."""
    _set(projected, "INSERT INTO {statistics_dirty} VALUES (?, ?, ?, ?)",
         ("2026-11", "phone", "harassment", "untriaged"))  # fmt: skip
    assert open_lean(projected, catch_up=True) is None
    query = open_lean(projected, catch_up=False)
    assert query is not None
    query.close()
    out = run(projected, "report", "sla", "--summary", "--format", "json", "--as-of", MOMENTS[1])
    assert out.exit_code == 0
    with open_query(projected, catch_up=False) as full, full.transaction() as cur:
        cur.execute("SELECT COUNT(*) AS n FROM {statistics_dirty}")
        assert cur.fetchone() == {"n": 0}  # the full path caught up: worked them out
