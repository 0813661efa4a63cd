"""The default policy's verdicts do not move when business hours come in (issue 18).

``tests/fixtures/verdicts/default-policy.json`` holds what the release before business-hours
clocks printed for a generated ledger (``generate --seed 18``, every action long past, so
"late entry" marks do not depend on the day the test runs): ``report sla --format json`` at
three moments and ``sla REF --format json`` for every fifth complaint. Today's output must be
the same, key for key, apart from the one key added since (``late_by_business_seconds``,
which on a wall clock is ``late_by_seconds``) and one clock added since: every regulator
referral now has a ``regulator_reply`` clock (issue 15), left out here with its share of the
totals, so that every verdict the fixture holds is still compared. Regenerate only for a
deliberate change of the default verdicts: ``python -m tests.integration.test_default_verdicts``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import jsonl, run

FIXTURE = Path(__file__).parents[1] / "fixtures" / "verdicts" / "default-policy.json"
GENERATE = ["generate", "--complaints", "150", "--seed", "18", "--days", "45",
            "--until", "2025-06-01T00:00:00+08:00"]  # fmt: skip
MOMENTS = ("2025-05-01T12:00:00+08:00", "2025-06-01T00:00:00+08:00", "2025-09-01T00:00:00+08:00")
ADDED = "late_by_business_seconds"
NEW_CLOCK = "regulator_reply"


def verdicts_of(url: str) -> dict[str, Any]:
    """The reports and clocks the fixture holds, as the command line prints them now."""
    generated = run(url, *GENERATE)
    assert generated.exit_code == 0, generated.stderr
    commands = [json.loads(line) for line in generated.stdout.splitlines()]
    applied = run(url, "apply", "--bulk", "-", input=jsonl(commands))
    assert applied.exit_code == 0, applied.stdout
    refs = sorted({c["ref"] for c in commands})[::5]
    reports = {}
    for moment in MOMENTS:
        shown = run(url, "report", "sla", "--as-of", moment, "--format", "json")
        assert shown.exit_code == 0, shown.stderr
        reports[moment] = json.loads(shown.stdout)
    clocks = {}
    for ref in refs:
        shown = run(url, "sla", ref, "--as-of", MOMENTS[0], "--format", "json")
        assert shown.exit_code == 0, shown.stderr
        clocks[ref] = json.loads(shown.stdout)
    return {"reports": reports, "sla": clocks}


def _without_added(item: dict[str, Any]) -> dict[str, Any]:
    assert item[ADDED] == item["late_by_seconds"], item
    return {k: v for k, v in item.items() if k != ADDED}


def _new(item: dict[str, Any]) -> bool:
    return bool(item["clock"].split("#")[0] == NEW_CLOCK)


def _without_new_clock(report: dict[str, Any]) -> dict[str, Any]:
    """The report as it was before the regulator-reply clock: its items and their counts out."""
    totals = report["totals"]
    totals["clock"].pop(NEW_CLOCK, None)
    for item in filter(_new, report["items"]):
        totals["all"][item["status"]] -= 1
        totals["team"][item["team"]][item["status"]] -= 1
        totals["channel"][item["channel"]][item["status"]] -= 1
    for key in ("team", "channel"):
        totals[key] = {k: v for k, v in totals[key].items() if any(v.values())}
    report["items"] = [i for i in report["items"] if not _new(i)]
    return report


def test_the_default_policy_judges_a_generated_ledger_as_the_previous_release_did(
    ledger_url: str,
) -> None:
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))

    found = verdicts_of(ledger_url)

    assert found["reports"].keys() == expected["reports"].keys()
    for moment, report in found["reports"].items():
        report = _without_new_clock(report)
        report["items"] = [_without_added(i) for i in report["items"]]
        assert report == expected["reports"][moment], moment
    assert sum(len(r["items"]) for r in expected["reports"].values()) > 100
    for ref, clocks in found["sla"].items():
        assert [_without_added(c) for c in clocks if not _new(c)] == expected["sla"][ref], ref
    assert len(expected["sla"]) == 30


if __name__ == "__main__":  # pragma: no cover - writes the fixture
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        data = verdicts_of(f"sqlite:///{folder}/ledger.db")
    FIXTURE.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
