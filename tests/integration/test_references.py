"""Generated references are always ``TS-YYYYMMDD-NNNN``, and statistics months ``YYYY-MM``,
even for a time an older version accepted (the year 1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from commands.handlers import handle
from commands.models import parse_command
from ledger.store.root import open_ledger
from tests.helpers import receive_cmd, run


def test_a_reference_and_a_month_have_four_digit_years_whatever_the_year(
    ledger_url: str,
) -> None:
    # Validation now refuses the year 1; an older version stored it through this same path.
    valid = parse_command({**receive_cmd("TS-X"), "ref": None})
    early = valid.model_copy(
        update={
            "received_at": datetime(1, 1, 1, tzinfo=UTC),
            "occurred_at": datetime(1, 1, 1, 1, tzinfo=UTC),
        }
    )

    with open_ledger(ledger_url) as ledger:
        outcome = handle(ledger, early)
    stats = run(ledger_url, "report", "stats", "--format", "json")

    assert outcome.ref == "TS-00010101-0001"
    assert [row["month"] for row in json.loads(stats.stdout)] == ["0001-01"]
