"""The regulator's business type (业务类别) and business channel (业务办理渠道) through the
command line, JSON Lines and the HTTP API, on SQLite and PostgreSQL: triage and closure give
them, checked against the code list in force like the cause; the case read model keeps the
latest of each; ``report regulator`` counts the quarter's complaints by them; refusals append
nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ledger.store.root import open_ledger
from projections.query import open_query
from projections.regulator import Quarter
from projections.runner import Runner
from projections.schema import CASES_SHAPE, SHAPE_KEY
from tests.e2e.http_server import Api, serving, staff_directory
from tests.e2e.test_cli_codes import EXAMPLE, TEAM, cases, publish
from tests.e2e.test_http_regulator import PROBLEM, body, caught_up
from tests.helpers import event_count, jsonl, life_cmds, ok, refused, run

COLUMNS = ("regulator_business_type", "regulator_business_channel")


def business_life(
    ref: str, triage: dict[str, str] | None = None, close: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """A complaint's life whose triage and closure give the fields ``triage`` and ``close``."""
    commands = life_cmds(ref)
    for command in commands:
        command |= {"triage": triage or {}, "close": close or {}}.get(command["command"], {})
    return commands


def report(url: str, *args: str) -> dict[str, Any]:
    shown = ok(url, "report", "regulator", "--quarter", "2026Q3", "--format", "json", *args)
    return dict(json.loads(shown))


