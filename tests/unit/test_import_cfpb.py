"""The CFPB mapping, on small CSV fixtures written in the export's format (no database)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest

from commands.importers.cfpb import COLUMNS, FilteredOut, complaint_commands, read_rows
from commands.importers.records import Rejection, Row
from commands.models import MAX_CONTENT, MAX_TEXT
from ledger.domain.errors import ImportFileInvalid

FIXTURES = Path(__file__).parents[1] / "fixtures"


def rows_of(name: str, products: tuple[str, ...] = ()) -> list[Row | Rejection | FilteredOut]:
    with (FIXTURES / name).open(encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        return list(read_rows(f, name, products))


def fields(**changes: str) -> dict[str, str]:
    row = {
        "Date received": "2020-03-02",
        "Product": "Debt collection",
        "Sub-product": "Medical debt",
        "Issue": "Attempts to collect debt not owed",
        "Sub-issue": "Debt was paid",
        "Consumer complaint narrative": "They call about a bill I paid.",
        "Company public response": "",
        "Company": "ACME RECOVERY SERVICES LLC",
        "State": "TX",
        "ZIP code": "750XX",
        "Tags": "",
        "Consumer consent provided?": "Consent provided",
        "Submitted via": "Web",
        "Date sent to company": "2020-03-04",
        "Company response to consumer": "Closed with explanation",
        "Timely response?": "Yes",
        "Consumer disputed?": "N/A",
        "Complaint ID": "9100001",
    }
    row.update(changes)
    return row


def by_command(commands: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["command"]: c for c in commands}


def test_lines_before_the_header_are_skipped_and_records_are_numbered_by_their_first_line() -> None:
    rows = rows_of("cfpb_new.csv")

    assert [(r.line, r.ref) for r in rows if isinstance(r, Row)] == [
        (4, "CFPB-9100001"),
        (6, "CFPB-9100002"),
        (7, "CFPB-9100003"),
        (11, "CFPB-9100004"),
        (12, "CFPB-9100005"),
        (13, "CFPB-9100006"),
        (14, "CFPB-9100007"),
    ]


def test_a_multi_line_narrative_keeps_its_line_breaks() -> None:
    row = rows_of("cfpb_new.csv")[2]

    assert isinstance(row, Row)
    receive = row.commands[0].model_dump()
    assert receive["content"] == (
        "An account I never opened is on my report.\nI wrote to them twice.\n\nNothing changed."
    )


def test_the_old_export_with_us_dates_and_old_issue_names_is_read() -> None:
    rows = rows_of("cfpb_old.csv")

    assert [r.line for r in rows if isinstance(r, Row)] == [2, 3, 4, 5]
    first = rows[0]
    assert isinstance(first, Row)
    receive = first.commands[0].model_dump(mode="json")
    triage = first.commands[1].model_dump(mode="json")
    assert receive["received_at"] == "2016-09-13T00:00:00-04:00"
    assert triage["category"] == "Cont'd attempts collect debt not owed"


def test_a_cut_off_last_record_is_rejected_with_the_line_it_starts_on() -> None:
    rows = rows_of("cfpb_truncated.csv")

    assert [r.line for r in rows if isinstance(r, Row)] == [2, 3]
    assert rows[-1] == Rejection(
        4,
        "the record has 6 fields, the header 18 (a line break inside an unquoted field, "
        "or the file is cut off)",
    )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (3, "CFPB-9300011: Submitted via 'Carrier pigeon' is not one of 'Web', 'Referral', "),
        (4, "CFPB-9300012: Date received '2021-13-45' is not a date (YYYY-MM-DD or MM/DD/YYYY)"),
        (5, "CFPB-9300013: Date sent to company 2021-05-01 is before Date received 2021-05-10"),
        (6, "Complaint ID 'ABC' is not a number"),
        (7, "CFPB-9300015: Company response to consumer 'Closed with a smile' is not one of "),
        (8, "'Consumer complaint narrative' is not UTF-8 text (byte 0xff)"),
        (9, "the record has 17 fields, the header 18"),
        (10, "CFPB-9300018: Issue is empty"),
        (11, "CFPB-9300019: Timely response? 'Maybe' is not one of 'Yes', 'No'"),
        (12, "CFPB-9300020: collector: String should have at most 100 characters"),
    ],
)
def test_a_row_that_cannot_be_mapped_is_rejected_with_its_line_and_reason(
    line: int, reason: str
) -> None:
    rows = {r.line: r for r in rows_of("cfpb_bad_rows.csv")}

    rejected = rows[line]

    assert isinstance(rejected, Rejection)
    assert rejected.reason.startswith(reason)


def test_rows_around_rejected_ones_are_still_read() -> None:
    rows = rows_of("cfpb_bad_rows.csv")

    assert [r.ref for r in rows if isinstance(r, Row)] == ["CFPB-9300001", "CFPB-9300002"]
    assert sum(isinstance(r, Rejection) for r in rows) == 10


def test_the_product_filter_ignores_case_and_marks_other_rows_filtered() -> None:
    rows = rows_of("cfpb_new.csv", products=("debt COLLECTION",))

    assert [r.line for r in rows if isinstance(r, Row)] == [4, 6, 11, 12, 13]
    assert [r.line for r in rows if isinstance(r, FilteredOut)] == [7, 14]


def test_a_file_without_the_header_is_refused_as_a_whole() -> None:
    with pytest.raises(ImportFileInvalid, match="no header line starting with 'Date received'"):
        rows_of("cfpb_no_header.csv")


def test_a_header_without_a_needed_column_is_refused() -> None:
    header = ",".join(c for c in COLUMNS if c != "Timely response?")

    with pytest.raises(ImportFileInvalid, match="the header lacks 'Timely response\\?'"):
        list(read_rows(io.StringIO(header + "\n"), "x.csv"))


def test_a_byte_order_mark_before_the_header_is_ignored() -> None:
    text = "\ufeff" + (FIXTURES / "cfpb_old.csv").read_text(encoding="utf-8")

    rows = list(read_rows(io.StringIO(text, newline=""), "bom.csv"))

    assert len(rows) == 4


def test_a_final_response_gives_the_whole_history_in_rule_order() -> None:
    commands = complaint_commands(fields())

    assert [(c["command"], c["command_id"]) for c in commands[:-1]] == [
        ("receive", "cfpb-9100001-receive"),
        ("triage", "cfpb-9100001-triage"),
        ("record_findings", "cfpb-9100001-findings"),
        ("plan", "cfpb-9100001-plan"),
        ("execute", "cfpb-9100001-execute"),
        ("notify_outcome", "cfpb-9100001-notify-outcome"),
        ("close", "cfpb-9100001-close"),
    ]
    assert commands[-1]["command_id"].startswith("cfpb-9100001-note-")
    assert {c["ref"] for c in commands} == {"CFPB-9100001"}
    assert {(c["actor"]["id"], c["actor"]["role"]) for c in commands} == {
        ("cfpb-import", "handling_team")
    }


def test_receipt_is_the_start_of_the_cfpb_day_and_triage_the_day_it_was_sent() -> None:
    commands = by_command(complaint_commands(fields()))

    assert commands["receive"]["received_at"] == "2020-03-02T00:00:00-05:00"
    assert commands["receive"]["occurred_at"] == "2020-03-02T00:00:00-05:00"
    assert commands["triage"]["occurred_at"] == "2020-03-04T00:00:00-05:00"
    assert commands["close"]["occurred_at"] == "2020-03-04T00:00:00-05:00"
    assert "occurred_at" not in commands["add_note"]


def test_an_untimely_response_is_placed_after_the_fifteen_day_window() -> None:
    commands = by_command(complaint_commands(fields(**{"Timely response?": "No"})))

    assert commands["triage"]["occurred_at"] == "2020-03-04T00:00:00-05:00"
    for step in ("record_findings", "plan", "execute", "notify_outcome", "close"):
        assert commands[step]["occurred_at"] == "2020-03-20T00:00:00-04:00"
    assert "timely response: No" in commands["add_note"]["text"]


@pytest.mark.parametrize(
    ("response", "substantiated", "kind", "detail"),
    [
        ("Closed with explanation", "no", "explanation", "the company's explanation"),
        ("Closed with monetary relief", "partly", "other",
         "monetary relief; the CFPB publishes no amount"),
        ("Closed with non-monetary relief", "partly", "other",
         "non-monetary relief; the CFPB does not say which"),
        ("Closed with relief", "partly", "other", "relief; the CFPB does not say of which kind"),
        ("Closed without relief", "no", "other", "closed without relief"),
        ("Closed", "no", "other", "closed; no relief reported"),
    ],
)  # fmt: skip
def test_a_final_response_maps_to_findings_and_a_remedy_that_needs_no_amount(
    response: str, substantiated: str, kind: str, detail: str
) -> None:
    commands = by_command(complaint_commands(fields(**{"Company response to consumer": response})))

    assert commands["record_findings"]["substantiated"] == substantiated
    assert commands["plan"]["remedies"] == [{"kind": kind, "detail": detail}]
    assert commands["notify_outcome"]["channel"] == "web"
    assert "close" in commands


@pytest.mark.parametrize("response", ["In progress", "Untimely response", ""])
def test_a_response_that_is_not_final_leaves_the_complaint_open_after_triage(
    response: str,
) -> None:
    commands = complaint_commands(fields(**{"Company response to consumer": response}))

    assert [c["command"] for c in commands] == ["receive", "triage", "add_note"]
    assert "the earliest moment" not in commands[-1]["text"]


@pytest.mark.parametrize(
    ("submitted_via", "channel"),
    [
        ("Web", "web"),
        ("Referral", "regulator_referral"),
        ("Web Referral", "regulator_referral"),
        ("Phone", "phone"),
        ("Postal mail", "letter"),
        ("Fax", "letter"),
        ("Email", "email"),
    ],
)
def test_submitted_via_maps_to_a_channel(submitted_via: str, channel: str) -> None:
    commands = by_command(complaint_commands(fields(**{"Submitted via": submitted_via})))

    assert commands["receive"]["channel"] == channel
    assert commands["receive"]["referral_number"] == "9100001"
    assert f"submitted via {submitted_via};" in commands["add_note"]["text"]


def test_product_is_the_category_at_receipt_and_issue_the_category_at_triage() -> None:
    commands = by_command(complaint_commands(fields(Tags="Older American, Servicemember")))

    assert commands["receive"]["category"] == "Debt collection"
    assert commands["receive"]["tags"] == ["Medical debt", "Older American", "Servicemember"]
    assert commands["receive"]["collector"] == "ACME RECOVERY SERVICES LLC"
    assert commands["triage"]["category"] == "Attempts to collect debt not owed"
    assert commands["triage"]["assessment"] == (
        "The CFPB sent the complaint to ACME RECOVERY SERVICES LLC on 2020-03-04. "
        "Product: Debt collection; sub-product: Medical debt; "
        "issue: Attempts to collect debt not owed; sub-issue: Debt was paid."
    )


@pytest.mark.parametrize(
    ("state", "zip_code", "complainant"),
    [
        ("TX", "750XX", {"address": "TX 750XX"}),
        ("TX", "", {"address": "TX"}),
        ("", "75001", {"address": "75001"}),
        ("", "", {}),
    ],
)
def test_state_and_zip_are_the_complainants_address(
    state: str, zip_code: str, complainant: dict[str, str]
) -> None:
    commands = by_command(complaint_commands(fields(State=state, **{"ZIP code": zip_code})))

    assert commands["receive"]["complainant"] == complainant


def test_without_a_narrative_the_content_says_so_and_names_the_issue() -> None:
    commands = by_command(complaint_commands(fields(**{"Consumer complaint narrative": "  "})))

    assert commands["receive"]["content"] == (
        "The CFPB publishes no narrative for this complaint. "
        "Issue: Attempts to collect debt not owed; sub-issue: Debt was paid."
    )


def test_a_narrative_over_the_content_limit_continues_in_notes_and_loses_no_word() -> None:
    words = [f"word{i}" for i in range(2_000)]  # about 17,000 characters
    narrative = "\n".join(words)

    commands = complaint_commands(fields(**{"Consumer complaint narrative": narrative}))

    content = commands[0]["content"]
    notes = [c for c in commands if c["command_id"].startswith("cfpb-9100001-narrative-")]
    assert len(content) <= MAX_CONTENT
    assert [n["command_id"] for n in notes] == [
        "cfpb-9100001-narrative-2",
        "cfpb-9100001-narrative-3",
    ]
    assert notes[0]["text"].startswith("Narrative, continued (2 of 3): ")
    assert notes[1]["text"].startswith("Narrative, continued (3 of 3): ")
    assert all(len(n["text"]) <= MAX_TEXT for n in notes)
    parts = [content] + [n["text"].split("): ", 1)[1] for n in notes]
    assert " ".join(parts).split() == words


def test_the_note_keeps_the_cfpb_fields_verbatim_and_its_id_follows_its_text() -> None:
    first = complaint_commands(fields())[-1]
    disputed = complaint_commands(fields(**{"Consumer disputed?": "Yes"}))[-1]

    assert first["text"].startswith(
        "CFPB complaint 9100001: submitted via Web; sent to the company on 2020-03-04; "
        "company response: Closed with explanation; timely response: Yes; company public "
        "response: blank; consumer disputed: N/A; consent to publish the narrative: "
        "Consent provided. The CFPB publishes no date for the response: it is recorded at "
        "2020-03-04T00:00:00-05:00"
    )
    assert "consumer disputed: Yes" in disputed["text"]
    assert first["command_id"] != disputed["command_id"]


def test_the_same_row_always_gives_the_same_commands() -> None:
    # Another interpreter, with other hash seeds and a later clock, must agree: ids or times
    # taken from the clock, a random source or Python's per-process hash() would not.
    program = (
        "import json, sys; from commands.importers.cfpb import complaint_commands; "
        "print(json.dumps(complaint_commands(json.loads(sys.argv[1]))))"
    )
    elsewhere = subprocess.run(
        [sys.executable, "-c", program, json.dumps(fields())],
        capture_output=True,
        check=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        cwd=Path(__file__).parents[2],
    )

    here = complaint_commands(fields())

    assert json.loads(elsewhere.stdout) == json.loads(json.dumps(here))
    assert [(c["command_id"], c.get("occurred_at")) for c in here] == [
        ("cfpb-9100001-receive", "2020-03-02T00:00:00-05:00"),
        ("cfpb-9100001-triage", "2020-03-04T00:00:00-05:00"),
        ("cfpb-9100001-findings", "2020-03-04T00:00:00-05:00"),
        ("cfpb-9100001-plan", "2020-03-04T00:00:00-05:00"),
        ("cfpb-9100001-execute", "2020-03-04T00:00:00-05:00"),
        ("cfpb-9100001-notify-outcome", "2020-03-04T00:00:00-05:00"),
        ("cfpb-9100001-close", "2020-03-04T00:00:00-05:00"),
        (f"cfpb-9100001-note-{sha256(here[-1]['text'].encode()).hexdigest()[:12]}", None),
    ]
