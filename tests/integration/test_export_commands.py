"""export-commands then apply into an empty ledger: the same complaints and read models."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run
from tests.integration.test_projections import dump, fill

LEAD = ["--actor", "chen", "--role", "leadership"]
POLICY = Path(__file__).parents[2] / "docs" / "policy-example.toml"


def test_export_then_apply_into_an_empty_ledger_gives_identical_read_models(
    ledger_url: str, second_url: str, tmp_path: Path
) -> None:
    revision = tmp_path / "2026.2.toml"
    revision.write_text(
        POLICY.read_text(encoding="utf-8").replace("default-2026.1", "2026.2"), encoding="utf-8"
    )
    run(ledger_url, "policy", "publish", str(revision), "--effective-from",
        "2026-09-01T00:00:00+08:00", *LEAD)  # fmt: skip
    run(ledger_url, "calendar", "publish", "2026", *LEAD)
    fill(ledger_url, tmp_path, 80, seed=21)
    first = json.loads(run(ledger_url, "list", "--format", "json").stdout)[0]["ref"]
    assert run(ledger_url, "erase", first, "--reason", "保存期限届满", *LEAD).exit_code == 0
    exported = tmp_path / "ledger.jsonl"

    written = run(ledger_url, "export-commands", "--out", str(exported))
    applied = run(second_url, "apply", "--bulk", str(exported))
    for url in (ledger_url, second_url):
        assert run(url, "projections", "run").exit_code == 0
    original, copy = dump(ledger_url), dump(second_url)

    assert (written.exit_code, applied.exit_code) == (0, 0), applied.stderr
    for table in ("case_state", "sla_clocks", "statistics"):
        assert copy[table] == original[table], table
    moved = ("position", "recorded_at", "backdated")
    assert [{k: v for k, v in r.items() if k not in moved} for r in copy["audit_trail"]] == [
        {k: v for k, v in r.items() if k not in moved} for r in original["audit_trail"]
    ]
    for ref in (first, original["case_state"][-1]["ref"]):
        views = [json.loads(run(url, "show", ref, "--format", "json").stdout)
                 for url in (ledger_url, second_url)]  # fmt: skip
        for view in views:
            for row in view["history"]:
                del row["recorded_at"]
        assert views[0] == views[1]


def test_export_then_apply_rebuilds_the_staff_directory(
    ledger_url: str, second_url: str, tmp_path: Path
) -> None:
    staff = [
        {"command": "add_staff", "staff_id": "chen", "name": "陈", "unit": "leadership_group",
         "roles": ["leadership"], "email": "chen@example.com",
         "login": "postgres"},  # on PostgreSQL, the login the tests connect as
        {"command": "add_staff", "staff_id": "li", "name": "李", "unit": "customer_service",
         "roles": ["customer_service"], "login": "li_pg"},
        {"command": "grant_role", "staff_id": "li", "role": "handling_team"},
        {"command": "revoke_role", "staff_id": "li", "role": "handling_team"},
        {"command": "issue_token", "staff_id": "li", "token_hash": "ab" * 32,
         "expires_at": "2030-01-01T00:00:00+08:00"},
        {"command": "issue_token", "staff_id": "li", "token_hash": "cd" * 32,
         "expires_at": "2030-01-01T00:00:00+08:00"},
        {"command": "revoke_token", "staff_id": "li", "token_id": "ab" * 6},
        {"command": "issue_token", "staff_id": "li", "token_hash": "ef" * 32,
         "expires_at": "2030-01-01T00:00:00+08:00"},
        {"command": "revoke_token", "staff_id": "li"},
        {"command": "allow_service_login", "login": "integration"},
        {"command": "require_authentication"},
    ]  # fmt: skip
    lines = [
        {**c, "command_id": f"staff-{n}", "actor": {"id": "chen", "role": "leadership"},
         "occurred_at": f"2026-11-0{n // 6 + 1}T09:{n:02d}:00+08:00"}
        for n, c in enumerate(staff)
    ]  # fmt: skip
    source = tmp_path / "staff.jsonl"
    source.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in lines))
    applied = run(ledger_url, "apply", str(source))
    assert applied.exit_code == 0, applied.output
    exported = tmp_path / "exported.jsonl"

    written = run(ledger_url, "export-commands", "--out", str(exported))
    applied = run(second_url, "apply", str(exported))

    assert (written.exit_code, applied.exit_code) == (0, 0), written.output + applied.output
    commands = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [c["command"] for c in commands] == [c["command"] for c in staff]
    assert commands[6]["token_id"] == "ab" * 6
    assert "token_id" not in commands[8]  # it revoked every valid token: two
    listed = [json.loads(run(url, "staff", "list", "--format", "json").stdout)
              for url in (ledger_url, second_url)]  # fmt: skip
    assert listed[0] == listed[1]
    for url in (ledger_url, second_url):
        assert run(url, "projections", "run").exit_code == 0
    trails = [[(r["action"], r["summary_en"]) for r in dump(url)["audit_trail"]]
              for url in (ledger_url, second_url)]  # fmt: skip
    assert trails[0] == trails[1]
    assert ("TokenRevoked", f"Token {'cd' * 6}, {'ef' * 6} of li revoked") in trails[1]
