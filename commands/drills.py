"""``drill run``: replay a scenario against a plan version in a scratch ledger, score it
(``score_drill``) and record the result in the real ledger (``record_drill``; docs/drills.md).

The scratch ledger is a temporary SQLite file, removed afterwards. It gets the plan version
(published with an effective date before any scenario time, so every complaint of the
scenario pins it), every calendar year the real ledger published, the code list in force
now (so that cause codes are checked) and, when every actor of the scenario is a member of
the real staff directory, that directory too (its members with the roles they hold now), so
that roles and addressees are checked as they would be. A scenario command the scratch
ledger refuses is a failed step of the drill, not an error.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from commands.drill_scenario import Scenario, Step
from commands.drill_score import score_scratch
from commands.handlers import handle
from commands.models import Envelope, PublishCalendar, PublishCodes, PublishPolicy
from commands.readiness_models import RecordDrill
from commands.staff_models import AddStaff
from ledger.domain.errors import LedgerError, PolicyInvalid
from ledger.domain.policy import DEFAULT_POLICY, policy_to_dict
from ledger.domain.values import Role
from ledger.store.books import (
    load_calendar_book,
    load_policy_book,
    load_readiness_book,
    load_staff_directory,
    policy_version,
)
from ledger.store.root import Ledger, open_ledger

SINCE = "2000-01-01T00:00:00+00:00"  # copies take effect before any time a scenario can name


@dataclass(frozen=True)
class DrillResult:
    drill_id: str
    report: dict[str, Any]


def score_drill(source: Ledger | None, scenario: Scenario, version: str) -> dict[str, Any]:
    """The drill's report: ``scenario`` replayed in a scratch ledger against plan ``version``
    of ``source`` (None: the built-in plan and calendars only, as ``generate`` scores one)."""
    if source is None:
        if version != DEFAULT_POLICY.version:
            raise PolicyInvalid(
                f"no policy version {version!r}; published: {DEFAULT_POLICY.version}"
            )
        document = policy_to_dict(DEFAULT_POLICY)
    else:
        document = policy_to_dict(policy_version(source, version))
    with (
        tempfile.TemporaryDirectory(prefix="complaint-ledger-drill-") as folder,
        open_ledger(f"sqlite:///{Path(folder) / 'scratch.db'}") as scratch,
    ):
        copies = [] if source is None else _copies(source, scenario, document, version)
        for command in copies:
            handle(scratch, command)
        failed = [f for f in (_step(scratch, s) for s in scenario.steps) if f]
        return score_scratch(scratch, scenario, version, failed)


def drill_command(
    report: dict[str, Any],
    actor: dict[str, str],
    command_id: str | None = None,
    occurred_at: str | None = None,
) -> RecordDrill:
    """The ``record_drill`` command that records ``report`` (the JSON Lines contract)."""
    return RecordDrill.model_validate(
        {
            "command_id": command_id or str(uuid.uuid4()),
            "actor": actor,
            **({"occurred_at": occurred_at} if occurred_at else {}),
            "scenario_sha256": report["scenario_sha256"],
            "policy_version": report["policy_version"],
            "score": report["score"],
            "summary": {k: v for k, v in report.items() if k not in ("score", "drill_id")},
        }
    )


def record_drill(
    ledger: Ledger,
    report: dict[str, Any],
    actor: dict[str, str],
    command_id: str | None = None,
    occurred_at: str | None = None,
) -> DrillResult:
    """Record ``report`` in ``ledger`` (DrillCompleted); its drill id, and the report with it."""
    command = drill_command(report, actor, command_id, occurred_at)
    handle(ledger, command)
    book = load_readiness_book(ledger)
    drills = book.drills.values() if book else []
    drill_id = next(d.drill_id for d in drills if d.command_id == command.command_id)
    return DrillResult(drill_id, {"drill_id": drill_id, **report})


def _step(scratch: Ledger, step: Step) -> dict[str, Any] | None:
    try:
        handle(scratch, step.command, now=step.at)
    except LedgerError as e:
        return {
            "line": step.line,
            "command": step.command.action,
            "target": step.command.target,
            "error": str(e),
        }
    return None


def _copies(
    ledger: Ledger, scenario: Scenario, document: dict[str, Any], version: str
) -> list[Envelope]:
    """The commands that give the scratch ledger the plan, the calendars and (as needed) the
    staff directory of the real one."""
    copies: list[Envelope] = []
    actor = {"id": "drill", "role": "leadership"}
    directory = load_staff_directory(ledger)
    names = {s.command.actor.id for s in scenario.steps}
    if directory is not None and directory.members and names <= set(directory.members):
        now = datetime.now(UTC)
        members = [m for m in directory.members.values() if m.roles_at(now)]
        members.sort(key=lambda m: Role.LEADERSHIP not in m.roles_at(now))
        actor = {"id": members[0].id, "role": "leadership"}
        for m in members:
            copies.append(AddStaff.model_validate({
                "command_id": f"copy-staff-{m.id}", "actor": actor, "staff_id": m.id,
                "name": m.name, "unit": str(m.unit), "roles": [str(r) for r in m.roles_at(now)],
                "login": m.login, "effective_from": SINCE,
            }))  # fmt: skip
    if version != DEFAULT_POLICY.version:
        copies.append(PublishPolicy.model_validate({
            "command_id": "copy-policy", "actor": actor, "format": "yaml",
            "text": yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
            "effective_from": SINCE,
        }))  # fmt: skip
    codes = _codes_copy(ledger, actor)
    if codes is not None:
        copies.append(codes)
    calendars = load_calendar_book(ledger)
    for year, doc in sorted((calendars.years if calendars else {}).items()):
        text = {"base": "none", **{k: doc[k] for k in ("days_off", "working_days", "source")}}
        copies.append(PublishCalendar.model_validate({
            "command_id": f"copy-calendar-{year}", "actor": actor, "year": year,
            "format": "yaml", "text": yaml.safe_dump(text, allow_unicode=True, sort_keys=False),
        }))  # fmt: skip
    return copies


def _codes_copy(ledger: Ledger, actor: dict[str, str]) -> PublishCodes | None:
    """The code list in force now (the plan's appendix of causes, docs/codes.md), so that a
    scenario's cause codes are checked as the real ledger checks them; None when none is."""
    book = load_policy_book(ledger)
    version = None if book is None else book.codes_in_force(datetime.now(UTC))
    if book is None or version is None:
        return None
    return PublishCodes.model_validate({
        "command_id": "copy-codes", "actor": actor, "format": "json",
        "text": json.dumps(book.code_lists[version], ensure_ascii=False),
        "effective_from": SINCE,
    })  # fmt: skip
