"""The escalation loop through the real HTTP API (issue 15), on both backends: the leadership
group's commands, a refusal as problem+json with nothing appended, the clock in the API's
SLA read."""

from __future__ import annotations

from typing import Any

from tests.e2e.http_server import Api, serving, staff_directory
from tests.helpers import event_count, life_cmds

PROBLEM = "application/problem+json"


def body(command: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in command.items() if k != "actor"}


def test_the_loop_through_the_api(ledger_url: str) -> None:
    tokens = staff_directory(ledger_url)
    with serving(ledger_url) as base:
        api = Api(ledger_url, base, tokens)
        steps = [body(c) for c in life_cmds("TS-H1", "notify_outcome")]
        steps[1].update(severity="major", escalate_to="chen")  # to a member of the group
        with api.client("wang", "handling_team") as team, api.client("chen") as lead:
            for step in steps:
                answer = team.post("/v1/commands", json=step)
                assert answer.status_code == 201, answer.text
            acknowledged = lead.post(
                "/v1/commands",
                json={"command": "acknowledge", "ref": "TS-H1",
                      "occurred_at": "2026-09-24T17:00:00+08:00"},
            )  # fmt: skip
            assert acknowledged.status_code == 201, acknowledged.text
            assert acknowledged.json()["events"] == ["EscalationAcknowledged"]
            close = {"command": "close", "ref": "TS-H1", "root_cause": "违规",
                     "improvement": "培训"}  # fmt: skip
            before = event_count(ledger_url)
            refused = team.post("/v1/commands", json=close)
            assert refused.status_code == 422
            assert refused.headers["content-type"].startswith(PROBLEM)
            assert "sign it off" in refused.json()["detail"]
            assert event_count(ledger_url) == before
            forbidden = team.post(
                "/v1/commands", json={"command": "sign_off", "ref": "TS-H1", "text": "同意"}
            )
            assert forbidden.status_code == 403
            signed = lead.post(
                "/v1/commands", json={"command": "sign_off", "ref": "TS-H1", "text": "同意"}
            )
            assert signed.status_code == 201, signed.text
            assert team.post("/v1/commands", json=close).status_code == 201
            clocks = lead.get("/v1/complaints/TS-H1/sla",
                              params={"as_of": "2026-09-30T00:00:00+08:00"})  # fmt: skip
            assert clocks.status_code == 200, clocks.text
            ack = next(c for c in clocks.json() if c["clock"] == "acknowledgement")
            assert ack["status"] == "met"
            assert ack["due_at"] == "2026-09-24T09:40:00+00:00"
