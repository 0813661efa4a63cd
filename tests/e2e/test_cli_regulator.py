"""Regulator referrals (issue 15, item 4) through the command line and JSON Lines, on SQLite
and PostgreSQL: ``reply-regulator`` and its clock, ``report regulator`` against hand-written
SQL over the read models, the report as of a moment from the log, refusals that append
nothing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from commands.synthetic import lifecycles
from projections.query import open_query
from projections.regulator import Quarter
from tests.helpers import actor, jsonl, ok, receive_cmd, refused, run

TEAM = ["--actor", "wang", "--role", "handling_team"]
UNTIL = datetime.fromisoformat("2026-10-20T00:00:00+08:00")


def referral(ref: str, number: str = "12378-20260801-0001") -> dict[str, Any]:
    return receive_cmd(ref, channel="regulator_referral", referral_number=number,
                       received_at="2026-08-01T10:00:00+08:00",
                       occurred_at="2026-08-01T10:20:00+08:00")  # fmt: skip


def reply_clock(url: str, ref: str) -> dict[str, Any]:
    shown = json.loads(
        ok(url, "sla", ref, "--as-of", "2026-09-01T00:00:00+08:00", "--format", "json")
    )
    return next(c for c in shown if c["clock"] == "regulator_reply")


def test_a_reply_stops_the_regulator_reply_clock_and_a_late_one_stays_breached(
    ledger_url: str,
) -> None:
    ok(ledger_url, "apply", "-", input=jsonl([referral("TS-R1"), referral("TS-R2"),
                                              referral("TS-R3")]))  # fmt: skip

    ok(ledger_url, "reply-regulator", "TS-R1", "--summary", "已核实并书面答复",
       "--occurred-at", "2026-08-10T09:00:00+08:00", *TEAM)  # fmt: skip
    late = {"command": "reply_regulator", "command_id": "r2-reply", "ref": "TS-R2",
            "actor": actor("handling_team", "wang"), "summary": "逾期答复",
            "occurred_at": "2026-08-20T09:00:00+08:00"}  # fmt: skip
    assert (
        ok(ledger_url, "apply", "-", input=jsonl([late]))
        == "applied 1, already applied 0, failed 0\n"
    )

    on_time, breached, unanswered = (
        reply_clock(ledger_url, r) for r in ("TS-R1", "TS-R2", "TS-R3")
    )
    assert on_time["status"] == "met"
    assert on_time["due_at"] == "2026-08-16T16:00:00+00:00"  # 15 calendar days, Shanghai
    assert breached["status"] == "breached"
    assert breached["late_by_seconds"] == 3 * 86400 + 9 * 3600
    assert unanswered["status"] == "overdue"
    # The summary is sealed like a note: history opens it for a reader with the key.
    events = json.loads(ok(ledger_url, "history", "TS-R1", "--format", "json"))["events"]
    replied = next(e for e in events if e["event"] == "RegulatorReplied")
    assert replied["fields"]["summary"] == "已核实并书面答复"
    # Erasure destroys its key: the summary cannot be read again.
    ok(ledger_url, "erase", "TS-R1", "--reason", "保存期满", "--actor", "chen", "--role",
       "leadership")  # fmt: skip
    events = json.loads(ok(ledger_url, "history", "TS-R1", "--format", "json"))["events"]
    replied = next(e for e in events if e["event"] == "RegulatorReplied")
    assert replied["fields"]["summary"] == "[erased]"


def test_a_reply_to_a_complaint_that_is_no_referral_is_refused_and_appends_nothing(
    ledger_url: str,
) -> None:
    ok(ledger_url, "apply", "-", input=jsonl([receive_cmd("TS-P1")]))

    line = refused(ledger_url, "reply-regulator", "TS-P1", "--summary", "x", *TEAM)
    reply = {"command": "reply_regulator", "command_id": "p1-reply", "ref": "TS-P1",
             "actor": actor("handling_team", "wang"), "summary": "x"}  # fmt: skip
    bulk = run(ledger_url, "apply", "-", input=jsonl([reply]))

    assert line == (
        "Error: TS-P1 was received by phone, not as a regulator_referral with a referral "
        "number; there is no regulator to reply to"
    )
    assert bulk.exit_code == 1
    assert "no regulator to reply to" in bulk.stderr
    refused(ledger_url, "reply-regulator", "TS-P1", "--summary", "x", "--actor", "li",
            "--role", "customer_service")  # fmt: skip


def test_a_quarter_that_does_not_exist_is_refused(ledger_url: str) -> None:
    ok(ledger_url, "apply", "-", input=jsonl([referral("TS-Q1")]))

    line = refused(ledger_url, "report", "regulator", "--quarter", "2026Q5")

    assert line == "Error: --quarter: '2026Q5' is not a quarter like 2026Q3 (a year, Q, and 1 to 4)"


@pytest.mark.parametrize("quarter", ["0000Q1", "9999Q4"])
def test_a_quarter_beyond_the_calendar_is_refused_without_a_traceback(
    ledger_url: str, quarter: str
) -> None:
    """Year 0 has no first day and 9999Q4 no day after its last: one Error line, as for
    2026Q5 (they raised ValueError from datetime.date)."""
    ok(ledger_url, "apply", "-", input=jsonl([referral("TS-Q1")]))

    line = refused(ledger_url, "report", "regulator", "--quarter", quarter)

    assert line.startswith(f"Error: --quarter: '{quarter}' is not a quarter like 2026Q3"), line


def _generated(count: int, seed: int) -> list[dict[str, Any]]:
    commands = []
    for n, life in enumerate(
        lifecycles(count, UNTIL, seed=seed, days=120, addressed=True, replies=True), start=1
    ):
        ref = f"RG-{seed}-{n:04d}"
        commands += [{**life.receive, "ref": ref}, *life.with_ref(ref)]
    return commands


def _hand_written(url: str, quarter: Quarter, as_of: datetime) -> dict[str, Any]:
    """The report's totals by plain SQL over the read models, written out here."""
    start, end = "2026-06-30T16:00:00.000000+00:00", "2026-09-30T16:00:00.000000+00:00"
    m = as_of.astimezone(UTC).isoformat(timespec="microseconds")
    q = " received_at >= ? AND received_at < ?"
    with open_query(url, catch_up=False) as query, query.transaction() as cur:
        received = cur.tuples("SELECT COUNT(*) FROM {case_state} WHERE" + q, [start, end])
        channels = cur.tuples("SELECT channel, COUNT(*) FROM {case_state} WHERE" + q
                              + " GROUP BY channel", [start, end])  # fmt: skip
        outcomes = cur.tuples("SELECT status, COUNT(*) FROM {case_state} WHERE" + q
                              + " GROUP BY status", [start, end])  # fmt: skip
        handling = cur.tuples("SELECT COUNT(*), AVG(handling_seconds) FROM {case_state} WHERE"
                              + q + " AND closed_at <= ? AND handling_seconds IS NOT NULL",
                              [start, end, m])  # fmt: skip
        met = cur.tuples("SELECT COUNT(*) FROM {sla_clocks} WHERE" + q + " AND met_at <= ?"
                         " AND late_seconds = 0 AND clock = 'intake'", [start, end, m])  # fmt: skip
        replies = cur.tuples("SELECT COUNT(*) FROM {sla_clocks} WHERE" + q
                             + " AND clock = 'regulator_reply' AND met_at <= ?",
                             [start, end, m])  # fmt: skip
        overdue = cur.tuples("SELECT COUNT(*) FROM {sla_clocks} WHERE" + q
                             + " AND clock = 'regulator_reply' AND met_at IS NULL"
                             " AND (ended_at IS NULL OR cancelled = 0) AND due_at < ?",
                             [start, end, m])  # fmt: skip
    return {
        "received": int(received[0][0]),
        "by_channel": {c: int(n) for c, n in channels},
        "by_outcome": {s: int(n) for s, n in outcomes},
        "closed": int(handling[0][0]),
        "mean_hours": round(float(handling[0][1]) / 3600, 2),
        "intake_met": int(met[0][0]),
        "replied": int(replies[0][0]),
        "overdue": int(overdue[0][0]),
    }


