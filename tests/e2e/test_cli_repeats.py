"""Repeat and linked complaints (issue 15, item 5) through the command line and JSON Lines,
on SQLite and PostgreSQL: the blind index finds the same complainant by phone, ID number or
account reference (normalised) and holds none of them in clear or unkeyed; ``link`` is shown
from both sides; refusals append nothing; erasure takes a complaint out of the index, and a
restored backup of the index does not bring it back; the backfill indexes older complaints."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

import psycopg
import pytest

from ledger.store.blind_index import normalise
from ledger.store.root import open_ledger
from tests.audit_helpers import is_sqlite, pg_schema, sqlite_path
from tests.conftest import PG_DSN
from tests.helpers import actor, jsonl, receive_cmd, refused, run
from tests.integration.test_personal_data import holds, raw_database

CS = ["--actor", "li", "--role", "customer_service"]
LEAD = ["--actor", "chen", "--role", "leadership"]
PHONE, ID_NUMBER, ACCOUNT = "13812345678", "44030519851230123X", "LN-2026-0042"


def person(**fields: str) -> dict[str, str]:
    return {"name": "欧阳娜娜", **fields}


def receive(ref: str, day: int, account_ref: str | None = None, **who: str) -> dict[str, Any]:
    return receive_cmd(
        ref,
        complainant=person(**who),
        account_ref=account_ref,
        received_at=f"2026-09-{day:02d}T10:00:00+08:00",
        occurred_at=f"2026-09-{day:02d}T10:05:00+08:00",
    )


def repeat_ledger(url: str) -> None:
    """TS-1 and TS-2 share a phone (written differently), TS-3 shares TS-1's ID number (its
    check character in lower case), TS-4 shares TS-1's account reference, TS-5 is somebody
    else; TS-2 arrives through the command line, the rest through JSON Lines."""
    commands = [
        receive("TS-1", 20, ACCOUNT, phone=PHONE, id_number=ID_NUMBER),
        receive("TS-3", 22, None, id_number=ID_NUMBER.lower()),
        receive("TS-4", 23, "ln 2026 0042"),
        receive("TS-5", 24, "LN-9999", phone="13900000000"),
    ]
    assert run(url, "apply", "-", input=jsonl(commands)).exit_code == 0
    received = run(url, "receive", "--ref", "TS-2", "--channel", "phone",
                   "--received-at", "2026-09-21T10:00:00+08:00", "--phone", "+86 138-1234-5678",
                   "--content", "又来电", "--category", "harassment",
                   "--occurred-at", "2026-09-21T10:05:00+08:00", *CS)  # fmt: skip
    assert received.exit_code == 0, received.output


def shown(url: str, ref: str) -> dict[str, Any]:
    result = run(url, "show", ref, "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def same(url: str, ref: str) -> list[tuple[str, list[str]]]:
    return [(r["ref"], r["matched"]) for r in shown(url, ref)["same_complainant"]]


def index_rows(url: str) -> list[tuple[str, str]]:
    query = "SELECT ref, kind FROM {}complainant_index ORDER BY ref, kind"
    if is_sqlite(url):
        with sqlite3.connect(sqlite_path(url)) as db:
            return [tuple(r) for r in db.execute(query.format(""))]  # type: ignore[misc]
    with psycopg.connect(PG_DSN) as conn:
        return [tuple(r) for r in conn.execute(query.format(f"{pg_schema(url)}."))]  # type: ignore[misc]


def sql(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Direct SQL on the ledger's database (``{s}`` names the schema's prefix)."""
    if is_sqlite(url):
        db = sqlite3.connect(sqlite_path(url))
        with db:
            rows = db.execute(statement.format(s=""), params).fetchall()
        db.close()
        return rows
    with psycopg.connect(PG_DSN) as conn:
        cur = conn.execute(statement.format(s=f"{pg_schema(url)}.").replace("?", "%s"), params)
        return cur.fetchall() if cur.description else []


def test_show_lists_the_same_complainants_other_complaints_by_phone_id_or_account(
    ledger_url: str,
) -> None:
    repeat_ledger(ledger_url)

    first = shown(ledger_url, "TS-1")
    table = run(ledger_url, "show", "TS-2").stdout

    assert [(r["ref"], r["matched"], r["status"]) for r in first["same_complainant"]] == [
        ("TS-2", ["phone"], "open"),
        ("TS-3", ["id_number"], "open"),
        ("TS-4", ["account_ref"], "open"),
    ]
    assert first["same_complainant"][0]["received_at"] == "2026-09-21T02:00:00.000000+00:00"
    assert same(ledger_url, "TS-2") == [("TS-1", ["phone"])]
    assert same(ledger_url, "TS-5") == []
    assert " same complainant: TS-1 received 2026-09-20 10:00:00 +08:00, open (phone)\n" in table


