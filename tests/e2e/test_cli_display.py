"""What a person reads: times with their zone, reports that say what they mean, CSV that
agrees with JSON, and free text that cannot act on the reader's terminal."""

from __future__ import annotations

import json

import pytest

from commands.handlers import handle
from commands.models import Envelope, parse_command
from ledger.store.root import open_ledger
from tests.e2e.test_cli_reports import AS_OF, scripted, step
from tests.helpers import jsonl, life_cmds, receive_cmd, run

# An OSC sequence that retitles the terminal window, CSI colour codes, a bell, a carriage
# return that would overwrite the line, and a right-to-left override.
EVIL = "\x1b]0;pwned\x07红\x1b[31m色\x1b[0m\r\u202eabc"
SHOWN = "\\x1b]0;pwned\\x07红\\x1b[31m色\\x1b[0m\\r\\u202eabc"


@pytest.fixture
def assigned(ledger_url: str) -> str:
    """The reports' scripted ledger, with A assigned to a team."""
    scripted(ledger_url)
    assign = step("A", "assign", "2026-09-24T17:40:00+08:00", handler="zhao", team="处置一组")
    assert run(ledger_url, "apply", "-", input=jsonl([assign])).exit_code == 0
    return ledger_url


def test_sla_report_table_explains_its_statuses_and_totals_per_clock_team_and_channel(
    assigned: str,
) -> None:
    result = run(assigned, "report", "sla", "--as-of", AS_OF)

    assert result.stdout == (
        "SLA report as of 2026-09-25 10:00:00 +08:00\n"
        "breached: the step was done, but after its deadline\n"
        "overdue:  the step is not done and its deadline has passed\n"
        "at_risk:  the step is not done and most of its time is gone (the plan's warning share)\n"
        "\n"
        "ref  clock          status    due                         late by    team      handler\n"
        "---  -------------  --------  --------------------------  ---------  --------  -------\n"
        "C    intake         breached  2026-09-21 10:00:00 +08:00  2h 00m     -         -\n"
        "A    intake         breached  2026-09-24 17:00:00 +08:00  30m        处置一组  zhao\n"
        "D    investigation  overdue   2026-09-21 10:00:00 +08:00  4d 0h 00m  -         -\n"
        "D    plan           overdue   2026-09-22 10:00:00 +08:00  3d 0h 00m  -         -\n"
        "A    investigation  at_risk   2026-09-25 16:00:00 +08:00  -          处置一组  zhao\n"
        "\n"
        "clock          breached  overdue  at_risk\n"
        "-------------  --------  -------  -------\n"
        "intake         2         0        0\n"
        "investigation  0         1        1\n"
        "plan           0         1        0\n"
        "all            2         2        1\n"
        "\n"
        "team          breached  overdue  at_risk\n"
        "------------  --------  -------  -------\n"
        "(unassigned)  1         2        0\n"
        "处置一组      1         0        1\n"
        "\n"
        "channel  breached  overdue  at_risk\n"
        "-------  --------  -------  -------\n"
        "phone    2         2        1\n"
        "\n"
        "met only by a late entry (recorded after the deadline): 7 (intake 2, intake_record 4, "
        "investigation 1)\n"
        "lag: 0 events (read models at position 12, the head of the log)\n"
    )


def test_list_and_show_give_times_in_the_plans_zone_with_the_offset(assigned: str) -> None:
    listed = run(assigned, "list", "--open").stdout.splitlines()
    shown = run(assigned, "show", "A").stdout.splitlines()

    assert listed[-1] == "lag: 0 events (read models at position 12, the head of the log)"
    assert listed[-2] == (
        "A    open    investigation  phone    harassment  normal    处置一组  zhao     "
        "2026-09-24 16:00:00 +08:00"
    )
    assert "      received_at: 2026-09-24 16:00:00 +08:00" in shown
    assert "       triaged_at: 2026-09-24 17:30:00 +08:00" in shown
    assert shown[-1].startswith(
        "3        Assigned  wang      handling_team     2026-09-24 17:40:00 +08:00  20"
    )
    assert shown[-1].endswith(" +08:00")


