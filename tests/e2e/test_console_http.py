"""The console over plain HTTP (a real ``serve``, httpx), on both backends: what the browser
tests do not reach — reads that never write, tokens and sessions, bad input as one error
line, the CSV downloads."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.console_ledger import console_ledger
from tests.e2e.http_server import LEAD, SINCE, Api, serving
from tests.helpers import event_count, jsonl, run

PAGES = [
    "/console/",
    "/console/queue",
    "/console/cases?status=open",
    "/console/cases?clock_status=overdue&clock=intake",
    "/console/cases/TS-R2",
    "/console/reports/sla",
    "/console/reports/sla?format=csv",
    "/console/reports/stats",
    "/console/reports/stats?format=csv",
    "/console/reports/monthly?from=2026-09&to=2026-09",
]


@pytest.fixture
def still(ledger_url: str) -> Iterator[Api]:
    """The console with no follower, over read models built once: nothing may move them."""
    tokens = console_ledger(ledger_url)
    assert run(ledger_url, "projections", "run").exit_code == 0
    with serving(ledger_url, follow=False) as base:
        yield Api(ledger_url, base, tokens)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_every_page_answers_a_bearer_token_and_never_writes(still: Api) -> None:
    events = event_count(still.url)
    with still.client() as anonymous:
        health = anonymous.get("/healthz").json()
    with still.client("chen") as client:
        answers = {path: client.get(path) for path in PAGES}

    assert {path: a.status_code for path, a in answers.items()} == dict.fromkeys(PAGES, 200)
    assert "Read models behind by 0 events" in answers["/console/"].text
    html = "".join(a.text for p, a in answers.items() if "csv" not in p)
    assert re.findall(r'(?:src|href|action)="(?:https?:)?//[^"]*', html) == []  # no CDN
    assert html.count("<svg") >= 4 + 3  # the dashboard's charts, the monthly report's
    assert answers["/console/reports/sla?format=csv"].headers["X-Projection-Lag"] == "0"
    assert event_count(still.url) == events
    with still.client() as anonymous:
        assert anonymous.get("/healthz").json() == health


def test_without_a_member_a_page_sends_to_sign_in_and_a_bad_token_gets_401(still: Api) -> None:
    with httpx.Client(base_url=still.base) as anonymous:
        page = anonymous.get("/console/cases/TS-R2")
        bad = anonymous.get("/console/", headers={"Authorization": "Bearer clt_not-a-token"})
        login = anonymous.get("/console/login")
        refused = anonymous.post(
            "/console/login", data={"csrf": csrf_of(login.text), "token": "clt_guess"}
        )

    assert page.status_code == 303
    assert page.headers["location"] == "/console/login?next=%2Fconsole%2Fcases%2FTS-R2"
    assert bad.status_code == 401
    assert re.findall(r'id="error">([^<]*)', bad.text) == [
        "Error: the token is not one the staff directory issued"
    ]
    assert refused.status_code == 401
    assert "Traceback" not in bad.text + refused.text


def test_a_session_checks_the_token_again_on_every_request(still: Api) -> None:
    with httpx.Client(base_url=still.base) as browser:
        form = browser.get("/console/login")
        several = browser.post(
            "/console/login", data={"csrf": csrf_of(form.text), "token": still.tokens["wang"]}
        )
        signed = browser.post(
            "/console/login",
            data={
                "csrf": csrf_of(form.text),
                "token": still.tokens["wang"],
                "role": "customer_service",
            },
        )
        cookie = signed.headers["set-cookie"]
        before = browser.get("/console/queue")
        revoked = run(still.url, "staff", "token", "revoke", "wang", *LEAD)
        after = browser.get("/console/queue")

    assert several.status_code == 400  # two roles, none chosen: the form offers them
    assert re.findall(r'<option value="(\w+)"', several.text) == [
        "customer_service",
        "handling_team",
    ]
    assert signed.status_code == 303
    assert all(part in cookie.lower() for part in ("httponly", "samesite=lax", "path=/console"))
    assert still.tokens["wang"] not in cookie  # the session keeps the token's hash only
    assert before.status_code == 200
    assert "wang (customer_service)" in before.text
    assert revoked.exit_code == 0, revoked.output
    assert after.status_code == 303


def test_the_sla_csv_holds_the_report_of_the_command_line(still: Api) -> None:
    as_of = "2026-10-10T12:00:00+08:00"
    with still.client("li") as client:
        answer = client.get("/console/reports/sla", params={"as_of": as_of, "format": "csv"})
        bad = client.get("/console/reports/sla", params={"as_of": "yesterday"})
    cli = run(still.url, "report", "sla", "--as-of", as_of, "--format", "json")

    rows = list(csv.DictReader(io.StringIO(answer.text)))
    expected = json.loads(cli.stdout)["items"]
    assert [(r["ref"], r["clock"], r["status"]) for r in rows] == [
        (i["ref"], i["clock"], i["status"]) for i in expected
    ]
    assert answer.headers["content-type"].startswith("text/csv")
    assert bad.status_code == 400
    assert len(re.findall(r'id="error">Error: ', bad.text)) == 1


def test_the_work_queue_is_the_api_queue_of_the_members_unit(
    still: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    with still.client("wang", "handling_team") as client:
        api = client.get("/v1/queue", params={"unit": "handling_group"}).json()["items"]
        small = client.get("/console/queue").text
        monkeypatch.setattr("projections.console.SMALL_UNIT", 0)  # a busy unit's way
        busy = client.get("/console/queue").text

    shown = [re.findall(r'<a href="/console/cases/([^"]+)">', page) for page in (small, busy)]
    assert api
    assert shown == [[i["ref"] for i in api]] * 2


def test_a_form_with_bad_values_or_refused_by_a_rule_changes_nothing(still: Api) -> None:
    events = event_count(still.url)
    path = "/console/cases/TS-R2/actions"
    with still.client("chen") as client:
        answers = [
            client.post(path, data={"command": "extend", "clock": "regulatory", "days": "many",
                                    "reason": "x", "approved_by": "chen"}),
            client.post(path, data={"command": "erase_everything"}),
            client.post(path, data={"command": "record_callback", "satisfaction": "5"}),
            client.post("/console/cases/TS-NONE/actions", data={"command": "add_note",
                                                                "text": "x"}),
        ]  # fmt: skip

    assert [a.status_code for a in answers] == [400, 400, 422, 404]
    for answer in answers:
        assert len(re.findall(r'id="error">Error: ', answer.text)) == 1
        assert "Traceback" not in answer.text
    assert event_count(still.url) == events


def test_a_triage_through_its_form_is_on_the_timeline_with_its_member(still: Api) -> None:
    with still.client("wang", "handling_team") as client:
        done = client.post("/console/cases/TS-R3/actions",
                           data={"command": "triage", "severity": "urgent",
                                 "category": "harassment", "assessment": "夜间来电"})  # fmt: skip
        page = client.get("/console/cases/TS-R3")

    assert done.status_code == 303
    assert done.headers["location"].startswith("/console/cases/TS-R3?done=triage")
    assert 'data-event="Triaged"' in page.text
    assert "wang (handling_team)" in page.text


def test_an_alert_sent_and_one_that_failed_show_on_the_case_page(ledger_url: str) -> None:
    """Issue 16: a failed delivery shows on the case page (and so does a sent one), as the
    alerter records them: AlertSent and AlertFailed in the complaint's timeline."""
    tokens = console_ledger(ledger_url)
    added = run(ledger_url, "staff", "add", "ops", "--name", "值班", "--unit", "office",
                "--grant", "operator", *SINCE, *LEAD)  # fmt: skip
    assert added.exit_code == 0, added.output
    alert = {"command": "record_alert", "ref": "TS-R3", "rule": "overdue", "clock": "intake",
             "recipient": "li", "address": "li@example.com", "channel": "email",
             "actor": {"id": "ops", "role": "operator"}}  # fmt: skip
    failed = {**alert, "channel": "webhook", "recipient": "webhook", "outcome": "failed",
              "address": "http://127.0.0.1:9/robot", "attempts": 3,
              "error": "webhook answered HTTP 500"}  # fmt: skip
    both = [{**alert, "command_id": "alert-mail"}, {**failed, "command_id": "alert-hook"}]
    applied = run(ledger_url, "apply", "-", input=jsonl(both))
    assert applied.exit_code == 0, applied.output
    assert run(ledger_url, "projections", "run").exit_code == 0

    with (
        serving(ledger_url, follow=False) as base,
        Api(ledger_url, base, tokens).client("chen") as client,
    ):
        page = client.get("/console/cases/TS-R3", headers={"Accept-Language": "en"})

    assert page.status_code == 200
    rows = re.findall(r'<tr data-event="(Alert\w+)">.*?</td><td>([^<]*)</td></tr>', page.text)
    assert rows == [
        ("AlertSent", "Alert overdue (intake) sent to li by email: li@example.com"),
        ("AlertFailed", "Alert overdue (intake) to webhook by webhook failed after 3 tries: "
                        "webhook answered HTTP 500"),
    ]  # fmt: skip