def test_the_command_line_triage_and_close_take_the_business_codes(ledger_url: str) -> None:
    publish(ledger_url, EXAMPLE)
    ok(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-B1", until="receive")))
    ok(ledger_url, "triage", "TS-B1", "--severity", "normal", "--category", "harassment",
       "--assessment", "骚扰家人", "--business-type", "03", "--business-channel", "01",
       "--occurred-at", "2026-09-24T16:40:00+08:00", *TEAM)  # fmt: skip
    triaged = cases(ledger_url)["TS-B1"]
    rest = [c for c in life_cmds("TS-B1") if c["command"] not in ("receive", "triage", "close")]
    ok(ledger_url, "apply", "-", input=jsonl(rest))
    ok(ledger_url, "close", "TS-B1", "--root-cause", "外包违规", "--improvement", "培训",
       "--business-channel", "04", "--occurred-at", "2026-09-29T09:00:00+08:00",
       *TEAM)  # fmt: skip
    history = json.loads(ok(ledger_url, "history", "TS-B1", "--format", "json"))
    shown = json.loads(ok(ledger_url, "show", "TS-B1", "--format", "json"))
    audit = ok(ledger_url, "audit", "TS-B1", "--format", "json")
    closed = cases(ledger_url)["TS-B1"]

    fields = {e["event"]: e["fields"] for e in history["events"]}
    assert tuple(triaged[k] for k in COLUMNS) == ("03", "01")
    # The closure's channel overrides the triage's; the type it does not give is kept.
    assert tuple(closed[k] for k in COLUMNS) == ("03", "04")
    assert tuple(shown[k] for k in COLUMNS) == ("03", "04")
    assert (fields["Triaged"]["business_type"], fields["Triaged"]["business_channel"]) == (
        "03",
        "01",
    )
    assert (fields["Closed"]["business_type"], fields["Closed"]["business_channel"]) == (None, "04")
    assert fields["Closed"]["codes_version"] == "codes-2026.1"
    assert (fields["Closed"]["cause"], closed["cause_code"]) == (None, None)
    assert "Triaged as normal, category harassment, business type 03, business channel 01" in audit
    assert "Complaint closed, business channel 04" in audit


def test_a_business_code_not_in_the_code_list_is_refused_and_appends_nothing(
    ledger_url: str,
) -> None:
    publish(ledger_url, EXAMPLE)
    ok(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-B2", until="notify_outcome")))
    triage = ["triage", "TS-B2", "--severity", "normal", "--category", "harassment",
              "--assessment", "x", "--occurred-at", "2026-09-24T17:00:00+08:00", *TEAM]  # fmt: skip
    before = event_count(ledger_url)

    by_type = refused(ledger_url, *triage, "--cause", "C01", "--business-type", "42")
    by_channel = refused(ledger_url, *triage, "--business-type", "03", "--business-channel", "07")
    close = life_cmds("TS-B2")[-1] | {"command_id": "close-unknown", "business_channel": "07"}
    applied = run(ledger_url, "apply", "-", input=jsonl([close]))

    assert by_type == (
        "Error: business_type: '42' is not a business type code of code list 'codes-2026.1' (in "
        "force at the time of the action); its codes: 01, 02, 03, 04, 05, 99"
    )
    assert by_channel == (
        "Error: business_channel: '07' is not a business channel code of code list "
        "'codes-2026.1' (in force at the time of the action); its codes: 01, 02, 03, 04, 99"
    )
    assert applied.exit_code == 1
    assert "'07' is not a business channel code of code list 'codes-2026.1'" in applied.output
    assert "Traceback" not in applied.output
    assert event_count(ledger_url) == before
    assert json.loads(ok(ledger_url, "show", "TS-B2", "--format", "json"))["status"] == "open"


def test_a_business_code_before_any_code_list_is_in_force_is_refused(ledger_url: str) -> None:
    ok(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-B3", until="receive")))
    before = event_count(ledger_url)

    nothing = refused(ledger_url, "triage", "TS-B3", "--severity", "normal", "--category",
                      "harassment", "--assessment", "x", "--business-channel", "04",
                      "--occurred-at", "2026-09-24T16:40:00+08:00", *TEAM)  # fmt: skip

    assert nothing == (
        "Error: business_channel: no code list was in force at 2026-09-24T16:40:00+08:00; "
        "publish one first (codes publish)"
    )
    assert event_count(ledger_url) == before


def test_the_regulator_report_counts_by_business_type_and_channel(ledger_url: str) -> None:
    publish(ledger_url, EXAMPLE)
    lives = {
        "TS-B4": ({"business_type": "03", "business_channel": "04"}, {}),
        "TS-B5": ({"business_type": "03"}, {"business_type": "02", "business_channel": "04"}),
        "TS-B6": ({"business_type": "03"}, {}),
        "TS-B7": ({}, {}),
    }
    for ref, (triage, close) in lives.items():
        ok(ledger_url, "apply", "-", input=jsonl(business_life(ref, triage, close)))
    moment = datetime.now(UTC)

    shown = report(ledger_url)
    replayed = report(ledger_url, "--as-of", moment.isoformat())
    table = ok(ledger_url, "report", "regulator", "--quarter", "2026Q3")
    rows = ok(ledger_url, "report", "regulator", "--quarter", "2026Q3", "--format", "csv")
    with open_query(ledger_url) as query:
        from_models = query.regulator_report(Quarter(2026, 3), moment)
        from_log = query.regulator_report(Quarter(2026, 3), moment, from_log=True)

    assert shown["by_business_type"] == [
        {"code": "02", "count": 1},
        {"code": "03", "count": 2},
        {"code": "unclassified", "count": 1},
    ]
    assert shown["by_business_channel"] == [
        {"code": "04", "count": 2},
        {"code": "unclassified", "count": 2},
    ]
    assert shown["by_code"] == [{"code": "unclassified", "count": 4}]  # no cause given
    assert replayed["by_business_type"] == shown["by_business_type"]
    assert replayed["by_business_channel"] == shown["by_business_channel"]
    assert from_log == from_models
    assert (
        "business_type  count\n-------------  -----\n02             1\n03             2\n" in table
    )
    assert "business_channel  count\n----------------  -----\n04                2\n" in table
    assert "by_business_channel,04,count,2" in rows.replace("\r", "")


def test_json_lines_export_carries_the_business_codes_into_a_copy(
    ledger_url: str, second_url: str
) -> None:
    publish(ledger_url, EXAMPLE)
    triage = {"cause": "C02", "business_type": "05"}
    life = business_life("TS-B8", triage, {"business_channel": "03"})
    ok(ledger_url, "apply", "-", input=jsonl(life))

    ok(second_url, "apply", "-", input=ok(ledger_url, "export-commands"))

    copied = cases(second_url)["TS-B8"]
    assert tuple(copied[k] for k in COLUMNS) == ("05", "03")
    assert copied["cause_code"] == "C02"


def test_the_api_takes_the_business_codes_and_reports_by_them(ledger_url: str) -> None:
    publish(ledger_url, EXAMPLE)
    tokens = staff_directory(ledger_url)
    life = business_life("TS-B9", {"business_type": "03", "business_channel": "04"})
    with serving(ledger_url) as base:
        api = Api(ledger_url, base, tokens)
        with api.client("wang", "handling_team") as team, api.client("chen") as lead:
            for step in life[:2]:  # receive, triage
                answer = team.post("/v1/commands", json=body(step))
                assert answer.status_code == 201, answer.text
            before = event_count(ledger_url)
            unknown = team.post("/v1/commands", json=body(life[-1]) | {"business_type": "42"})
            after = event_count(ledger_url)
            shown = caught_up(lead, {"quarter": "2026Q3"})

    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith(PROBLEM)
    assert "'42' is not a business type code" in unknown.json()["detail"]
    assert after == before
    assert shown["by_business_type"] == [{"code": "03", "count": 1}]
    assert shown["by_business_channel"] == [{"code": "04", "count": 1}]


def test_read_models_of_shape_8_are_rebuilt_with_the_business_codes(ledger_url: str) -> None:
    """A runner of the earlier release (shape 8) folded a triage that gave business codes
    without keeping them: the first run of this release rebuilds, and the codes are there."""
    publish(ledger_url, EXAMPLE)
    ok(ledger_url, "apply", "-", input=jsonl(business_life("TS-B10", {"business_type": "01"})))
    ok(ledger_url, "projections", "run")
    with open_ledger(ledger_url) as ledger, Runner(ledger).transaction() as cur:
        cur.execute("UPDATE {case_state} SET regulator_business_type = NULL")
        cur.execute("UPDATE {positions} SET position = 8 WHERE name = ?", (SHAPE_KEY,))

    ran = run(ledger_url, "projections", "run")

    assert ran.exit_code == 0, ran.stderr
    assert cases(ledger_url)["TS-B10"]["regulator_business_type"] == "01"
    with open_ledger(ledger_url) as ledger, Runner(ledger).transaction() as cur:
        cur.execute("SELECT position FROM {positions} WHERE name = ?", (SHAPE_KEY,))
        assert cur.fetchone() == {"position": CASES_SHAPE}


def test_a_fold_written_by_a_runner_of_the_earlier_release_is_folded_on(ledger_url: str) -> None:
    """A runner of the earlier release still following after the upgrade writes folds without
    the business codes' keys: the next run of this release folds on from them, no traceback."""
    publish(ledger_url, EXAMPLE)
    life = business_life("TS-B11", {"business_type": "02"})
    ok(ledger_url, "apply", "-", input=jsonl(life[:3]))
    ok(ledger_url, "projections", "run")
    with open_ledger(ledger_url) as ledger, Runner(ledger).transaction() as cur:
        cur.execute("SELECT case_id, state FROM {case_folds}")
        for row in cur.fetchall():
            state = {k: v for k, v in json.loads(row["state"]).items() if k not in COLUMNS}
            cur.execute("UPDATE {case_folds} SET state = ? WHERE case_id = ?",
                        (json.dumps(state), row["case_id"]))  # fmt: skip
    ok(ledger_url, "apply", "-", input=jsonl(life[3:]))

    ran = run(ledger_url, "projections", "run")

    assert ran.exit_code == 0, ran.stderr
    assert cases(ledger_url)["TS-B11"]["status"] == "closed"