def test_the_index_holds_no_phone_id_or_account_in_clear_nor_an_unkeyed_digest(
    ledger_url: str,
) -> None:
    repeat_ledger(ledger_url)

    raw = raw_database(ledger_url)
    rows = sql(ledger_url, "SELECT digest FROM {s}complainant_index")

    assert len(rows) == 8
    values = {"phone": PHONE, "id_number": ID_NUMBER, "account_ref": ACCOUNT}
    for kind, value in values.items():
        plain = normalise(kind, value)
        assert plain is not None
        for form in {value, plain, f"{kind}:{plain}"}:
            assert not holds(raw, form), form
            assert not holds(raw, hashlib.sha256(form.encode()).hexdigest()), form
    assert all(len(r[0]) == 64 for r in rows)


def test_link_is_shown_from_both_sides_and_refused_to_itself_an_unknown_or_a_duplicate(
    ledger_url: str,
) -> None:
    repeat_ledger(ledger_url)
    linked = run(ledger_url, "link", "TS-5", "TS-1", "--reason", "同一次催收电话",
                 "--occurred-at", "2026-09-25T09:00:00+08:00", *CS)  # fmt: skip
    by_jsonl = {"command": "link", "command_id": "l-2", "ref": "TS-2", "other": "TS-3",
                "reason": "同一催收员", "actor": actor("customer_service"),
                "occurred_at": "2026-09-25T09:10:00+08:00"}  # fmt: skip
    applied = run(ledger_url, "apply", "-", input=jsonl([by_jsonl]))

    assert linked.exit_code == 0, linked.output
    assert linked.stdout == "TS-5: ComplaintLinked (version 2)\n"
    assert applied.exit_code == 0, applied.output
    assert [(r["ref"], r["direction"]) for r in shown(ledger_url, "TS-5")["links"]] == [
        ("TS-1", "to")
    ]
    assert [(r["ref"], r["direction"]) for r in shown(ledger_url, "TS-1")["links"]] == [
        ("TS-5", "from")
    ]
    assert "        linked to: TS-3\n" in run(ledger_url, "show", "TS-2").stdout
    assert refused(ledger_url, "link", "TS-5", "TS-5", "--reason", "x", *CS) == (
        "Error: TS-5 cannot be linked to itself"
    )
    assert refused(ledger_url, "link", "TS-5", "TS-9", "--reason", "x", *CS) == (
        "Error: no complaint has reference 'TS-9'"
    )
    assert refused(ledger_url, "link", "TS-5", "TS-1", "--reason", "x", *CS) == (
        "Error: TS-5 and TS-1 are already linked"
    )
    again = {**by_jsonl, "command_id": "l-3", "ref": "TS-3", "other": "TS-2"}
    assert refused(ledger_url, "apply", "-", input=jsonl([again])).endswith(
        "TS-3 and TS-2 are already linked"
    )
    assert refused(ledger_url, "link", "TS-5", "TS-2", *CS).startswith("Error: ")  # no reason
    history = json.loads(run(ledger_url, "history", "TS-5", "--format", "json").stdout)
    assert history["events"][-1]["fields"] == {"other": "TS-1", "reason": "同一次催收电话"}
    assert not holds(raw_database(ledger_url), "同一次催收电话")  # the reason is sealed


def test_erase_takes_the_complaint_out_of_the_index_and_a_restored_backup_keeps_it_out(
    ledger_url: str,
) -> None:
    repeat_ledger(ledger_url)
    backup = sql(ledger_url, "SELECT * FROM {s}complainant_index WHERE ref = 'TS-1'")

    erased = run(ledger_url, "erase", "TS-1", "--reason", "本人要求删除", *LEAD)
    after_erase = index_rows(ledger_url)
    for row in backup:  # restoring a backup of the index puts the rows back ...
        sql(ledger_url, "INSERT INTO {s}complainant_index VALUES (?, ?, ?, ?, ?)", row)
    with open_ledger(ledger_url):  # ... until the first open that may write
        pass

    assert erased.exit_code == 0, erased.output
    assert len(backup) == 3
    assert [r for r in after_erase if r[0] == "TS-1"] == []
    assert [r for r in index_rows(ledger_url) if r[0] == "TS-1"] == []
    assert same(ledger_url, "TS-2") == []
    assert same(ledger_url, "TS-1") == []