def test_the_report_totals_equal_hand_written_sql_and_the_log_replayed_agrees(
    ledger_url: str,
) -> None:
    ok(ledger_url, "apply", "--bulk", "-", input=jsonl(_generated(120, 15)))
    moment = datetime.now(UTC)

    shown = json.loads(ok(ledger_url, "report", "regulator", "--quarter", "2026Q3",
                          "--format", "json"))  # fmt: skip
    hand = _hand_written(ledger_url, Quarter(2026, 3), datetime.fromisoformat(shown["as_of"]))
    with open_query(ledger_url) as query:
        from_models = query.regulator_report(Quarter(2026, 3), moment)
        from_log = query.regulator_report(Quarter(2026, 3), moment, from_log=True)

    assert shown["source"] == "read_models"
    assert shown["received"] == hand["received"] > 50
    assert {r["channel"]: r["count"] for r in shown["by_channel"]} == hand["by_channel"]
    assert {r["outcome"]: r["count"] for r in shown["by_outcome"]} == hand["by_outcome"]
    assert shown["by_code"] == [{"code": "unclassified", "count": hand["received"]}]
    assert shown["handling_time"]["closed"] == hand["closed"]
    assert shown["handling_time"]["mean"] == hand["mean_hours"]
    intake = next(c for c in shown["clocks"] if c["clock"] == "intake")
    assert intake["met"] == hand["intake_met"]
    assert shown["referrals"]["replied"] == hand["replied"] > 0
    assert shown["referrals"]["overdue"] == hand["overdue"] > 0
    assert shown["referrals"]["replied_late"] > 0
    assert from_log == from_models


