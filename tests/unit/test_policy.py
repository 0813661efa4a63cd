"""Policy documents: parsing, validation messages, stored copies, and extension limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.domain.errors import ExtensionRefused, PolicyInvalid
from ledger.domain.policy import (
    DEFAULT_POLICY,
    ClockRule,
    check_extension,
    parse_policy,
    policy_from_dict,
    policy_to_dict,
)
from ledger.domain.values import ClockName

EXAMPLE = Path(__file__).parents[2] / "docs" / "policy-example.toml"

CLOCKS_TOML = """
[clocks.intake]
limit = 2
unit = "hours"
[clocks.investigation]
limit = 48
unit = "hours"
pausable = true
extension_steps = [2]
[clocks.plan]
limit = 3
unit = "working_days"
[clocks.execution]
limit = 10
unit = "working_days"
[clocks.summary]
limit = 20
unit = "working_days"
[clocks.regulatory]
limit = 15
unit = "working_days"
extension_steps = [15, 30]
"""

YAML = """
version: acme-2026.2
timezone: Asia/Urumqi
at_risk_share: 0.5
clocks:
  intake: {limit: 1, unit: hours}
  investigation: {limit: 24, unit: hours}
  plan: {limit: 48, unit: hours}
  execution: {limit: 7, unit: working_days, pausable: true}
  summary: {limit: 15, unit: working_days}
  regulatory: {limit: 15, unit: days, extension_steps: [15, 30]}
