"""Improvement measures through the real HTTP API (issue 15), on both backends: offered by
``POST /v1/commands`` from the command union, the owner's right checked against the proven
member, a refusal as problem+json with nothing appended, the clock in the SLA reads."""

from __future__ import annotations

from typing import Any

from tests.e2e.http_server import Api, serving, staff_directory
from tests.helpers import event_count, life_cmds

PROBLEM = "application/problem+json"


def body(command: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in command.items() if k != "actor"}


def test_measures_through_the_api(ledger_url: str) -> None:
    tokens = staff_directory(ledger_url)
    with serving(ledger_url) as base:
        api = Api(ledger_url, base, tokens)
        with api.client("wang", "handling_team") as team, api.client("li") as li:
            for step in [body(c) for c in life_cmds("TS-H1")]:
                answer = team.post("/v1/commands", json=step)
                assert answer.status_code == 201, answer.text
            added = team.post("/v1/commands", json={
                "command": "add_improvement", "ref": "TS-H1", "action": "修订外呼规则",
                "owner": "li", "due": "2026-10-05", "occurred_at": "2026-09-30T10:00:00+08:00",
            })  # fmt: skip
            assert added.status_code == 201, added.text
            assert added.json()["events"] == ["ImprovementAdded"]
            before = event_count(ledger_url)
            done = {"command": "complete_improvement", "ref": "TS-H1", "improvement_id": 1,
                    "occurred_at": "2026-10-06T10:00:00+08:00"}  # fmt: skip
            not_owner = team.post("/v1/commands", json=done)
            assert not_owner.status_code == 403, not_owner.text
            assert not_owner.headers["content-type"].startswith(PROBLEM)
            assert "owned by 'li'" in not_owner.json()["detail"]
            unknown = li.post("/v1/commands", json={**done, "improvement_id": 7})
            assert unknown.status_code == 422, unknown.text
            assert event_count(ledger_url) == before
            assert li.post("/v1/commands", json=done).status_code == 201

            clocks = li.get("/v1/complaints/TS-H1/sla",
                            params={"as_of": "2026-10-07T00:00:00+08:00"})  # fmt: skip
            assert clocks.status_code == 200, clocks.text
            measure = next(c for c in clocks.json() if c["clock"] == "improvement:1")
            assert (measure["status"], measure["late_by_seconds"]) == ("breached", 10 * 3600)
            api.wait_fresh()
            report = li.get("/v1/reports/sla", params={"as_of": "2026-10-07T00:00:00+08:00"})
            assert report.status_code == 200, report.text
            items = report.json()["items"]
            assert {(i["ref"], i["clock"], i["status"]) for i in items} >= {
                ("TS-H1", "improvement:1", "breached")
            }
