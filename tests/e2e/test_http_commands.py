"""Commands through the real HTTP server (uvicorn on 127.0.0.1, httpx), on both backends:
every command, identity from the token, roles from the directory, problems as RFC 9457."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from commands.fields import WIDE_ID_NUMBER_PATTERN, WIDE_PHONE_PATTERN
from commands.models import COMMAND_NAMES
from tests.e2e.http_server import Api, issue_token, serving, staff_directory
from tests.helpers import event_count, life_cmds, receive_cmd, run

POLICY = (Path(__file__).parents[2] / "docs" / "policy-example.toml").read_text()
CODES = (Path(__file__).parents[2] / "docs" / "codes-example.toml").read_text(encoding="utf-8")
PROBLEM = "application/problem+json"


@pytest.fixture
def api(ledger_url: str) -> Iterator[Api]:
    tokens = staff_directory(ledger_url)
    with serving(ledger_url) as base:
        yield Api(ledger_url, base, tokens)


def body(command: dict[str, Any]) -> dict[str, Any]:
    """A JSON Lines command as the API takes it: without ``actor``."""
    return {k: v for k, v in command.items() if k != "actor"}


def post(api: Api, who: str, role: str, command: dict[str, Any], **headers: str) -> Any:
    with api.client(who, role) as client:
        return client.post("/v1/commands", json=command, headers=headers)


def history(api: Api, ref: str) -> list[dict[str, Any]]:
    with api.client("li") as client:
        answer = client.get(f"/v1/complaints/{ref}/history")
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def test_every_command_goes_through_the_api(api: Api) -> None:
    pausable = POLICY.replace('"default-2026.1"', '"api-2026.1"').replace(
        "pausable = false", "pausable = true", 1
    )
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("chen", "leadership", {"command": "publish_policy", "text": pausable, "format": "toml",
                                "effective_from": "2026-09-01T00:00:00+08:00"}),
        ("chen", "leadership", {"command": "publish_calendar", "year": 2026}),
        ("chen", "leadership", {"command": "publish_codes", "text": CODES, "format": "toml",
                                "effective_from": "2026-09-01T00:00:00+08:00"}),
        *[("wang", "handling_team" if c["command"] != "receive" else "customer_service", c)
          for c in map(body, life_cmds("TS-A", "execute"))],
        ("chen", "leadership", {"command": "correct", "ref": "TS-A", "event": 2,
                                "corrected_occurred_at": "2026-09-24T16:35:00+08:00",
                                "reason": "通话记录显示更早", "approved_by": "chen"}),
        ("li", "customer_service", {"command": "contact", "ref": "TS-A", "channel": "phone",
                                    "reached": True, "summary": "已告知进展"}),
        ("zhao", "business_department", {"command": "record_findings", "ref": "TS-A",
                                         "substantiated": "partly", "findings": "补充核实"}),
        ("wang", "handling_team", {"command": "escalate", "ref": "TS-A", "reason": "媒体关注",
                                   "to": "leadership_group"}),
        ("chen", "leadership", {"command": "acknowledge", "ref": "TS-A"}),
        ("chen", "leadership", {"command": "instruct", "ref": "TS-A", "text": "尽快核实"}),
        ("wang", "handling_team", {"command": "pause", "ref": "TS-A", "reason": "等待凭证"}),
        ("wang", "handling_team", {"command": "resume", "ref": "TS-A", "reason": "已收到"}),
        # Dated while the regulatory clock still ran: an extension never comes after a lapse.
        ("chen", "leadership", {"command": "extend", "ref": "TS-A", "clock": "regulatory",
                                "days": 15, "reason": "案情复杂", "approved_by": "chen",
                                "occurred_at": "2026-09-30T10:00:00+08:00"}),
        ("wang", "handling_team", {"command": "plan", "ref": "TS-A",
                                   "remedies": [{"kind": "apology"}]}),
        ("wang", "handling_team", {"command": "execute", "ref": "TS-A", "detail": "已致歉"}),
        ("wang", "handling_team", {"command": "notify_outcome", "ref": "TS-A",
                                   "channel": "phone", "summary": "告知结果"}),
        ("li", "customer_service", {"command": "record_callback", "ref": "TS-A",
                                    "satisfaction": 4}),
        ("chen", "leadership", {"command": "sign_off", "ref": "TS-A", "text": "同意办结"}),
        ("wang", "handling_team", {"command": "close", "ref": "TS-A", "root_cause": "违规",
                                   "improvement": "培训", "cause": "C02"}),
        ("li", "customer_service", {"command": "attach", "ref": "TS-A", "sha256": "ab" * 32,
                                    "size": 1024, "kind": "recording",
                                    "location": "nas://recordings/TS-A/callback.mp3"}),
        ("chen", "leadership", {"command": "record_accountability", "ref": "TS-A",
                                "staff": "zhao", "finding": "超时", "decision": "通报批评"}),
        ("wang", "handling_team", {"command": "add_improvement", "ref": "TS-A",
                                   "action": "修订考核办法", "owner": "zhao",
                                   "due": "2026-12-31"}),
        ("zhao", "business_department", {"command": "complete_improvement", "ref": "TS-A",
                                         "improvement_id": "1"}),
        ("li", "customer_service", body(receive_cmd(
            "TS-B", channel="regulator_referral", referral_number="12378-20260924-0001"))),
        ("wang", "handling_team", {"command": "reply_regulator", "ref": "TS-B",
                                   "summary": "已书面答复监管部门"}),
        ("li", "customer_service", {"command": "reopen", "ref": "TS-A", "reason": "不满意"}),
        ("li", "customer_service", {"command": "add_note", "ref": "TS-A", "text": "回访"}),
        ("li", "customer_service", {"command": "link", "ref": "TS-A", "other": "TS-B",
                                    "reason": "同一事件"}),
        ("li", "customer_service", {"command": "withdraw", "ref": "TS-A", "reason": "撤诉"}),
        ("chen", "leadership", {"command": "erase", "ref": "TS-A", "reason": "保存期满"}),
        ("chen", "leadership", {"command": "add_staff", "staff_id": "ops", "name": "alerter",
                                "unit": "office", "roles": ["operator"]}),
        ("chen", "leadership", {"command": "issue_token", "staff_id": "ops",
                                "token_hash": hashlib.sha256(b"ops-token").hexdigest(),
                                "expires_at": "2099-01-01T00:00:00+08:00"}),
        ("ops", "operator", {"command": "record_alert", "ref": "TS-A", "rule": "escalated",
                             "clock": "escalated@20", "recipient": "chen",
                             "address": "chen@example.com", "channel": "email"}),
        ("chen", "leadership", {"command": "add_staff", "staff_id": "sun", "name": "孙",
                                "unit": "office", "roles": ["customer_service"],
                                "email": "sun@example.com"}),
        ("chen", "leadership", {"command": "grant_role", "staff_id": "sun",
                                "role": "handling_team"}),
        ("chen", "leadership", {"command": "revoke_role", "staff_id": "sun",
                                "role": "handling_team"}),
        ("chen", "leadership", {"command": "issue_token", "staff_id": "sun",
                                "token_hash": "ab" * 32,
                                "expires_at": "2099-01-01T00:00:00+08:00"}),
        ("chen", "leadership", {"command": "revoke_token", "staff_id": "sun"}),
        ("chen", "leadership", {"command": "allow_service_login", "login": "callcentre"}),
        ("wang", "handling_team", {"command": "record_training", "topic": "应急预案培训",
                                   "date": "2026-11-20", "attendees": ["li", "wang"]}),
        ("chen", "leadership", {"command": "record_drill", "scenario_sha256": "ab" * 32,
                                "policy_version": "api-2026.1", "score": 46,
                                "summary": {"scenario": "tabletop"}}),
        ("chen", "leadership", {"command": "require_authentication"}),
    ]  # fmt: skip
    answered = []
    api.tokens["ops"] = "ops-token"  # issued by a step below

    for who, role, command in steps:
        answer = post(api, who, role, command)
        assert answer.status_code == 201, (command["command"], answer.text)
        answered.append(answer.json()["command"])

    assert answered == [command["command"] for _, _, command in steps]
    assert set(answered) == set(COMMAND_NAMES)  # a new command must be added here
    events = history(api, "TS-A")
    assert {(e["actor_id"], e["actor_method"]) for e in events} >= {
        ("wang", "token"),
        ("li", "token"),
        ("zhao", "token"),
        ("chen", "token"),
        ("ops", "token"),
    }
    assert [e["event"] for e in events[-2:]] == ["PersonalDataErased", "AlertSent"]
    closed = next(e for e in events if e["event"] == "Closed")
    assert (closed["fields"]["cause"], closed["fields"]["codes_version"]) == ("C02", "codes-2026.1")
    with api.client("li") as client:
        codes = client.get("/v1/codes")
    assert codes.status_code == 200, codes.text
    assert [(c["version"], c["effective_from"]) for c in codes.json()["items"]] == [
        ("codes-2026.1", "2026-08-31T16:00:00+00:00")
    ]
    assert codes.json()["items"][0]["causes"]["C02"] == {"label": "暴力催收", "regulator": "11"}


def test_a_resubmission_answers_the_same_and_appends_nothing(api: Api) -> None:
    receive = body(life_cmds("TS-I", "receive")[0])
    del receive["command_id"]

    first = post(api, "li", "customer_service", receive, **{"Idempotency-Key": "call-1"})
    count = event_count(api.url)
    again = post(api, "li", "customer_service", receive, **{"Idempotency-Key": "call-1"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == {
        "command": "receive",
        "command_id": "call-1",
        "ref": "TS-I",
        "version": 1,
        "events": ["Received"],
        "duplicate": False,
    }
    assert again.json() == {**first.json(), "duplicate": True}
    assert event_count(api.url) == count


def test_a_customer_service_token_cannot_extend(api: Api) -> None:
    assert post(api, "li", "customer_service", body(life_cmds("TS-X", "receive")[0])).is_success
    before = event_count(api.url)

    extend = {"command": "extend", "ref": "TS-X", "clock": "regulatory", "days": 15,
              "reason": "r", "approved_by": "chen"}  # fmt: skip

    answer = post(api, "li", "customer_service", extend)

    assert answer.status_code == 403
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json() == {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": "role customer_service may not extend; allowed: leadership",
    }
    assert event_count(api.url) == before


def test_a_body_that_names_another_actor_or_role_changes_nothing(api: Api) -> None:
    assert post(api, "li", "customer_service", body(life_cmds("TS-B", "receive")[0])).is_success
    before = event_count(api.url)
    note = {"command": "add_note", "ref": "TS-B", "text": "n"}

    as_chen = post(api, "li", "customer_service", {**note, "actor": {"id": "chen",
                   "role": "leadership"}})  # fmt: skip
    with_role = post(api, "li", "customer_service", {**note, "role": "leadership"})
    not_held = post(api, "li", "leadership", note)

    assert [a.status_code for a in (as_chen, with_role, not_held)] == [400, 400, 403]
    assert as_chen.json()["detail"].startswith("actor: the API takes the actor from the token")
    assert with_role.json()["detail"] == "role: is not a known field"
    assert not_held.json()["detail"] == (
        "li does not hold the role leadership now; held: customer_service"
    )
    assert event_count(api.url) == before


def test_a_revoked_or_expired_token_gets_401(api: Api) -> None:
    expired = issue_token(api.url, "li", "--occurred-at", "2026-11-01T09:00:00+08:00",
                          "--expires", "1")  # fmt: skip
    revoked = run(api.url, "staff", "token", "revoke", "wang", "--actor", "chen", "--role",
                  "leadership")  # fmt: skip
    assert revoked.exit_code == 0, revoked.output
    before = event_count(api.url)
    note = body(life_cmds("TS-T", "receive")[0])

    answers = []
    for token in (expired, api.tokens["wang"], "clt_not-a-token", None):
        headers = {"X-Acting-Role": "customer_service"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        with api.client() as client:
            answers.append(client.post("/v1/commands", json=note, headers=headers))

    assert [a.status_code for a in answers] == [401] * 4
    assert answers[0].json()["detail"].endswith("expired at 2026-11-02T09:00:00+08:00")
    assert answers[1].json()["detail"].endswith("was revoked")
    assert answers[3].json()["detail"] == "an Authorization: Bearer token is required"
    assert all(a.headers["www-authenticate"].startswith("Bearer") for a in answers)
    assert event_count(api.url) == before


def test_refusals_are_problems_with_their_status(api: Api) -> None:
    before = event_count(api.url)
    unknown = {"command": "add_note", "ref": "TS-NONE", "text": "n"}
    out_of_order = body(life_cmds("TS-O", "receive")[0])
    assert post(api, "li", "customer_service", out_of_order).is_success
    before = event_count(api.url)

    answers = {
        404: post(api, "li", "customer_service", unknown),
        422: post(
            api, "wang", "handling_team", {"command": "execute", "ref": "TS-O", "detail": "d"}
        ),
        400: post(api, "li", "customer_service", {"command": "add_note", "ref": "TS-O"}),
    }
    with api.client("li") as client:
        malformed = client.post("/v1/commands", content=b"{not json")
    with api.client("wang") as client:
        several = client.post("/v1/commands", json=unknown)

    assert {status: a.status_code for status, a in answers.items()} == {
        404: 404,
        422: 422,
        400: 400,
    }
    assert answers[422].json()["detail"] == "TS-O has no resolution plan; plan before executing"
    assert answers[400].json()["detail"] == "text: is required"
    assert malformed.status_code == 400
    assert malformed.json()["detail"].startswith("the body is not JSON")
    assert several.status_code == 400
    assert "say which in X-Acting-Role" in several.json()["detail"]
    assert all(a.headers["content-type"] == PROBLEM for a in [*answers.values(), malformed])
    assert event_count(api.url) == before


def test_the_idempotency_key_and_command_id_must_agree(api: Api) -> None:
    before = event_count(api.url)
    receive = body(life_cmds("TS-K", "receive")[0])

    answer = post(api, "li", "customer_service", receive, **{"Idempotency-Key": "other"})

    assert answer.status_code == 400
    assert answer.json()["detail"] == (
        "command_id and the Idempotency-Key header differ; give one of them"
    )
    assert event_count(api.url) == before


def test_the_openapi_body_is_the_command_models_without_actor(api: Api) -> None:
    with api.client() as client:
        spec = client.get("/openapi.json").json()

    body_schema = spec["paths"]["/v1/commands"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    schemas = spec["components"]["schemas"]
    assert body_schema["discriminator"]["propertyName"] == "command"
    assert len(body_schema["oneOf"]) == len(COMMAND_NAMES)
    assert "actor" not in schemas["AddNote"]["properties"]
    assert schemas["AddNote"]["required"] == ["ref", "text"]
    assert json.dumps(spec).count('"ActorIn"') == 0
    complainant = schemas["ComplainantIn"]["properties"]
    assert complainant["phone"]["anyOf"][0]["pattern"] == WIDE_PHONE_PATTERN
    assert complainant["id_number"]["anyOf"][0]["pattern"] == WIDE_ID_NUMBER_PATTERN