def test_audit_table_shows_the_chinese_and_the_english_summary(assigned: str) -> None:
    lines = run(assigned, "audit", "D").stdout.splitlines()

    assert lines[0].split() == ["position", "version", "action", "actor_id", "actor_role",
                                "actor_method", "occurred_at", "recorded_at", "backdated",
                                "summary_zh", "summary_en"]  # fmt: skip
    assert " 2026-09-20 10:05:00 +08:00 " in lines[2]
    assert lines[2].endswith(
        "  yes        受理投诉（电话），类别：harassment  Complaint received by phone, category "
        "harassment"
    )
    assert lines[3].endswith(
        "  yes        初步判断：一般，类别：harassment    Triaged as normal, category harassment"
    )


def test_csv_writes_booleans_as_json_does(assigned: str) -> None:
    listed = run(assigned, "list", "--format", "csv").stdout.splitlines()
    trail = run(assigned, "audit", "D", "--format", "csv").stdout.splitlines()
    as_json = json.loads(run(assigned, "audit", "D", "--format", "json").stdout)

    header = listed[0].split(",")
    assert {row.split(",")[header.index("escalated")] for row in listed[1:]} == {"false"}
    assert trail[0].endswith(",backdated,actor_method")
    assert [row.split(",")[-2:] for row in trail[1:]] == [["true", "asserted"]] * 2
    assert [row["backdated"] for row in as_json] == [True, True]


def test_report_stats_shows_the_handling_time_as_a_duration_and_money_to_the_fen(
    ledger_url: str,
) -> None:
    # Received Thu 24 Sep 16:00, closed Tue 29 Sep 09:00: 4 days 17 hours.
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-S")))
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-T", until="triage")))

    table = run(ledger_url, "report", "stats").stdout.splitlines()
    as_json = json.loads(run(ledger_url, "report", "stats", "--format", "json").stdout)

    assert table[0].split()[8:] == ["median", "handling", "refund_total", "mean_satisfaction"]
    assert table[2].split() == ["2026-09", "phone", "harassment", "normal", "2", "1", "1", "0",
                                "4d", "17h", "00m", "120.50", "-"]  # fmt: skip
    assert as_json[0]["median_handling_hours"] == 113.0


def doctored(data: dict[str, object], **raw: str) -> Envelope:
    """The command ``data``, checked, then given the ``raw`` field values (``model_copy`` does
    not validate again): what data written before such characters were refused looks like."""
    return parse_command(data).model_copy(update=raw)


def evil_ledger(url: str) -> None:
    """A complaint whose free text holds terminal escape sequences."""
    commands = [
        doctored(receive_cmd("TS-X"), content=EVIL, collector=EVIL),
        doctored(step("TS-X", "add_note", "2026-09-24T16:30:00+08:00", text="备注"), text=EVIL),
        doctored(
            step("TS-X", "triage", "2026-09-24T16:40:00+08:00", severity="normal",
                 category="x", assessment="一般"),
            category=EVIL,
            assessment=EVIL,
        ),
        doctored(step("TS-X", "assign", "2026-09-24T16:45:00+08:00", handler="zhao",
                      team="处置一组"), handler=EVIL),
    ]  # fmt: skip
    with open_ledger(url) as ledger:
        for command in commands:
            handle(ledger, command)


@pytest.mark.parametrize(
    "args",
    [
        ["show", "TS-X"],
        ["history", "TS-X"],
        ["audit", "TS-X"],
        ["list"],
        ["report", "stats"],
        ["report", "sla", "--as-of", "2026-09-30T00:00:00+08:00"],
    ],
    ids=["show", "history", "audit", "list", "stats", "sla"],
)
def test_escape_sequences_in_stored_text_never_reach_the_terminal_raw(
    ledger_url: str, args: list[str]
) -> None:
    evil_ledger(ledger_url)

    result = run(ledger_url, *args)

    assert result.exit_code == 0, result.stderr
    assert not {"\x1b", "\x07", "\r", "\u202e"} & set(result.stdout)
    assert SHOWN in result.stdout


def test_json_output_keeps_the_stored_text_exactly(ledger_url: str) -> None:
    evil_ledger(ledger_url)

    shown = json.loads(run(ledger_url, "show", "TS-X", "--format", "json").stdout)
    story = json.loads(run(ledger_url, "history", "TS-X", "--format", "json").stdout)

    assert (shown["content"], shown["collector"], shown["category"]) == (EVIL, EVIL, EVIL)
    assert story["events"][1]["fields"]["text"] == EVIL
