"""Training and drills (issue 15, item 7) through the command line and JSON Lines, on SQLite
and PostgreSQL: the two shipped scenarios score as docs/drills.md says, a drill runs against
the plan version it names, a malformed scenario or an unknown version records nothing, a
plan revision names the drill that prompted it, training per unit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.http_server import TEST_LOGIN
from tests.helpers import actor, event_count, jsonl, ok, refused, run

REPO = Path(__file__).resolve().parents[2]
DRILLS = REPO / "docs" / "drills"
LEAD = ["--actor", "chen", "--role", "leadership"]
DEFAULT = "default-2026.1"


def drill(url: str, scenario: Path, version: str = DEFAULT) -> dict[str, Any]:
    shown = ok(url, "drill", "run", str(scenario), "--policy", version, *LEAD, "--format", "json")
    report: dict[str, Any] = json.loads(shown)
    return report


def test_the_shipped_scenarios_score_as_documented(ledger_url: str) -> None:
    before = event_count(ledger_url)

    good = drill(ledger_url, DRILLS / "urgent-threat.jsonl")
    late = drill(ledger_url, DRILLS / "regulator-referral-late.jsonl")

    assert (good["drill_id"], good["score"], good["checks"]) == (
        "DR-0001", 100, {"passed": 12, "failed": 0}
    )  # fmt: skip
    assert {c["status"] for c in good["clocks"]} == {"met"}
    assert good["escalation_loop"][0]["steps"] == {
        "escalated": True, "acknowledged_in_time": True, "instructed": True,
        "signed_off_before_closing": True,
    }  # fmt: skip
    assert (late["drill_id"], late["score"], late["checks"]) == (
        "DR-0002", 46, {"passed": 6, "failed": 7}
    )  # fmt: skip
    statuses = {c["clock"]: c["status"] for c in late["clocks"]}
    assert {k for k, v in statuses.items() if v == "breached"} == {
        "intake", "investigation", "plan", "acknowledgement"
    }  # fmt: skip
    assert late["escalation_loop"][0]["steps"] == {
        "escalated": True, "acknowledged_in_time": False, "instructed": False,
        "signed_off_before_closing": True,
    }  # fmt: skip
    assert [(f["line"], f["command"]) for f in late["failed_steps"]] == [(10, "close")]
    assert "sign it off" in late["failed_steps"][0]["error"]
    ack = next(s for s in late["stages"] if s["clock"] == "acknowledgement")
    assert (ack["took_seconds"], ack["allowed_seconds"]) == (5 * 3600, 3 * 3600)
    # The book's opening and one DrillCompleted per drill; nothing of the scenarios.
    assert event_count(ledger_url) == before + 3
    assert run(ledger_url, "show", "DRILL-THREAT").exit_code == 1
    listed = json.loads(ok(ledger_url, "drill", "list", "--format", "json"))
    sha = __import__("hashlib").sha256((DRILLS / "urgent-threat.jsonl").read_bytes()).hexdigest()
    assert [(d["drill_id"], d["score"], d["run_by"]) for d in listed] == [
        ("DR-0001", 100, "chen"), ("DR-0002", 46, "chen")
    ]  # fmt: skip
    assert listed[0]["scenario_sha256"] == sha


def _revised_plan(tmp_path: Path, version: str) -> Path:
    text = (REPO / "docs" / "policy-example.toml").read_text(encoding="utf-8")
    text = text.replace('version = "default-2026.1"', f'version = "{version}"')
    intake, rest = text.split("\n[clocks.intake]")
    rest = rest.replace("limit = 1", "limit = 3", 1)  # intake: 3 hours
    head, ack = (intake + "\n[clocks.intake]" + rest).split("\n[clocks.acknowledgement]")
    ack = ack.replace("limit = 1", "limit = 6", 1)  # acknowledgement: 6 hours
    path = tmp_path / f"{version}.toml"
    path.write_text(head + "\n[clocks.acknowledgement]" + ack, encoding="utf-8")
    return path


def test_a_drill_replays_against_the_plan_version_it_names(ledger_url: str, tmp_path: Path) -> None:
    ok(ledger_url, "policy", "publish", str(_revised_plan(tmp_path, "lenient-2026.2")), *LEAD)

    report = drill(ledger_url, DRILLS / "regulator-referral-late.jsonl", "lenient-2026.2")

    statuses = {c["clock"]: c["status"] for c in report["clocks"]}
    assert (statuses["intake"], statuses["acknowledgement"]) == ("met", "met")
    assert (report["policy_version"], report["score"]) == ("lenient-2026.2", 69)  # 9 of 13


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"scenario": "x", "start": "2026-11-02T09:00:00+08:00"}', '{"at": "+0m", "command"'],
         "Error: line 2: not valid JSON"),
        (['{"at": "+1h", "command": "acknowledge", "ref": "X", '
          '"actor": {"id": "chen", "role": "leadership"}}'],
         "Error: line 1: at '+1h' is relative, but the scenario has no start"),
        (['{"scenario": "x", "start": "2026-11-02T09:00:00+08:00"}', "",
          '{"at": "+1 hour", "command": "acknowledge", "ref": "X", '
          '"actor": {"id": "chen", "role": "leadership"}}'],
         "Error: line 3: '+1 hour' is not a relative time like +2h, +1d or +1d2h30m"),
        (['{"scenario": "x", "start": "2026-11-02T09:00:00+08:00"}',
          '{"at": "+1h", "command": "land", "ref": "X", '
          '"actor": {"id": "chen", "role": "leadership"}}'],
         "Error: line 2: "),
    ],
    ids=["not-json", "relative-without-start", "bad-offset", "unknown-command"],
)  # fmt: skip
def test_a_scenario_with_a_malformed_line_is_refused_and_nothing_is_recorded(
    ledger_url: str, tmp_path: Path, lines: list[str], message: str
) -> None:
    scenario = tmp_path / "broken.jsonl"
    good = (DRILLS / "urgent-threat.jsonl").read_text(encoding="utf-8").splitlines()
    scenario.write_text("\n".join([*lines, *good[1:]]) + "\n", encoding="utf-8")

    shown = refused(ledger_url, "drill", "run", str(scenario), "--policy", DEFAULT, *LEAD)

    assert shown.startswith(message), shown
    assert ok(ledger_url, "drill", "list") == "no drill recorded yet\n"


def test_an_unknown_policy_version_is_refused(ledger_url: str) -> None:
    shown = refused(
        ledger_url, "drill", "run", str(DRILLS / "urgent-threat.jsonl"), "--policy", "nope", *LEAD
    )

    assert shown == "Error: no policy version 'nope'; published: default-2026.1"


def test_a_plan_revision_names_the_drill_that_prompted_it(ledger_url: str, tmp_path: Path) -> None:
    drill(ledger_url, DRILLS / "regulator-referral-late.jsonl")
    plan = str(_revised_plan(tmp_path, "revised-2026.2"))
    unknown = refused(ledger_url, "policy", "publish", plan, "--reason", "确认超时",
                      "--drill", "DR-0007", *LEAD)  # fmt: skip
    unexplained = refused(ledger_url, "policy", "publish", plan, "--drill", "DR-0001", *LEAD)

    ok(ledger_url, "policy", "publish", plan, "--reason", "演练 DR-0001：领导小组确认超时",
       "--drill", "DR-0001", *LEAD)  # fmt: skip

    assert unknown == "Error: drill: no drill 'DR-0007' (drills: DR-0001)"
    assert unexplained == "Error: a revision that names its drill says why: give reason too"
    listed = json.loads(ok(ledger_url, "policy", "list", "--format", "json"))
    assert [(p["version"], p["reason"], p["drill"]) for p in listed] == [
        ("default-2026.1", None, None),
        ("revised-2026.2", "演练 DR-0001：领导小组确认超时", "DR-0001"),
    ]
    table = ok(ledger_url, "policy", "list")
    assert "DR-0001" in table.splitlines()[-1]
    exported = [json.loads(line) for line in ok(ledger_url, "export-commands").splitlines()]
    revision = next(c for c in exported if c["command"] == "publish_policy")
    assert (revision["reason"], revision["drill"]) == ("演练 DR-0001：领导小组确认超时", "DR-0001")
    assert [c["score"] for c in exported if c["command"] == "record_drill"] == [46]


def _training(n: int, attendees: list[str], **fields: Any) -> dict[str, Any]:
    return {"command": "record_training", "command_id": f"training-{n}",
            "actor": actor("handling_team", "wang"), "topic": "应急预案：升级与批示",
            "date": "2026-11-20", "attendees": attendees, **fields}  # fmt: skip


def _staff(staff_id: str, unit: str, role: str, by: str = "chen") -> dict[str, Any]:
    return {"command": "add_staff", "command_id": f"staff-{staff_id}",
            "actor": actor("leadership", by), "staff_id": staff_id, "name": staff_id,
            "unit": unit, "roles": [role],
            "effective_from": "2026-01-01T00:00:00+08:00"}  # fmt: skip


def test_training_is_recorded_by_cli_and_json_lines_and_reported_per_unit(
    ledger_url: str,
) -> None:
    staff = [_staff("chen", "leadership_group", "leadership"),
             _staff("wang", "handling_group", "handling_team"),
             _staff("li", "customer_service", "customer_service"),
             _staff("zhou", "customer_service", "customer_service")]  # fmt: skip
    if ledger_url.startswith("postgresql"):  # the tests' login acts for the members
        ok(ledger_url, "staff", "allow-login", TEST_LOGIN, *LEAD)
    ok(ledger_url, "apply", "-", input=jsonl([*staff, _training(1, ["li", "wang"])]))
    before = event_count(ledger_url)

    stranger = run(ledger_url, "apply", "-", input=jsonl([_training(2, ["li", "nobody"])]))
    ok(ledger_url, "training", "record", "--topic", "舆情应对", "--date", "2026-11-21",
       "--attendee", "chen", "--unit", "leadership_group", *LEAD)  # fmt: skip

    assert stranger.exit_code == 1
    assert "Error: line 1: attendee: nobody not in the staff directory" in stranger.stderr
    assert event_count(ledger_url) == before + 1
    report = json.loads(ok(ledger_url, "training", "report", "--format", "json"))
    assert {r["unit"]: (r["sessions"], r["trained"], r["never_trained"]) for r in report} == {
        "leadership_group": (1, ["chen"], []),
        "handling_group": (1, ["wang"], []),
        "office": (0, [], []),
        "customer_service": (1, ["li"], ["zhou"]),
        "business_department": (0, [], []),
    }
    one = ok(ledger_url, "training", "report", "--unit", "customer_service")
    assert one.splitlines()[-1].split() == ["customer_service", "1", "li", "zhou"]
    cs = refused(ledger_url, "training", "record", "--topic", "x", "--date", "2026-11-22",
                 "--attendee", "li", "--actor", "li", "--role", "customer_service")  # fmt: skip
    assert cs.startswith("Error: role customer_service may not record-training; allowed: ")


def test_a_drill_result_through_json_lines_needs_a_known_plan(ledger_url: str) -> None:
    record = {"command": "record_drill", "command_id": "d-1", "actor": actor("leadership", "chen"),
              "scenario_sha256": "ab" * 32, "policy_version": "nope", "score": 50,
              "summary": {"scenario": "tabletop"}}  # fmt: skip
    before = event_count(ledger_url)

    result = run(ledger_url, "apply", "-", input=jsonl([record]))
    ok(ledger_url, "apply", "-", input=jsonl([{**record, "command_id": "d-2",
                                               "policy_version": DEFAULT}]))  # fmt: skip

    assert result.exit_code == 1
    assert "Error: line 1: no policy version 'nope'" in result.stderr
    assert event_count(ledger_url) == before + 2  # the book's opening and the drill
    listed = json.loads(ok(ledger_url, "drill", "list", "--format", "json"))
    assert [(d["drill_id"], d["score"], d["scenario"]) for d in listed] == [
        ("DR-0001", 50, "tabletop")
    ]


def test_a_drill_checks_roles_against_the_staff_directory_when_it_names_its_actors(
    ledger_url: str,
) -> None:
    if ledger_url.startswith("postgresql"):  # the tests' login acts for the members
        ok(ledger_url, "staff", "allow-login", TEST_LOGIN, *LEAD)
    staff = [_staff("lead-chen", "leadership_group", "leadership", "lead-chen"),
             _staff("cs-li", "customer_service", "customer_service", "lead-chen"),
             _staff("wang", "customer_service", "customer_service", "lead-chen")]  # fmt: skip
    ok(ledger_url, "apply", "-", input=jsonl(staff))

    shown = ok(ledger_url, "drill", "run", str(DRILLS / "urgent-threat.jsonl"),
               "--policy", DEFAULT, "--actor", "lead-chen", "--role", "leadership",
               "--format", "json")  # fmt: skip

    report = json.loads(shown)
    failed = [(f["line"], f["command"]) for f in report["failed_steps"]]
    assert failed == [(7, "record_findings"), (8, "plan"), (9, "execute"),
                      (10, "notify_outcome"), (11, "sign_off"), (12, "close")]  # fmt: skip
    assert "wang does not hold the role handling_team" in report["failed_steps"][0]["error"]
    assert report["score"] < 100


def test_a_drill_run_again_under_its_command_id_appends_nothing(ledger_url: str) -> None:
    args = ("drill", "run", str(DRILLS / "urgent-threat.jsonl"), "--policy", DEFAULT, *LEAD,
            "--command-id", "drill-1", "--occurred-at", "2026-11-10T09:00:00+08:00")  # fmt: skip
    first = ok(ledger_url, *args)
    count = event_count(ledger_url)

    again = ok(ledger_url, *args)

    assert again == first
    assert first.startswith("DR-0001: Urgent: ")
    assert event_count(ledger_url) == count
    listed = json.loads(ok(ledger_url, "drill", "list", "--format", "json"))
    assert [datetime.fromisoformat(d["completed_at"]) for d in listed] == [
        datetime(2026, 11, 10, 1, tzinfo=UTC)
    ]


def test_generate_records_training_and_a_scored_drill_that_export_carries_over(
    ledger_url: str, second_url: str, tmp_path: Path
) -> None:
    generated = ok(ledger_url, "generate", "--complaints", "3", "--readiness")
    ok(ledger_url, "apply", "-", input=generated)
    exported = ok(ledger_url, "export-commands")

    ok(second_url, "apply", "-", input=exported)

    last = [json.loads(line) for line in generated.splitlines()[-2:]]
    assert [c["command"] for c in last] == ["record_training", "record_drill"]
    assert last[1]["score"] == 100  # the urgent scenario, scored against the built-in plan
    for url in (ledger_url, second_url):
        drills = json.loads(ok(url, "drill", "list", "--format", "json"))
        assert [(d["drill_id"], d["score"], d["run_by"]) for d in drills] == [
            ("DR-0001", 100, "lead-chen")
        ]
        report = json.loads(ok(url, "training", "report", "--format", "json"))
        assert (report[-1]["unit"], len(report[-1]["trained"])) == (None, 8)


def test_a_scenario_giving_cause_codes_is_checked_against_the_code_list_in_force(
    ledger_url: str, tmp_path: Path
) -> None:
    """The code lists belong to the plan (docs/codes.md): a scenario whose triage names a
    cause of the list the real ledger has in force scores as the same scenario without it."""
    ok(ledger_url, "codes", "publish", str(REPO / "docs" / "codes-example.toml"), *LEAD,
       "--effective-from", "2026-01-01T00:00:00+08:00")  # fmt: skip
    text = (DRILLS / "urgent-threat.jsonl").read_text(encoding="utf-8")
    caused = text.replace('"escalate_to": "leadership_group"}',
                          '"escalate_to": "leadership_group", "cause": "C02"}', 1)  # fmt: skip
    assert caused != text
    scenario = tmp_path / "caused.jsonl"
    scenario.write_text(caused, encoding="utf-8")

    report = drill(ledger_url, scenario)

    assert report["failed_steps"] == []
    assert (report["score"], report["checks"]) == (100, {"passed": 12, "failed": 0})


def _drill_record(command_id: str, **fields: Any) -> dict[str, Any]:
    return {"command": "record_drill", "command_id": command_id,
            "actor": actor("leadership", "chen"), "scenario_sha256": "ab" * 32,
            "policy_version": DEFAULT, "score": 50, "summary": {"scenario": "tabletop"},
            **fields}  # fmt: skip


def test_a_drill_result_out_of_bounds_is_refused_through_json_lines(ledger_url: str) -> None:
    # {"scenario":"…"} is 15 characters of JSON around the title.
    at_limit = {"scenario": "演" * (100_000 - 15)}
    over = {"scenario": "演" * (100_000 - 14)}

    high = refused(ledger_url, "apply", "-", input=jsonl([_drill_record("d-1", score=101)]))
    low = refused(ledger_url, "apply", "-", input=jsonl([_drill_record("d-2", score=-1)]))
    text = refused(ledger_url, "apply", "-", input=jsonl([_drill_record("d-3", score="50")]))
    long = refused(ledger_url, "apply", "-", input=jsonl([_drill_record("d-4", summary=over)]))
    ok(ledger_url, "apply", "-", input=jsonl([_drill_record("d-5", summary=at_limit)]))

    assert high == "Error: line 1: score: Input should be less than or equal to 100"
    assert low == "Error: line 1: score: Input should be greater than or equal to 0"
    assert text == "Error: line 1: score: Input should be a valid integer"
    assert long == (
        "Error: line 1: summary: the drill's report is 100,001 characters of JSON, more than "
        "100,000"
    )
    listed = json.loads(ok(ledger_url, "drill", "list", "--format", "json"))
    assert [(d["drill_id"], len(d["scenario"])) for d in listed] == [("DR-0001", 99_985)]


def test_a_drill_whose_report_is_too_long_records_nothing(ledger_url: str, tmp_path: Path) -> None:
    header = {
        "scenario": "notes on a complaint never received",
        "start": "2026-11-02T09:00:00+08:00",
        "end": "2026-11-03T09:00:00+08:00",
    }
    note = {"command": "add_note", "ref": "DRILL-NONE", "text": "x",
            "actor": actor("customer_service"), "at": "+1h"}  # fmt: skip
    scenario = tmp_path / "notes.jsonl"
    scenario.write_text(jsonl([header, *[note] * 1000]), encoding="utf-8")

    error = refused(ledger_url, "drill", "run", str(scenario), "--policy", DEFAULT, *LEAD)

    assert error.startswith("Error: summary: the drill's report is ")
    assert error.endswith(" characters of JSON, more than 100,000")
    assert json.loads(ok(ledger_url, "drill", "list", "--format", "json")) == []
