"""The regulator's business type and business channel checked against a code list (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.domain.codes import Business, parse_codes
from ledger.domain.errors import CauseUnknown

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "codes-example.toml"
CODES = parse_codes(EXAMPLE.read_text(encoding="utf-8"), "toml")


@pytest.mark.parametrize(
    ("business_type", "business_channel"),
    [("03", "04"), ("99", None), (None, "01"), (None, None)],
)
def test_codes_of_the_regulators_tables_are_taken_with_the_lists_version(
    business_type: str | None, business_channel: str | None
) -> None:
    checked = CODES.check_business(business_type, business_channel)

    assert checked == Business(business_type, business_channel, "codes-2026.1")


@pytest.mark.parametrize(
    ("business_type", "business_channel", "message"),
    [
        ("42", "04", "business_type: '42' is not a business type code of code list "
                     "'codes-2026.1' (in force at the time of the action); its codes: "
                     "01, 02, 03, 04, 05, 99"),
        ("03", "07", "business_channel: '07' is not a business channel code of code list "
                     "'codes-2026.1' (in force at the time of the action); its codes: "
                     "01, 02, 03, 04, 99"),
        # A channel code is no business type (the tables are checked apart), and a cause's
        # regulator code is neither.
        ("05", "05", "business_channel: '05' is not a business channel code"),
        ("11", None, "business_type: '11' is not a business type code"),
    ],
)  # fmt: skip
def test_a_code_not_in_its_table_is_refused_naming_the_field_the_code_and_the_version(
    business_type: str, business_channel: str | None, message: str
) -> None:
    with pytest.raises(CauseUnknown) as refused:
        CODES.check_business(business_type, business_channel)

    assert str(refused.value).startswith(message)