def test_as_of_a_moment_the_report_counts_only_what_was_recorded_by_then(
    ledger_url: str, second_url: str
) -> None:
    commands = _generated(60, 16)
    refs = sorted({c["ref"] for c in commands})
    first = [c for c in commands if c["ref"] in refs[:30]]
    rest = [c for c in commands if c["ref"] not in refs[:30]]
    ok(ledger_url, "apply", "--bulk", "-", input=jsonl(first))
    ok(second_url, "apply", "--bulk", "-", input=jsonl(first))
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    ok(ledger_url, "apply", "--bulk", "-", input=jsonl(rest))

    then = json.loads(ok(ledger_url, "report", "regulator", "--quarter", "2026Q3",
                         "--as-of", moment.isoformat(), "--format", "json"))  # fmt: skip
    now = json.loads(ok(ledger_url, "report", "regulator", "--quarter", "2026Q3",
                        "--format", "json"))  # fmt: skip
    with open_query(second_url) as query:
        only_first = query.regulator_report(Quarter(2026, 3), moment)

    assert then["source"] == "ledger"
    assert {k: v for k, v in then.items() if k not in ("source", "lag")} == only_first
    assert then["received"] < now["received"]


def test_by_code_groups_by_the_regulator_cause_code_and_the_rest_is_unclassified(
    ledger_url: str,
) -> None:
    from tests.e2e.test_cli_codes import EXAMPLE, coded_life, publish

    publish(ledger_url, EXAMPLE)
    for ref, triage, close in (("TS-A", "C02", "C04"), ("TS-B", "C03", None),
                               ("TS-C", None, None), ("TS-D", "C99", None)):  # fmt: skip
        ok(ledger_url, "apply", "-", input=jsonl(coded_life(ref, triage, close)))
    moment = datetime.now(UTC)

    shown = json.loads(ok(ledger_url, "report", "regulator", "--quarter", "2026Q3",
                          "--as-of", moment.isoformat(), "--format", "json"))  # fmt: skip
    with open_query(ledger_url) as query:
        from_models = query.regulator_report(Quarter(2026, 3), moment)
        with query.transaction() as cur:
            hand = cur.tuples(
                "SELECT COALESCE(regulator_cause_code, 'unclassified'), COUNT(*)"
                " FROM {case_state} GROUP BY COALESCE(regulator_cause_code, 'unclassified')"
            )

    expected = [{"code": "10", "count": 1}, {"code": "11", "count": 1},
                {"code": "unclassified", "count": 2}]  # fmt: skip
    assert shown["by_code"] == expected  # replayed from the log, as of the moment
    assert from_models["by_code"] == expected
    assert sorted((c, int(n)) for c, n in hand) == [(e["code"], e["count"]) for e in expected]


def test_a_referral_withdrawn_after_its_deadline_without_a_reply_is_no_reply(
    ledger_url: str,
) -> None:
    """Its regulator_reply clock is breached (the deadline lapsed), but the company never
    replied: it was counted as replied_late. It is overdue (no reply, past the deadline),
    so referred = replied + overdue + awaiting + cancelled still holds."""
    withdraw = {"command": "withdraw", "command_id": "w1-withdraw", "ref": "TS-W1",
                "actor": actor("customer_service", "li"), "reason": "客户撤诉",
                "occurred_at": "2026-08-25T09:00:00+08:00"}  # fmt: skip
    ok(ledger_url, "apply", "-", input=jsonl([referral("TS-W1"), withdraw]))
    assert reply_clock(ledger_url, "TS-W1")["status"] == "breached"  # the verdict stays

    for as_of in ([], ["--as-of", datetime.now(UTC).isoformat()]):
        report = json.loads(ok(ledger_url, "report", "regulator", "--quarter", "2026Q3",
                               *as_of, "--format", "json"))  # fmt: skip
        assert report["referrals"] == {
            "referred": 1, "replied": 0, "replied_on_time": 0, "replied_late": 0,
            "overdue": 1, "awaiting": 0, "cancelled": 0,
        }  # fmt: skip
        clock = next(c for c in report["clocks"] if c["clock"] == "regulator_reply")
        assert (clock["breached"], clock["overdue"]) == (1, 0)  # a lapsed clock, not running
