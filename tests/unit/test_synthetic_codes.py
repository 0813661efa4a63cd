"""The example code list the demo and ``generate --cause-codes`` publish is the one in docs/,
and every cause code they give is in it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from commands.synthetic import CONTENT, lifecycles
from commands.synthetic_codes import CATEGORY_BUSINESS_TYPES, CATEGORY_CAUSES, EXAMPLE_CODES
from ledger.domain.codes import codes_from_dict, parse_codes

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "codes-example.toml"


def test_the_synthetic_code_list_is_the_documented_example() -> None:
    documented = parse_codes(EXAMPLE.read_text(encoding="utf-8"), "toml")

    assert codes_from_dict(EXAMPLE_CODES) == documented


def test_synthetic_lifecycles_give_causes_of_the_example_at_triage_and_closure() -> None:
    codes = codes_from_dict(EXAMPLE_CODES)
    lives = list(lifecycles(60, datetime(2026, 11, 1, tzinfo=UTC), seed=7, coded=True))
    plain = list(lifecycles(60, datetime(2026, 11, 1, tzinfo=UTC), seed=7))
    given = [s for life in lives for s in life.steps if s["command"] in ("triage", "close")]

    assert set(CATEGORY_CAUSES) == set(CONTENT)
    assert len(given) > 60
    assert {s["cause"] for s in given} <= set(codes.causes)
    assert set(CATEGORY_BUSINESS_TYPES) == set(CONTENT)
    assert {s["business_type"] for s in given if "business_type" in s} <= set(codes.business_types)
    assert {s["business_channel"] for s in given if "business_channel" in s} <= set(codes.channels)
    # Coding draws nothing from the random stream: the same lifecycles otherwise.
    coding = {"cause", "business_type", "business_channel"}
    strip = [
        [{k: v for k, v in s.items() if k not in coding} for s in life.steps] for life in lives
    ]
    assert strip == [life.steps for life in plain]