def test_the_leadership_acknowledges_instructs_and_signs_off_through_the_forms(still: Api) -> None:
    """Issue 15's leadership actions are offered to leadership and applied like the API's."""
    with still.client("wang", "handling_team") as team:
        escalated = team.post("/console/cases/TS-R2/actions",
                              data={"command": "escalate", "reason": "媒体关注",
                                    "to": "leadership_group"})  # fmt: skip
        offered_to_team = team.get("/console/cases/TS-R2").text
    with still.client("chen") as lead:
        offered = lead.get("/console/cases/TS-R2").text
        done = [
            lead.post("/console/cases/TS-R2/actions", data={"command": "acknowledge"}),
            lead.post("/console/cases/TS-R2/actions", data={"command": "instruct",
                                                            "text": "三日内核实"}),
        ]  # fmt: skip
        page = lead.get("/console/cases/TS-R2").text

    assert escalated.status_code == 303
    assert 'value="acknowledge"' not in offered_to_team
    assert 'value="acknowledge"' in offered
    assert 'value="sign_off"' in offered
    assert [d.status_code for d in done] == [303, 303]
    assert 'data-event="EscalationAcknowledged"' in page
    assert 'data-event="LeadershipInstructed"' in page


def test_an_improvement_measure_is_added_and_marked_done_through_the_forms(still: Api) -> None:
    """Issue 15's measures on a closed case: added by the team, marked done by their owner."""
    with still.client("wang", "handling_team") as team:
        offered = team.get("/console/cases/TS-R1").text
        added = team.post("/console/cases/TS-R1/actions",
                          data={"command": "add_improvement", "action": "修订外呼规则",
                                "owner": "li", "due": "2026-10-10"})  # fmt: skip
        mark = {"command": "complete_improvement", "improvement_id": "1"}
        not_owner = team.post("/console/cases/TS-R1/actions", data=mark)
    with still.client("li") as owner:
        done = owner.post("/console/cases/TS-R1/actions",
                          data={"command": "complete_improvement", "improvement_id": "1",
                                "text": "已上线"})  # fmt: skip
        page = owner.get("/console/cases/TS-R1").text

    assert 'value="add_improvement"' in offered
    assert added.status_code == 303
    assert not_owner.status_code != 303  # refused: li owns it
    assert done.status_code == 303
    assert 'data-event="ImprovementAdded"' in page
    assert 'data-event="ImprovementCompleted"' in page


def test_a_case_page_over_an_event_changed_outside_the_ledger_is_an_error_page(
    still: Api,
) -> None:
    # As every other refusal: a page with the status and the command line's message, not the
    # API's problem+json (the console's browser would show the JSON as text).
    from tests.e2e.test_http_store_refusals import change_outside_the_ledger

    change_outside_the_ledger(still.url, "TS-R2")
    with still.client("chen") as client:
        answer = client.get("/console/cases/TS-R2")

    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("text/html"), answer.text
    [said] = re.findall(r'id="error">(Error: [^<]*)', answer.text)
    assert said.endswith("complaint-ledger verify says where"), said
