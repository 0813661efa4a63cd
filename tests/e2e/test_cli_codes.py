"""Code lists and cause codes (issue 15, item 2a) through the command line and JSON Lines, on
SQLite and PostgreSQL: publish, list and show a code list; triage and closure carry a cause
code checked against the list in force at the time of the action; the case read model keeps
the code, its regulator mapping and the list's version; refusals append nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import jsonl, life_cmds, ok, refused, run

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "codes-example.toml"
LEAD = ["--actor", "chen", "--role", "leadership"]
TEAM = ["--actor", "wang", "--role", "handling_team"]


def publish(url: str, path: Path, effective_from: str = "2026-09-01T00:00:00+08:00") -> str:
    return ok(url, "codes", "publish", str(path), "--effective-from", effective_from, *LEAD)


def revision(tmp_path: Path) -> Path:
    """codes-2026.2, in force from 2026-10-01: the example with C10 (催收时间不当) added."""
    text = EXAMPLE.read_text(encoding="utf-8").replace("codes-2026.1", "codes-2026.2")
    text = text.replace(
        'C99 = { label = "其他" }',
        'C10 = { label = "催收时间不当", regulator = "11" }\nC99 = { label = "其他" }',
    )
    path = tmp_path / "codes-2026.2.toml"
    path.write_text(text, encoding="utf-8")
    return path


def cases(url: str) -> dict[str, dict[str, Any]]:
    return {c["ref"]: c for c in json.loads(ok(url, "list", "--format", "json"))}


def coded_life(ref: str, triage_cause: str | None, close_cause: str | None) -> list[dict[str, Any]]:
    commands = life_cmds(ref)
    for command in commands:
        cause = {"triage": triage_cause, "close": close_cause}.get(command["command"])
        if cause is not None:
            command["cause"] = cause
    return commands


def test_a_code_list_is_published_listed_and_shown(ledger_url: str) -> None:
    answer = publish(ledger_url, EXAMPLE)
    listed = ok(ledger_url, "codes", "list")
    as_json = json.loads(ok(ledger_url, "codes", "list", "--format", "json"))
    shown = json.loads(ok(ledger_url, "codes", "show", "codes-2026.1", "--format", "json"))
    table = ok(ledger_url, "codes", "show", "codes-2026.1")

    assert answer == "@policies: CodesPublished (version 2)\n"
    assert listed.splitlines() == [
        "version       effective_from              causes  regulator_causes  standard",
        "------------  --------------------------  ------  ----------------  --------------",
        "codes-2026.1  2026-09-01 00:00:00 +08:00  9       12                JR/T 0169-2018",
    ]
    assert [(c["version"], c["effective_from"]) for c in as_json] == [
        ("codes-2026.1", "2026-08-31T16:00:00+00:00")
    ]
    assert as_json[0]["causes"]["C02"] == {"label": "暴力催收", "regulator": "11"}
    assert shown["regulator"]["causes"]["11"] == "债务催收方式和手段"
    assert sorted(shown["regulator"]) == ["business_types", "causes", "channels", "standard"]
    assert "C03    骚扰第三人" in table


def test_triage_and_close_carry_cause_codes_into_the_case_read_model(ledger_url: str) -> None:
    publish(ledger_url, EXAMPLE)

    ok(ledger_url, "apply", "-", input=jsonl(coded_life("TS-A", "C02", "C04")))
    ok(ledger_url, "apply", "-", input=jsonl(coded_life("TS-B", "C03", None)))
    ok(ledger_url, "apply", "-", input=jsonl(coded_life("TS-C", None, None)))
    ok(ledger_url, "apply", "-", input=jsonl(coded_life("TS-D", "C99", None)))
    found = cases(ledger_url)
    shown = json.loads(ok(ledger_url, "show", "TS-A", "--format", "json"))
    table = ok(ledger_url, "show", "TS-A")

    columns = ("cause_code", "regulator_cause_code", "codes_version")
    assert {ref: tuple(c[k] for k in columns) for ref, c in found.items()} == {
        "TS-A": ("C04", "10", "codes-2026.1"),  # the closure's code overrides the triage's
        "TS-B": ("C03", "11", "codes-2026.1"),  # a closure without one keeps the triage's
        "TS-C": (None, None, None),
        "TS-D": ("C99", None, "codes-2026.1"),  # a cause the company did not map
    }
    assert (shown["cause_code"], shown["cause_label"]) == ("C04", "信息泄露")
    assert "cause_label: 信息泄露" in table


def test_the_command_line_triage_and_close_take_cause(ledger_url: str) -> None:
    publish(ledger_url, EXAMPLE)
    ok(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-E", until="notify_outcome")))
    ok(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-F", until="receive")))

    ok(ledger_url, "triage", "TS-F", "--severity", "normal", "--category", "harassment",
       "--assessment", "骚扰家人", "--cause", "C03", "--occurred-at",
       "2026-09-24T16:40:00+08:00", *TEAM)  # fmt: skip
    ok(ledger_url, "close", "TS-E", "--root-cause", "外包违规", "--improvement", "培训",
       "--cause", "C01", "--occurred-at", "2026-09-29T09:00:00+08:00", *TEAM)  # fmt: skip
    history = json.loads(ok(ledger_url, "history", "TS-E", "--format", "json"))
    found = cases(ledger_url)

    closed = next(e for e in history["events"] if e["event"] == "Closed")
    assert (closed["fields"]["cause"], closed["fields"]["codes_version"]) == ("C01", "codes-2026.1")
    assert found["TS-E"]["regulator_cause_code"] == "11"
    assert (found["TS-F"]["cause_code"], found["TS-F"]["regulator_cause_code"]) == ("C03", "11")


def test_a_cause_not_in_the_code_list_is_refused_and_appends_nothing(ledger_url: str) -> None:
    publish(ledger_url, EXAMPLE)
    ok(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-G", until="notify_outcome")))
    triage = ["triage", "TS-G", "--severity", "normal", "--category", "harassment",
              "--assessment", "x", "--occurred-at", "2026-09-24T17:00:00+08:00", *TEAM]  # fmt: skip

    by_cli = refused(ledger_url, *triage, "--cause", "C42")
    close = life_cmds("TS-G")[-1] | {"command_id": "close-unknown", "cause": "C42"}
    result = run(ledger_url, "apply", "-", input=jsonl([close]))

    assert by_cli == (
        "Error: cause: 'C42' is not a cause code of code list 'codes-2026.1' (in force at the "
        "time of the action); its codes: C01, C02, C03, C04, C05, C06, C07, C08, C99"
    )
    assert result.exit_code == 1
    assert "'C42' is not a cause code of code list 'codes-2026.1'" in result.output
    assert json.loads(ok(ledger_url, "show", "TS-G", "--format", "json"))["status"] == "open"


def test_a_cause_before_any_code_list_is_in_force_is_refused(ledger_url: str) -> None:
    ok(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-H", until="receive")))
    triage = ["triage", "TS-H", "--severity", "normal", "--category", "harassment",
              "--assessment", "x", "--cause", "C01", "--occurred-at",
              "2026-09-24T16:40:00+08:00", *TEAM]  # fmt: skip

    nothing = refused(ledger_url, *triage)
    publish(ledger_url, EXAMPLE, effective_from="2026-09-25T00:00:00+08:00")
    not_yet = refused(ledger_url, *triage)

    assert nothing == (
        "Error: cause: no code list was in force at 2026-09-24T16:40:00+08:00; publish one "
        "first (codes publish)"
    )
    assert not_yet == nothing


def test_a_code_valid_only_in_a_later_version_is_refused_before_it_takes_effect(
    ledger_url: str, tmp_path: Path
) -> None:
    publish(ledger_url, EXAMPLE)
    publish(ledger_url, revision(tmp_path), effective_from="2026-10-01T00:00:00+08:00")
    ok(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-I", until="notify_outcome")))
    close = ["close", "TS-I", "--root-cause", "夜间催收", "--improvement", "限定时段",
             "--cause", "C10", *TEAM]  # fmt: skip

    early = refused(ledger_url, *close, "--occurred-at", "2026-09-29T09:00:00+08:00")
    ok(ledger_url, *close, "--occurred-at", "2026-10-02T09:00:00+08:00")
    found = cases(ledger_url)["TS-I"]

    assert "'C10' is not a cause code of code list 'codes-2026.1'" in early
    assert (found["cause_code"], found["regulator_cause_code"], found["codes_version"]) == (
        "C10",
        "11",
        "codes-2026.2",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: 'colour = "red"\n' + t,
            "Error: code list invalid: colour: Extra inputs are not permitted",
        ),
        (
            lambda t: t.replace(
                'C02 = { label = "暴力催收", regulator = "11" }',
                'C02 = { label = "暴力催收", regulator = "77" }',
            ),
            "Error: code list invalid: causes.C02.regulator: '77' is not a code of "
            "regulator.causes (01, 02, 03, 04, 05, 06, 07, 08, 09, 10, 11, 99)",
        ),
        (
            lambda t: t.replace('C03 = { label = "骚扰第三人"', 'C02 = { label = "骚扰第三人"'),
            "Error: code list is not valid TOML: Cannot overwrite a value (at line 20, column 44)",
        ),
        (
            lambda t: t.replace(
                'C01 = { label = "催收方式不当", regulator = "11" }',
                'C01 = { label = "催收方式不当", regulator = "11", weight = 1 }',
            ),
            "Error: code list invalid: causes.C01.weight: Extra inputs are not permitted",
        ),
    ],
    ids=["unknown-key", "mapping-to-no-regulator-code", "duplicate-code", "unknown-cause-key"],
)
def test_a_bad_code_list_is_refused_in_one_line_and_appends_nothing(
    ledger_url: str, tmp_path: Path, change: Any, message: str
) -> None:
    path = tmp_path / "codes.toml"
    path.write_text(change(EXAMPLE.read_text(encoding="utf-8")), encoding="utf-8")

    assert refused(ledger_url, "codes", "publish", str(path), *LEAD) == message


def test_a_json_code_list_is_checked_alike_and_a_version_is_published_once(
    ledger_url: str, tmp_path: Path
) -> None:
    publish(ledger_url, EXAMPLE)
    document = json.loads(ok(ledger_url, "codes", "show", "codes-2026.1", "--format", "json"))
    again = tmp_path / "again.json"
    again.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    twice = tmp_path / "twice.json"
    twice.write_text('{"version": "x", "version": "y"}', encoding="utf-8")

    assert refused(ledger_url, "codes", "publish", str(again), *LEAD) == (
        "Error: code list version 'codes-2026.1' was already published; give the revision a "
        "new version"
    )
    assert refused(ledger_url, "codes", "publish", str(twice), *LEAD) == (
        "Error: code list invalid: 'version' is given twice"
    )
    assert refused(ledger_url, "codes", "publish", str(EXAMPLE), *TEAM) == (
        "Error: role handling_team may not publish-codes; allowed: leadership"
    )


def test_generate_with_cause_codes_publishes_the_example_and_codes_its_complaints(
    ledger_url: str,
) -> None:
    lines = ok(ledger_url, "generate", "--complaints", "12", "--seed", "3", "--cause-codes")
    first = json.loads(lines.splitlines()[0])

    ok(ledger_url, "apply", "-", input=lines)
    found = cases(ledger_url)
    triaged = [c for c in found.values() if c["severity"] is not None]

    assert first["command"] == "publish_codes"
    assert len(triaged) >= 10
    assert all(c["cause_code"] and c["codes_version"] == "codes-2026.1" for c in triaged)
    assert {c["regulator_cause_code"] for c in triaged} <= {"01", "05", "10", "11", None}


def test_export_commands_carries_the_code_list_and_the_causes_into_a_copy(
    ledger_url: str, second_url: str
) -> None:
    publish(ledger_url, EXAMPLE)
    ok(ledger_url, "apply", "-", input=jsonl(coded_life("TS-J", "C02", "C04")))

    exported = ok(ledger_url, "export-commands")
    ok(second_url, "apply", "-", input=exported)
    audit = ok(ledger_url, "audit", "TS-J", "--format", "json")

    columns = ("cause_code", "regulator_cause_code", "codes_version")
    copied = cases(second_url)["TS-J"]
    assert tuple(copied[k] for k in columns) == ("C04", "10", "codes-2026.1")
    assert json.loads(ok(second_url, "codes", "list", "--format", "json")) == json.loads(
        ok(ledger_url, "codes", "list", "--format", "json")
    )
    assert "Complaint closed, cause C04" in audit
