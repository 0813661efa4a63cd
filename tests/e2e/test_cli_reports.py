"""Reports from the read models, checked against hand-computed expectations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import actor, event_count, jsonl, receive_cmd, run

LEAD = ["--actor", "chen", "--role", "leadership"]
TEAM = actor("handling_team", "wang")
AS_OF = "2026-09-25T10:00:00+08:00"


def step(ref: str, command: str, at: str, **fields: object) -> dict[str, object]:
    return {"command": command, "command_id": f"{ref}-{command}", "ref": ref, "actor": TEAM,
            "occurred_at": at, **fields}  # fmt: skip


def scripted(url: str) -> None:
    assert run(url, "calendar", "publish", "2026", *LEAD).exit_code == 0
    triage = {"severity": "normal", "category": "harassment", "assessment": "一般"}
    commands = [
        # A: received Thu 09-24 16:00, triaged 17:30 -> intake breached by 30 min; investigation
        # due Fri 16:00, at risk from 16:00 + 0.75 x 24 h = Fri 10:00 (exactly the as-of).
        receive_cmd("A", received_at="2026-09-24T16:00:00+08:00",
                    occurred_at="2026-09-24T16:20:00+08:00"),
        step("A", "triage", "2026-09-24T17:30:00+08:00", **triage),
        # B: everything on time so far; plan due Sat 09:00, at risk only from Fri 21:00.
        receive_cmd("B", received_at="2026-09-24T09:00:00+08:00",
                    occurred_at="2026-09-24T09:05:00+08:00"),
        step("B", "triage", "2026-09-24T09:20:00+08:00", **triage),
        step("B", "record_findings", "2026-09-25T08:00:00+08:00", substantiated="no",
             findings="不属实"),
        # C: withdrawn at 12:00 without a triage: its intake clock (due 10:00) was 2 h overdue
        # then and stays breached; its other open clocks are cancelled and never reported.
        receive_cmd("C", received_at="2026-09-21T09:00:00+08:00",
                    occurred_at="2026-09-21T09:05:00+08:00"),
        step("C", "withdraw", "2026-09-21T12:00:00+08:00", reason="撤诉"),
        # D: received Sun 09-20 10:00 (a make-up working day), triaged 10:30, then nothing:
        # investigation due Mon 10:00 (4 days late), plan due Tue 10:00 (3 days late).
        receive_cmd("D", received_at="2026-09-20T10:00:00+08:00",
                    occurred_at="2026-09-20T10:05:00+08:00"),
        step("D", "triage", "2026-09-20T10:30:00+08:00", **triage),
    ]  # fmt: skip
    assert run(url, "apply", "-", input=jsonl(commands)).exit_code == 0


def test_sla_report_matches_the_hand_computation_and_survives_a_rebuild(ledger_url: str) -> None:
    scripted(ledger_url)

    first = run(ledger_url, "report", "sla", "--as-of", AS_OF, "--format", "json")
    rebuilt = run(ledger_url, "projections", "rebuild")
    second = run(ledger_url, "report", "sla", "--as-of", AS_OF, "--format", "json")

    report = json.loads(first.stdout)
    assert [(i["ref"], i["clock"], i["status"], i["late_by_seconds"], i["due_at"])
            for i in report["items"]] == [
        ("C", "intake", "breached", 7200, "2026-09-21T02:00:00.000000+00:00"),
        ("A", "intake", "breached", 1800, "2026-09-24T09:00:00.000000+00:00"),
        ("D", "investigation", "overdue", 4 * 86400, "2026-09-21T02:00:00.000000+00:00"),
        ("D", "plan", "overdue", 3 * 86400, "2026-09-22T02:00:00.000000+00:00"),
        ("A", "investigation", "at_risk", 0, "2026-09-25T08:00:00.000000+00:00"),
    ]  # fmt: skip
    assert report["totals"]["all"] == {"breached": 2, "overdue": 2, "at_risk": 1}
    assert report["totals"]["clock"]["investigation"] == {"breached": 0, "overdue": 1, "at_risk": 1}
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert second.stdout == first.stdout


def test_sla_report_from_and_to_select_by_day_of_receipt(ledger_url: str) -> None:
    scripted(ledger_url)

    only_thursday = run(ledger_url, "report", "sla", "--as-of", AS_OF, "--from", "2026-09-24",
                        "--to", "2026-09-24", "--format", "json")  # fmt: skip

    assert {i["ref"] for i in json.loads(only_thursday.stdout)["items"]} == {"A"}


def test_list_filters_and_limit(ledger_url: str) -> None:
    scripted(ledger_url)

    open_cases = json.loads(run(ledger_url, "list", "--open", "--format", "json").stdout)
    breached = json.loads(run(ledger_url, "list", "--breached", "--format", "json").stdout)
    limited = json.loads(run(ledger_url, "list", "--limit", "2", "--format", "json").stdout)
    investigation = run(ledger_url, "list", "--stage", "plan", "--format", "csv").stdout

    assert [r["ref"] for r in open_cases] == ["D", "B", "A"]
    # B's plan is overdue by now; C's intake was overdue when it was withdrawn.
    assert {r["ref"] for r in breached} == {"A", "B", "C", "D"}
    # --limit alone keeps the bare array list always wrote; --after asks for pages.
    assert [r["ref"] for r in limited] == ["D", "C"]
    first = json.loads(run(ledger_url, "list", "--limit", "2", "--after", "start", "--format",
                           "json").stdout)  # fmt: skip
    assert first["items"] == limited
    rest = json.loads(run(ledger_url, "list", "--after", first["next_cursor"], "--format",
                          "json").stdout)  # fmt: skip
    assert first["items"] + rest["items"] == run_list_all(ledger_url)
    assert rest["next_cursor"] is None
    assert investigation.splitlines()[0].startswith("ref,status,stage,")
    assert [line.split(",")[0] for line in investigation.splitlines()[1:]] == ["B"]


def test_list_and_audit_summarise_stream_and_page(ledger_url: str) -> None:
    scripted(ledger_url)
    before = event_count(ledger_url)

    rows = json.loads(run(ledger_url, "list", "--format", "json").stdout)
    summary = json.loads(run(ledger_url, "list", "--summary", "--format", "json").stdout)
    opened = json.loads(run(ledger_url, "list", "--open", "--summary", "--format", "json").stdout)
    ndjson = run(ledger_url, "list", "--format", "ndjson").stdout
    trail = json.loads(run(ledger_url, "audit", "A", "--format", "json").stdout)
    counted = json.loads(run(ledger_url, "audit", "A", "--summary", "--format", "json").stdout)
    page = json.loads(run(ledger_url, "audit", "A", "--limit", "2", "--format", "json").stdout)
    pages = [page]
    while page["next_cursor"] is not None:
        page = json.loads(run(ledger_url, "audit", "A", "--limit", "2", "--after",
                              page["next_cursor"], "--format", "json").stdout)  # fmt: skip
        pages.append(page)
    streamed = run(ledger_url, "audit", "A", "--format", "ndjson").stdout
    refused = [run(ledger_url, "list", "--after", "bm8", "--format", "json"),
               run(ledger_url, "audit", "A", "--after", "WyJ4Il0", "--format", "json")]  # fmt: skip

    assert summary["all"] == len(rows)
    assert summary["status"] == {s: sum(r["status"] == s for r in rows)
                                 for s in sorted({r["status"] for r in rows})}  # fmt: skip
    assert summary["stage"] == {s: sum(r["stage"] == s for r in rows)
                                for s in sorted({r["stage"] for r in rows})}  # fmt: skip
    assert opened["all"] == sum(r["status"] == "open" for r in rows)
    assert [json.loads(line) for line in ndjson.splitlines()] == rows
    assert counted["all"] == len(trail)
    assert sum(counted["action"].values()) == len(trail)
    assert [r for p in pages for r in p["items"]] == trail
    assert len(pages) == -(-len(trail) // 2)
    assert [json.loads(line) for line in streamed.splitlines()] == trail
    for result in refused:
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr.startswith("Error: --after:")
        assert len(result.stderr.splitlines()) == 1
    assert event_count(ledger_url) == before


def test_statistics_count_a_month_per_channel_category_and_severity(ledger_url: str) -> None:
    scripted(ledger_url)

    rows = json.loads(run(ledger_url, "report", "stats", "--format", "json").stdout)

    by_severity = {
        (r["severity"], r["received"], r["withdrawn"], r["breached_intake"]) for r in rows
    }
    assert {r["month"] for r in rows} == {"2026-09"}
    assert by_severity == {("normal", 3, 0, 1), ("untriaged", 1, 1, 0)}


def test_audit_shows_the_trail_of_one_complaint(ledger_url: str) -> None:
    scripted(ledger_url)

    trail = json.loads(run(ledger_url, "audit", "D", "--format", "json").stdout)
    missing = run(ledger_url, "audit", "NOPE")

    assert [(r["version"], r["action"], r["summary_zh"]) for r in trail] == [
        (1, "Received", "受理投诉（电话），类别：harassment"),
        (2, "Triaged", "初步判断：一般，类别：harassment"),
    ]
    assert all(r["backdated"] for r in trail)  # recorded today, weeks after they happened
    assert (missing.exit_code, missing.stderr) == (1, "Error: no complaint has reference 'NOPE'\n")


def test_audit_trail_describes_erasure_and_seals(ledger_url: str, tmp_path: Path) -> None:
    scripted(ledger_url)
    run(ledger_url, "erase", "D", "--reason", "保存期限届满", *LEAD)
    key = tmp_path / "seal-key.pem"
    sealed = run(ledger_url, "seal", "--out", str(tmp_path / "digest.json"), "--key-file", str(key))

    trail = json.loads(run(ledger_url, "audit", "D", "--format", "json").stdout)
    seals = json.loads(run(ledger_url, "audit", "@seals", "--format", "json").stdout)

    assert sealed.exit_code == 0, sealed.stderr
    assert (trail[-1]["action"], trail[-1]["summary_en"]) == (
        "PersonalDataErased",
        "Personal data erased: 保存期限届满",
    )
    assert [r["action"] for r in seals] == ["Opened", "LedgerSealed"]
    assert seals[-1]["summary_zh"].startswith("账本封存至第 ")


def test_list_written_a_page_at_a_time_equals_the_list_in_one_page(
    ledger_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from commands.cli import reports

    generated = run(ledger_url, "generate", "--complaints", "30", "--seed", "4")
    (tmp_path / "load.jsonl").write_text(generated.stdout, encoding="utf-8")
    assert run(ledger_url, "apply", "--bulk", str(tmp_path / "load.jsonl")).exit_code == 0
    cases = [
        ("--format", "json"),
        ("--format", "csv"),
        ("--format", "json", "--limit", "9"),
        ("--format", "csv", "--limit", "8"),
        ("--format", "json", "--open"),
        ("--format", "json", "--team", "nobody"),
    ]
    whole = [run(ledger_url, "list", *args).stdout for args in cases]
    monkeypatch.setattr(reports, "PAGE", 4)
    paged = [run(ledger_url, "list", *args).stdout for args in cases]

    assert paged == whole
    assert len(json.loads(whole[0])) == 30
    assert len(json.loads(whole[2])) == 9  # --limit alone: the bare array of the first 9
    assert len(whole[3].splitlines()) == 1 + 8
    assert json.loads(whole[5]) == []


def run_list_all(url: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(run(url, "list", "--format", "json").stdout)
    return rows


@pytest.mark.parametrize("days", ["0", "-1"])
def test_generate_over_no_days_is_refused_with_one_error_line(days: str) -> None:
    """``generate --days 0`` ended in a ValueError traceback from random.randrange."""
    result = run("sqlite:///unused.db", "generate", "--complaints", "3", "--days", days)

    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert "Invalid value for '--days'" in result.stderr
