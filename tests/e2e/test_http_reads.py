"""The GETs through the real HTTP server, on both backends: each answers as its command-line
twin does in JSON, pages with cursors, and never writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ledger.store.root import open_ledger
from projections.db import ReadStore
from tests.e2e.http_server import Api, serving, staff_directory
from tests.helpers import event_count, jsonl, life_cmds, run

AS_OF = "2026-10-10T12:00:00+08:00"


@pytest.fixture
def api(ledger_url: str) -> Iterator[Api]:
    """Three complaints: TS-R1 closed, TS-R2 planned and assigned to wang, TS-R3 received."""
    tokens = staff_directory(ledger_url)
    commands = [*life_cmds("TS-R1"), *life_cmds("TS-R2", "plan"), *life_cmds("TS-R3", "receive")]
    for command in commands:
        if command["command"] == "assign" and command["ref"] == "TS-R2":
            command["handler"] = "wang"
        command["actor"] = {"id": "wang", "role": command["actor"]["role"]}
    applied = run(ledger_url, "apply", "-", input=jsonl(commands))
    assert applied.exit_code == 0, applied.output
    with serving(ledger_url) as base:
        served = Api(ledger_url, base, tokens)
        served.wait_fresh()
        yield served


def get(api: Api, path: str, **params: Any) -> Any:
    with api.client("li") as client:
        answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def cli_json(api: Api, *args: str) -> Any:
    result = run(api.url, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_pages_with_a_cursor(api: Api) -> None:
    first = get(api, "/v1/complaints", limit=2)
    second = get(api, "/v1/complaints", limit=2, cursor=first["next_cursor"])

    assert [c["ref"] for c in first["items"]] == ["TS-R1", "TS-R2"]
    assert [c["ref"] for c in second["items"]] == ["TS-R3"]
    assert second["next_cursor"] is None
    assert first["items"] + second["items"] == cli_json(api, "list")
    assert first["lag"] == 0


VERDICT_KEYS = frozenset({"clock", "due_at", "met_at", "status", "late_by_seconds",
                          "late_by_business_seconds", "estimated", "recorded_after_due",
                          "changes"})  # fmt: skip
ITEM_KEYS = frozenset({"ref", "clock", "due_at", "met_at", "estimated", "team", "handler",
                       "channel", "status", "late_by_seconds", "late_by_business_seconds",
                       "changes"})  # fmt: skip


def test_list_filters_as_the_command_line_does(api: Api) -> None:
    open_only = get(api, "/v1/complaints", open="true")
    planned = get(api, "/v1/complaints", stage="execution")

    assert [c["ref"] for c in open_only["items"]] == ["TS-R2", "TS-R3"]
    assert [c["ref"] for c in planned["items"]] == ["TS-R2"]


def test_a_complaint_its_history_and_its_clocks_answer_as_the_command_line(api: Api) -> None:
    assert get(api, "/v1/complaints/TS-R1") == cli_json(api, "show", "TS-R1")
    assert get(api, "/v1/complaints/TS-R1/history", as_of=AS_OF) == cli_json(
        api, "history", "TS-R1", "--as-of", AS_OF
    )
    clocks = get(api, "/v1/complaints/TS-R2/sla", as_of=AS_OF)
    assert clocks == cli_json(api, "sla", "TS-R2", "--as-of", AS_OF)
    assert {frozenset(c) for c in clocks} == {VERDICT_KEYS}


def test_the_audit_trail_shows_how_each_actor_was_proven(api: Api) -> None:
    trail = get(api, "/v1/complaints/TS-R3/audit")

    assert trail["items"] == cli_json(api, "audit", "TS-R3")
    expected = "database" if api.url.startswith("postgresql") else "asserted"
    assert [(r["action"], r["actor_method"]) for r in trail["items"]] == [("Received", expected)]


def test_the_sla_report_pages_keep_the_moment_of_the_first(api: Api) -> None:
    whole = cli_json(api, "report", "sla", "--as-of", AS_OF)

    pages, cursor = [], None
    while True:
        page = get(api, "/v1/reports/sla", as_of=AS_OF, limit=3,
                   **({"cursor": cursor} if cursor else {}))  # fmt: skip
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(pages) > 1
    assert [i for p in pages for i in p["items"]] == whole["items"]
    assert {frozenset(i) for i in whole["items"]} == {ITEM_KEYS}
    assert pages[0]["totals"] == whole["totals"]


def test_the_sla_report_summarises_and_pages_with_after(api: Api) -> None:
    whole = cli_json(api, "report", "sla", "--as-of", AS_OF)
    summary = get(api, "/v1/reports/sla", as_of=AS_OF, summary="true")

    items, after, pages = [], None, 0
    while True:
        page = get(api, "/v1/reports/sla", as_of=AS_OF, limit=2,
                   **({"after": after} if after else {}))  # fmt: skip
        items += page["items"]
        pages += 1
        after = page["next_cursor"]
        if after is None:
            break
    with api.client("li") as client:
        bad = client.get("/v1/reports/sla", params={"after": "bm90IGEgY3Vyc29y"})
        other = client.get("/v1/reports/sla", params={"after": page_cursor(api), "as_of": NOW})

    assert summary["totals"] == whole["totals"]
    assert summary["recorded_after_due"] == whole["recorded_after_due"]
    assert "items" not in summary
    assert items == whole["items"]
    assert pages == -(-len(whole["items"]) // 2) > 1
    for refused in (bad, other):
        assert refused.status_code == 400
        assert refused.headers["content-type"].startswith("application/problem+json")


NOW = "2026-10-11T12:00:00+08:00"


def page_cursor(api: Api) -> str:
    cursor: str = get(api, "/v1/reports/sla", as_of=AS_OF, limit=1)["next_cursor"]
    return cursor


def test_statistics_answer_as_the_command_line(api: Api) -> None:
    assert get(api, "/v1/reports/stats")["items"] == cli_json(api, "report", "stats")


def test_the_queue_lists_open_work_by_next_deadline(api: Api) -> None:
    everyone = get(api, "/v1/queue")
    handling_group = get(api, "/v1/queue", unit="handling_group")
    office = get(api, "/v1/queue", unit="office")

    items = everyone["items"]
    assert [(i["ref"], i["clock"]) for i in items] == [("TS-R3", "intake"), ("TS-R2", "regulatory")]
    assert [i["due_at"] for i in items] == sorted(i["due_at"] for i in items)
    assert {i["status"] for i in items} == {"overdue"}
    assert [i["ref"] for i in handling_group["items"]] == ["TS-R2"]  # wang handles it
    assert office["items"] == []


def test_health_says_the_database_is_reachable_and_the_lag(api: Api) -> None:
    with api.client() as client:
        health = client.get("/healthz").json()

    assert health == {**health, "status": "ok", "database": "reachable", "lag": 0}
    assert health["head"] == event_count(api.url)


def test_reads_need_a_token_and_name_what_is_missing(api: Api) -> None:
    with api.client() as anonymous:
        no_token = anonymous.get("/v1/complaints")
    with api.client("li") as client:
        unknown = client.get("/v1/complaints/TS-NONE")
        bad_cursor = client.get("/v1/complaints", params={"cursor": "bm90IGEgY3Vyc29y"})
        bad_time = client.get("/v1/complaints/TS-R1/sla", params={"as_of": "yesterday"})

    assert [a.status_code for a in (no_token, unknown, bad_cursor, bad_time)] == [
        401,
        404,
        400,
        400,
    ]
    assert unknown.json()["detail"] == "no complaint has reference 'TS-NONE'"
    assert bad_cursor.json()["detail"].startswith("cursor: not a cursor this API gave out")


def test_reads_never_write_not_even_the_read_models(ledger_url: str) -> None:
    tokens = staff_directory(ledger_url)
    before = event_count(ledger_url)

    with serving(ledger_url, follow=False) as base:
        api = Api(ledger_url, base, tokens)
        with api.client("li") as client:
            listed = client.get("/v1/complaints")
            health = client.get("/healthz").json()

    assert listed.status_code == 503
    assert listed.json()["detail"].startswith("the read models have not been built yet")
    assert health["lag"] == before
    with open_ledger(ledger_url) as ledger:
        store = ReadStore(ledger)
        with store.transaction({}, commit=False) as cur:
            created = [t for t in ("case_state", "audit_trail") if store.table_exists(cur, t)]
    assert created == []
    assert event_count(ledger_url) == before
