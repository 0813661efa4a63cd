"""Regulator referrals through the real HTTP API (issue 15, item 4), on both backends: the
reply offered by ``POST /v1/commands``, a refusal as problem+json with nothing appended, and
``GET /v1/reports/regulator`` answering as ``report regulator --format json`` does."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from tests.e2e.http_server import Api, serving, staff_directory
from tests.helpers import event_count, receive_cmd, run

PROBLEM = "application/problem+json"


def body(command: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in command.items() if k != "actor"}


def caught_up(client: httpx.Client, params: dict[str, str]) -> dict[str, Any]:
    """The report once the server's follower has projected everything appended (503 until it
    has built the read models)."""
    deadline = time.monotonic() + 30
    while True:
        answer = client.get("/v1/reports/regulator", params=params)
        done = answer.status_code == 200 and answer.json()["lag"] == 0
        if done or time.monotonic() > deadline:
            assert answer.status_code == 200, answer.text
            return dict(answer.json())
        time.sleep(0.1)


def test_the_reply_and_the_report_through_the_api(ledger_url: str) -> None:
    tokens = staff_directory(ledger_url)
    referral = receive_cmd("TS-HR1", channel="regulator_referral",
                           referral_number="12378-20260801-0007",
                           received_at="2026-08-01T10:00:00+08:00",
                           occurred_at="2026-08-01T10:20:00+08:00")  # fmt: skip
    with serving(ledger_url) as base:
        api = Api(ledger_url, base, tokens)
        with api.client("wang", "handling_team") as team, api.client("chen") as lead:
            for step in (receive_cmd("TS-HP1"), referral):
                answer = team.post("/v1/commands", json=body(step))
                assert answer.status_code == 201, answer.text
            replied = team.post("/v1/commands", json={
                "command": "reply_regulator", "ref": "TS-HR1", "summary": "已书面答复",
                "occurred_at": "2026-08-10T09:00:00+08:00"})  # fmt: skip
            assert replied.status_code == 201, replied.text
            assert replied.json()["events"] == ["RegulatorReplied"]
            before = event_count(ledger_url)
            refused = team.post("/v1/commands", json={
                "command": "reply_regulator", "ref": "TS-HP1", "summary": "x"})  # fmt: skip
            assert refused.status_code == 422
            assert refused.headers["content-type"].startswith(PROBLEM)
            assert "no regulator to reply to" in refused.json()["detail"]
            assert event_count(ledger_url) == before

            report = caught_up(lead, {"quarter": "2026Q3"})
            bad = lead.get("/v1/reports/regulator", params={"quarter": "2026Q5"})

    assert report["source"] == "read_models"
    assert report["received"] == 2
    assert report["referrals"] == {"referred": 1, "replied": 1, "replied_on_time": 1,
                                   "replied_late": 0, "overdue": 0, "awaiting": 0,
                                   "cancelled": 0}  # fmt: skip
    shown = run(ledger_url, "report", "regulator", "--quarter", "2026Q3", "--as-of",
                report["as_of"], "--format", "json")  # fmt: skip
    assert shown.exit_code == 0, shown.output
    skip = ("source", "lag")
    assert {k: v for k, v in json.loads(shown.stdout).items() if k not in skip} == {
        k: v for k, v in report.items() if k not in skip
    }
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith(PROBLEM)
    assert "2026Q5" in bad.json()["detail"]