"""


def test_the_example_policy_file_is_the_default_policy() -> None:
    result = parse_policy(EXAMPLE.read_text(encoding="utf-8"), "toml")

    assert result == DEFAULT_POLICY


def test_a_toml_policy_sets_every_clock_and_defaults_the_report_settings() -> None:
    result = parse_policy('version = "acme-2026.1"\n' + CLOCKS_TOML, "toml")

    assert (result.version, result.timezone, result.at_risk_share) == (
        "acme-2026.1",
        "Asia/Shanghai",
        0.75,
    )
    assert result.backdated_after_hours == 24.0
    assert result.rule(ClockName.INVESTIGATION) == ClockRule(
        ClockName.INVESTIGATION, 48, "hours", True, (2,)
    )
    assert result.rule(ClockName.REGULATORY).unit == "working_days"


def test_a_yaml_policy_parses_like_toml() -> None:
    result = parse_policy(YAML, "yaml")

    assert (result.version, result.timezone, result.at_risk_share) == (
        "acme-2026.2",
        "Asia/Urumqi",
        0.5,
    )
    assert result.rule(ClockName.EXECUTION).pausable is True
    assert [r.clock for r in result.rules] == list(ClockName)


def test_a_stored_policy_round_trips_through_json() -> None:
    stored = json.loads(json.dumps(policy_to_dict(DEFAULT_POLICY)))

    result = policy_from_dict(stored)

    assert result == DEFAULT_POLICY
    assert stored["clocks"]["regulatory"]["extension_steps"] == [15, 30]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (CLOCKS_TOML, "policy invalid: version: Field required"),
        ('version = ""\n' + CLOCKS_TOML, "policy invalid: version: String should have at least 1"),
        (
            'version = "v"\n[clocks.triage]\nlimit = 1\nunit = "hours"\n' + CLOCKS_TOML,
            "clocks.triage: Input should be 'intake', 'investigation', 'plan',",
        ),
        ('version = "v"\n' + CLOCKS_TOML.replace('"hours"', '"weeks"', 1), "clocks.intake.unit"),
        (
            'version = "v"\n' + CLOCKS_TOML.replace("limit = 3", "limit = 0"),
            "clocks.plan.limit: Input should be greater than 0",
        ),
        (
            'version = "v"\n' + CLOCKS_TOML.replace("limit = 10", "limit = -7"),
            "clocks.execution.limit",
        ),
        (
            'version = "v"\n' + CLOCKS_TOML.replace("limit = 2", "limit = 1.5"),
            "clocks.intake.limit: Input should be a valid integer",
        ),
        (
            'version = "v"\nat_risk_share = 1.0\n' + CLOCKS_TOML,
            "at_risk_share: Input should be less than 1",
        ),
        (
            'version = "v"\nat_risk_share = 0\n' + CLOCKS_TOML,
            "at_risk_share: Input should be greater than 0",
        ),
        (
            'version = "v"\ntimezone = "Mars/Olympus"\n' + CLOCKS_TOML,
            "timezone: unknown time zone 'Mars/Olympus'",
        ),
        (
            'version = "v"\n' + CLOCKS_TOML.replace("[15, 30]", "[15, 30]\npausable = true"),
            "clocks: the regulatory clock never pauses",
        ),
        (
            'version = "v"\n' + CLOCKS_TOML.replace("[2]", "[0]"),
            "clocks.investigation.extension_steps.0",
        ),
        (
            'version = "v"\ngrace_hours = 2\n' + CLOCKS_TOML,
            "grace_hours: Extra inputs are not permitted",
        ),
        (
            'version = "v"\n'
            + CLOCKS_TOML.replace('[clocks.summary]\nlimit = 20\nunit = "working_days"\n', ""),
            "clocks: every clock needs a rule; missing: summary",
        ),
        ('version = "v"\n[clocks', "policy is not valid TOML"),
    ],
)
def test_an_invalid_toml_policy_is_refused_with_the_field_named(
    document: str, message: str
) -> None:
    with pytest.raises(PolicyInvalid) as refused:
        parse_policy(document, "toml")

    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("- version: v", "policy must be a mapping of settings, not list"),
        ("version: [v", "policy is not valid YAML"),
        ("", "policy is empty"),
        (
            YAML.replace("limit: 48", "limit: '48'"),
            "clocks.plan.limit: Input should be a valid integer",
        ),
    ],
)
def test_an_invalid_yaml_policy_is_refused_with_the_field_named(
    document: str, message: str
) -> None:
    with pytest.raises(PolicyInvalid) as refused:
        parse_policy(document, "yaml")

    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_several_problems_are_counted_on_the_one_line() -> None:
    with pytest.raises(PolicyInvalid, match=r"\(and 1 more problem\)"):
        parse_policy("at_risk_share = 2\n" + CLOCKS_TOML, "toml")


@pytest.mark.parametrize(
    ("clock", "days", "previous"),
    [
        (ClockName.REGULATORY, 15, []),
        (ClockName.REGULATORY, 10, []),
        (ClockName.REGULATORY, 30, [15]),
        (ClockName.INVESTIGATION, 1, []),
        (ClockName.SUMMARY, 15, []),
    ],
)
def test_an_extension_within_the_policy_steps_is_allowed(
    clock: ClockName, days: int, previous: list[int]
) -> None:
    check_extension(DEFAULT_POLICY, clock, days, previous, "leader-li")


@pytest.mark.parametrize(
    ("clock", "days", "previous", "approver", "message"),
    [
        (
            ClockName.REGULATORY,
            16,
            [],
            "li",
            "extension 1 of the regulatory clock may add at most 15",
        ),
        (
            ClockName.REGULATORY,
            31,
            [15],
            "li",
            "extension 2 of the regulatory clock may add at most 30",
        ),
        (
            ClockName.REGULATORY,
            5,
            [15, 30],
            "li",
            "already extended 2 times; policy default-2026.1 allows 2",
        ),
        (ClockName.EXECUTION, 1, [7], "li", "already extended 1 time;"),
        (ClockName.INTAKE, 1, [], "li", "does not allow extending the intake clock"),
        (ClockName.REGULATORY, 0, [], "li", "must add at least 1 day"),
        (ClockName.PLAN, -1, [], "li", "must add at least 1 day"),
        (ClockName.REGULATORY, 15, [], None, "needs an approver"),
        (ClockName.REGULATORY, 15, [], "  ", "needs an approver"),
    ],
)
def test_an_extension_beyond_the_policy_is_refused_with_the_reason(
    clock: ClockName, days: int, previous: list[int], approver: str | None, message: str
) -> None:
    with pytest.raises(ExtensionRefused, match=message):
        check_extension(DEFAULT_POLICY, clock, days, previous, approver)


@pytest.mark.parametrize("fmt", ["toml", "yaml"])
def test_a_deeply_nested_document_is_refused_on_one_line(fmt: str) -> None:
    document = ("version = " if fmt == "toml" else "version: ") + "[" * 100_000

    with pytest.raises(PolicyInvalid) as refused:
        parse_policy(document, fmt)  # type: ignore[arg-type]

    assert str(refused.value) == f"policy is not valid {fmt.upper()}: it is nested too deeply"


def test_a_policy_version_with_a_control_character_is_refused() -> None:
    document = 'version = "v\\u0000"\n' + CLOCKS_TOML

    with pytest.raises(PolicyInvalid) as refused:
        parse_policy(document, "toml")

    assert str(refused.value) == (
        "policy invalid: version: holds the control character U+0000 (NUL) at character 2, "
        "which is not allowed"
    )


def test_a_stored_policy_whose_version_holds_a_control_character_still_loads() -> None:
    stored = {**policy_to_dict(DEFAULT_POLICY), "version": "v\x00"}

    assert policy_from_dict(stored).version == "v\x00"