def test_report_stats_counts_repeats_without_personal_data(ledger_url: str) -> None:
    repeat_ledger(ledger_url)

    everything = run(ledger_url, "report", "stats", "--repeats", "--format", "json")
    late = run(ledger_url, "report", "stats", "--repeats", "--from", "2026-09-22", "--format",
               "json")  # fmt: skip
    table = run(ledger_url, "report", "stats", "--repeats")

    assert everything.exit_code == 0, everything.output
    assert json.loads(everything.stdout) == {
        "indexed_complaints": 5,
        "complainants": 2,
        "repeat_complainants": 1,
        "repeat_complaints": 3,
    }
    # From the 22nd: TS-3 and TS-4 no longer meet through TS-1.
    assert json.loads(late.stdout) == {
        "indexed_complaints": 3,
        "complainants": 3,
        "repeat_complainants": 0,
        "repeat_complaints": 0,
    }
    assert table.stdout.splitlines()[-1] == "   repeat complaints: 3"


def test_the_backfill_indexes_complaints_received_before_the_index(ledger_url: str) -> None:
    repeat_ledger(ledger_url)
    run(ledger_url, "erase", "TS-3", "--reason", "本人要求删除", *LEAD)
    sql(ledger_url, "DELETE FROM {s}complainant_index")  # as a ledger of an earlier release

    before = same(ledger_url, "TS-1")
    backfilled = run(ledger_url, "index", "backfill")
    again = run(ledger_url, "index", "backfill")

    assert before == []
    assert backfilled.exit_code == 0, backfilled.output
    assert backfilled.stdout == "indexed 4 complaints (7 rows)\n"  # TS-3 was erased
    assert again.stdout == "indexed 0 complaints (0 rows)\n"
    assert same(ledger_url, "TS-1") == [("TS-2", ["phone"]), ("TS-4", ["account_ref"])]


@pytest.mark.parametrize("bulk", [False, True], ids=["apply", "apply --bulk"])
def test_a_batch_indexes_its_receipts_and_links_them_in_one_go(ledger_url: str, bulk: bool) -> None:
    commands = [
        receive("TS-B1", 20, phone=PHONE),
        receive("TS-B2", 21, phone=PHONE),
        {"command": "link", "command_id": "b-link", "ref": "TS-B2", "other": "TS-B1",
         "reason": "同一事件", "actor": actor("customer_service"),
         "occurred_at": "2026-09-21T11:00:00+08:00"},
        {"command": "link", "command_id": "b-link-back", "ref": "TS-B1", "other": "TS-B2",
         "reason": "同一事件", "actor": actor("customer_service"),
         "occurred_at": "2026-09-21T11:05:00+08:00"},
    ]  # fmt: skip

    result = run(ledger_url, "apply", *(["--bulk"] if bulk else []), "-", input=jsonl(commands))

    assert result.exit_code == 1  # the link back is refused, the rest applied
    assert "TS-B1 and TS-B2 are already linked" in result.output
    assert same(ledger_url, "TS-B1") == [("TS-B2", ["phone"])]
    assert [r["ref"] for r in shown(ledger_url, "TS-B1")["links"]] == ["TS-B2"]


def test_a_complaint_received_and_erased_in_one_batch_leaves_the_index_in_that_batch(
    ledger_url: str,
) -> None:
    """``apply --bulk`` writes a batch's receipts and erasures in one transaction: the
    erased complaint's digests, filed by its receipt, go with its key in that transaction,
    not at some later open that re-applies erasures."""
    erase = {"command": "erase", "command_id": "b-erase", "ref": "TS-E1", "reason": "本人要求删除",
             "actor": actor("leadership", "chen"),
             "occurred_at": "2026-09-21T12:00:00+08:00"}  # fmt: skip
    commands = [receive("TS-E1", 20, phone=PHONE), receive("TS-E2", 21, phone=PHONE), erase]

    result = run(ledger_url, "apply", "--bulk", "-", input=jsonl(commands))

    assert result.exit_code == 0, result.output
    assert index_rows(ledger_url) == [("TS-E2", "phone")]


def test_related_of_an_unknown_reference_is_one_error_line(ledger_url: str) -> None:
    repeat_ledger(ledger_url)

    result = run(ledger_url, "related", "TS-NOPE")

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["Error: no complaint has reference 'TS-NOPE'"]
