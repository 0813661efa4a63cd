"""The shared field kinds of the command models: control characters, times, references."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from commands.errors import describe_validation_error
from commands.fields import ID_NUMBER_PATTERN, PHONE_PATTERN
from commands.models import COMMAND_NAMES, ComplainantIn, parse_command
from commands.readiness_models import READINESS_COMMANDS
from commands.staff_models import STAFF_COMMANDS
from ledger.domain.text import fold_width
from tests.helpers import actor, life_cmds, receive_cmd


def refusal(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_command(data)
    return describe_validation_error(caught.value)


def a_command_of_each_kind() -> dict[str, dict[str, Any]]:
    """A valid command of every kind that names a complaint."""
    steps = {c["command"]: c for c in life_cmds("TS-1")}
    lead = actor("leadership", "chen")
    more = [
        {"command": "escalate", "reason": "x"},
        {"command": "contact", "channel": "phone", "reached": True, "summary": "x"},
        {"command": "record_callback", "satisfaction": 4},
        {"command": "reopen", "reason": "x"},
        {"command": "withdraw", "reason": "x"},
        {"command": "extend", "clock": "regulatory", "days": 15, "reason": "x",
         "approved_by": "chen", "actor": lead},
        {"command": "pause", "reason": "x"},
        {"command": "resume", "reason": "x"},
        {"command": "add_note", "text": "x"},
        {"command": "reply_regulator", "summary": "x"},
        {"command": "link", "other": "TS-2", "reason": "x"},
        {"command": "erase", "reason": "x", "actor": lead},
        {"command": "acknowledge", "actor": lead},
        {"command": "instruct", "text": "x", "actor": lead},
        {"command": "sign_off", "text": "x", "actor": lead},
        {"command": "record_accountability", "staff": "wang", "finding": "x", "decision": "x",
         "actor": lead},
        {"command": "add_improvement", "action": "x", "owner": "wang", "due": "2026-10-31",
         "actor": actor("handling_team", "wang")},
        {"command": "complete_improvement", "improvement_id": "1"},
        {"command": "attach", "sha256": "ab" * 32, "size": 10, "kind": "recording",
         "location": "sha256/ab/" + "ab" * 31},
        {"command": "correct", "event": 2, "corrected_occurred_at": "2026-09-24T16:30:00+08:00",
         "reason": "x", "approved_by": "chen", "actor": lead},
        {"command": "record_alert", "rule": "escalated", "clock": "escalated@3",
         "recipient": "chen", "address": "chen@example.com", "channel": "email",
         "actor": actor("operator", "alerts")},
    ]  # fmt: skip
    for step in more:
        steps[step["command"]] = {
            "command_id": f"c-{step['command']}", "ref": "TS-1",
            "actor": actor("customer_service"), **step,
        }  # fmt: skip
    return steps


COMMANDS = a_command_of_each_kind()


def test_every_command_that_names_a_complaint_is_covered() -> None:
    publications = {"publish_policy", "publish_codes", "publish_calendar"}
    named = set(COMMAND_NAMES) - publications - set(STAFF_COMMANDS)
    assert set(COMMANDS) == named - set(READINESS_COMMANDS)  # training and drills name none


@pytest.mark.parametrize("ref", ["", " ", "\t"], ids=["empty", "space", "tab"])
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_an_empty_or_blank_reference_is_refused_on_every_command(name: str, ref: str) -> None:
    assert refusal({**COMMANDS[name], "ref": ref}) == (
        "ref: String should have at least 1 character"
    )


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("category", "a\x00b", "category"),
        ("collector", "a\x01b", "collector"),
        ("account_ref", "a\x1fb", "account_ref"),
        ("referral_number", "a\x7fb", "referral_number"),
        ("tags", ["ok", "a\x85b"], "tags.1"),
        ("complainant", {"name": "a\x9fb"}, "complainant.name"),
        ("complainant", {"address": "a\x1bb"}, "complainant.address"),
        ("actor", {"id": "a\x00b", "role": "customer_service"}, "actor.id"),
        ("command_id", "a\x00b", "command_id"),
        ("content", "a\x00b", "content"),
        ("content", "a\x1b[2Jb", "content"),
    ],
)
def test_control_characters_are_refused_naming_the_field(
    field: str, value: Any, where: str
) -> None:
    message = refusal(receive_cmd("TS-1", **{field: value}))

    assert message.startswith(f"{where}: holds the control character U+")
    assert message.endswith(" at character 2, which is not allowed")


@pytest.mark.parametrize("field", ["category", "collector", "account_ref", "command_id"])
@pytest.mark.parametrize("char", ["\n", "\t", "\r"], ids=["LF", "TAB", "CR"])
def test_one_line_fields_refuse_line_breaks_and_tabs(field: str, char: str) -> None:
    message = refusal(receive_cmd("TS-1", **{field: f"a{char}b"}))

    assert message == (
        f"{field}: holds a line break or tab (U+{ord(char):04X}) at character 2; only free "
        "text (content, reasons, notes, findings) may span lines"
    )


@pytest.mark.parametrize(
    ("name", "field"),
    [("receive", "content"), ("triage", "assessment"), ("record_findings", "findings"),
     ("close", "root_cause"), ("add_note", "text"), ("escalate", "reason")],
)  # fmt: skip
def test_free_text_keeps_line_breaks_and_tabs(name: str, field: str) -> None:
    data = COMMANDS.get(name) or receive_cmd("TS-1")

    command = parse_command({**data, field: "第一行\r\n\t第二行\n第三行"})

    assert getattr(command, field) == "第一行\r\n\t第二行\n第三行"


def test_documents_keep_their_lines() -> None:
    text = "version = 'x'\r\n\t[clocks]\n"

    command = parse_command(
        {"command": "publish_policy", "command_id": "p", "actor": actor("leadership"),
         "text": text, "format": "toml"}
    )  # fmt: skip

    assert command.text == text.strip()


def test_a_document_with_an_escape_character_is_refused() -> None:
    message = refusal({"command": "publish_calendar", "command_id": "c",
                       "actor": actor("leadership"), "year": 2026, "text": "a\x1bb"})  # fmt: skip

    assert (
        message
        == "text: holds the control character U+001B (ESC) at character 2, which is not allowed"
    )


@pytest.mark.parametrize(
    "value",
    [1764400000, 1764400000.5, True, "1764400000", " 1764400000 ", "-5", "1.5e9", [2026], {}],
    ids=["int", "float", "bool", "digits", "spaced digits", "negative", "exponent", "list", "dict"],
)
@pytest.mark.parametrize("field", ["received_at", "occurred_at"])
def test_a_time_must_be_an_iso_8601_string_not_a_number(field: str, value: Any) -> None:
    message = refusal(receive_cmd("TS-1", **{field: value}))

    assert message.startswith(f"{field}: ")
    assert "ISO 8601 time" in message


@pytest.mark.parametrize(
    "value",
    ["0001-01-01T00:00:00+00:00", "1900-01-01T00:00:00+08:00", "1999-12-31T23:59:59+08:00",
     "1999-12-31T15:59:59Z"],
)  # fmt: skip
def test_times_before_2000_in_shanghai_are_refused(value: str) -> None:
    message = refusal(receive_cmd("TS-1", received_at=value, occurred_at=None))

    assert message == (
        f"received_at: {datetime.fromisoformat(value).isoformat()} is before 2000-01-01 "
        "(Shanghai time), the earliest time the ledger records"
    )


def test_the_first_moment_of_2000_in_shanghai_is_accepted() -> None:
    command = parse_command(
        receive_cmd("TS-1", received_at="1999-12-31T16:00:00Z", occurred_at=None)
    )

    assert command.received_at == datetime(1999, 12, 31, 16, tzinfo=UTC)


def test_a_policy_cannot_take_effect_after_2100() -> None:
    message = refusal({"command": "publish_policy", "command_id": "p",
                       "actor": actor("leadership"), "text": "x", "format": "toml",
                       "effective_from": "2101-01-01T00:00:00+08:00"})  # fmt: skip

    assert message == (
        "effective_from: 2101-01-01T00:00:00+08:00 is after 2100-12-31 (Shanghai time), "
        "the latest time the ledger records"
    )


def test_an_iso_time_with_surrounding_spaces_is_read() -> None:
    command = parse_command(receive_cmd("TS-1", received_at=" 2026-09-24T16:00:00+08:00 "))

    assert command.received_at == datetime(2026, 9, 24, 8, tzinfo=UTC)


def test_the_checks_change_no_value_so_resubmissions_keep_their_fingerprint() -> None:
    command = parse_command(
        {"command": "add_note", "command_id": "n1", "ref": "TS-1",
         "actor": actor("customer_service"), "occurred_at": "2026-09-24T16:00:00+08:00",
         "text": " 第一行\n第二行 "}
    )  # fmt: skip

    assert command.model_dump_json() == (
        '{"command_id":"n1","actor":{"id":"li","role":"customer_service"},'
        '"occurred_at":"2026-09-24T16:00:00+08:00","ref":"TS-1","command":"add_note",'
        '"text":"第一行\\n第二行"}'
    )


def _with_complainant(**fields: str) -> dict[str, Any]:
    cmd = receive_cmd("TS-1")
    cmd["complainant"] = {**cmd["complainant"], **fields}
    return cmd


@pytest.mark.parametrize(
    "fields",
    [
        {"phone": "＋８６\u3000１３８－１２３４－５６７８"},
        {"phone": "138\u20141234\u22125678"},
        {"id_number": "11010519491231002\uff38"},
    ],
)
def test_what_chinese_input_methods_type_is_accepted(fields: dict[str, str]) -> None:
    parse_command(_with_complainant(**fields))


@pytest.mark.parametrize(
    "fields",
    [
        # Look-alikes NFKC would turn into digits or letters; no input method types them
        # for a phone or an ID number, and they would match a real one in the index.
        {"phone": "①③⑧⓪⓪①③⑧⓪⓪⓪"},
        {"phone": "¹³⁸⁰⁰¹³⁸⁰⁰⁰"},
        {"phone": "₁₃₈₀₀₁₃₈₀₀₀"},
        {"phone": "𝟏𝟑𝟖𝟎𝟎𝟏𝟑𝟖𝟎𝟎𝟎"},
        {"phone": "1⑴234"},
        {"id_number": "™™™™"},
        {"id_number": "ⅫⅪⅫ"},
        {"id_number": "㎏㎏"},
    ],
)
def test_look_alike_digits_and_letters_are_refused(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        parse_command(_with_complainant(**fields))


def test_the_schema_shows_the_patterns_of_a_phone_and_an_id_number() -> None:
    """Clients (and the HTTP fuzz test) read what is accepted from /openapi.json; the
    pattern admits the full-width forms the fields accept."""
    properties = ComplainantIn.model_json_schema()["properties"]
    phone = re.compile(properties["phone"]["anyOf"][0]["pattern"])
    id_number = re.compile(properties["id_number"]["anyOf"][0]["pattern"])

    assert phone.search("+86 138-1234-5678")
    assert phone.search("＋８６\u3000１３８－１２３４－５６７８")
    assert not phone.search("①③⑧⓪⓪①③⑧⓪⓪⓪")
    assert id_number.search("11010519491231002\uff38")
    assert not id_number.search("™™™™")


@pytest.mark.parametrize(
    "typed",
    [chr(c) for c in range(0x20, 0x7F)]
    + [chr(c) for c in range(0xFF01, 0xFF5F)]
    # the ideographic space, dashes, and look-alikes that must not count
    + list("\u3000\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63①¹₁𝟏™Ⅻ㎏⑴\u00a0"),
)
def test_the_schema_pattern_accepts_what_the_field_accepts(typed: str) -> None:
    """Each character, put into a phone and an ID number, is accepted by the field exactly
    when the schema's pattern admits it, and when the value folded as the blind index folds
    it matches the half-width pattern."""
    properties = ComplainantIn.model_json_schema()["properties"]
    for field, value, half in (
        ("phone", f"138{typed}1234", PHONE_PATTERN),
        ("id_number", f"1101{typed}002X", ID_NUMBER_PATTERN),
    ):
        pattern = re.compile(properties[field]["anyOf"][0]["pattern"])
        try:
            ComplainantIn(**{field: value})
            accepted = True
        except ValidationError:
            accepted = False
        assert accepted == bool(pattern.search(value)), (field, value)
        assert accepted == bool(re.fullmatch(half, fold_width(value))), (field, value)


def test_a_refused_full_width_value_is_told_that_full_width_is_accepted() -> None:
    wide = refusal(_with_complainant(phone="１３８＊１２３４"))
    plain = refusal(_with_complainant(phone="138*1234"))

    assert wide.startswith("complainant.phone: String should match pattern")
    assert "full-width digits" in wide
    assert "full-width digits and letters" in refusal(_with_complainant(id_number="１１０＋"))
    assert plain == r"complainant.phone: String should match pattern '^\+?[0-9][0-9 ()-]{2,30}$'"
