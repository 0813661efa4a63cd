"""Links and repeat complaints through the real HTTP API (issue 15, item 5), on both
backends: ``POST /v1/commands`` offers ``link``, a duplicate is refused as problem+json with
nothing appended, and ``GET /v1/complaints/{ref}/related`` and ``GET /v1/complaints/{ref}``
list the same complainant's other complaints and the links from both sides."""

from __future__ import annotations

from tests.e2e.http_server import Api, serving, staff_directory
from tests.helpers import event_count, jsonl, receive_cmd, run

PROBLEM = "application/problem+json"


def test_link_and_the_same_complainant_through_the_api(ledger_url: str) -> None:
    receipts = [
        receive_cmd("TS-H1"),
        receive_cmd(
            "TS-H2",
            received_at="2026-09-25T09:00:00+08:00",
            occurred_at="2026-09-25T09:05:00+08:00",
        ),
    ]
    assert run(ledger_url, "apply", "-", input=jsonl(receipts)).exit_code == 0
    tokens = staff_directory(ledger_url)
    link = {"command": "link", "ref": "TS-H2", "other": "TS-H1", "reason": "同一催收员"}
    with serving(ledger_url) as base:
        api = Api(ledger_url, base, tokens)
        with api.client("li") as cs:
            linked = cs.post("/v1/commands", json=link)
            before = event_count(ledger_url)
            again = cs.post("/v1/commands", json={**link, "ref": "TS-H1", "other": "TS-H2"})
            after = event_count(ledger_url)
            api.wait_fresh()
            related = cs.get("/v1/complaints/TS-H1/related")
            unknown = cs.get("/v1/complaints/TS-NOPE/related")
            shown = cs.get("/v1/complaints/TS-H2")

    assert linked.status_code == 201, linked.text
    assert linked.json()["events"] == ["ComplaintLinked"]
    assert again.status_code == 422
    assert again.headers["content-type"].startswith(PROBLEM)
    assert again.json()["detail"] == "TS-H1 and TS-H2 are already linked"
    assert after == before
    assert related.status_code == 200, related.text
    body = related.json()
    assert [(r["ref"], r["status"]) for r in body["same_complainant"]] == [("TS-H2", "open")]
    assert [(r["ref"], r["direction"]) for r in body["links"]] == [("TS-H2", "from")]
    assert body["lag"] == 0
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith(PROBLEM)
    assert [r["ref"] for r in shown.json()["same_complainant"]] == ["TS-H1"]
    assert [(r["ref"], r["direction"]) for r in shown.json()["links"]] == [("TS-H1", "to")]
