"""What ``training report`` and ``drill list`` show (and ``GET /v1/training``, ``/v1/drills``):
plain rows read from the readiness book and the staff directory, never written."""

from __future__ import annotations

from typing import Any

from ledger.domain.readiness import ReadinessBook
from ledger.domain.staff import StaffDirectory
from ledger.domain.values import Unit


def training_rows(
    book: ReadinessBook | None, directory: StaffDirectory | None, unit: str | None
) -> list[dict[str, Any]]:
    """Per unit: the sessions its members attended (or held for it), the members trained and
    the members of the directory never trained."""
    members = directory.members if directory else {}
    sessions = book.sessions if book else []
    unit_of = {m.id: str(m.unit) for m in members.values()}
    # An attendee outside the directory (kept empty, or before it) counts in the session's unit.
    attended = [(s, a, unit_of.get(a, s.unit)) for s in sessions for a in s.attendees]
    rows = []
    for name in [unit] if unit else [str(u) for u in Unit]:
        held = {s.training_id for s, _, u in attended if u == name}
        held |= {s.training_id for s in sessions if s.unit == name}
        trained = sorted({a for _, a, u in attended if u == name})
        never = sorted(m for m, u in unit_of.items() if u == name and m not in trained)
        rows.append(
            {"unit": name, "sessions": len(held), "trained": trained, "never_trained": never}
        )
    unplaced = sorted({a for _, a, u in attended if u is None})
    if unplaced and unit is None:  # not in the directory, at a session held for no unit
        held_for_none = {s.training_id for s, _, u in attended if u is None}
        rows.append({"unit": None, "sessions": len(held_for_none), "trained": unplaced,
                     "never_trained": []})  # fmt: skip
    return rows


def drill_rows(book: ReadinessBook | None) -> list[dict[str, Any]]:
    """Every drill recorded, oldest first, with its score and the scenario's title and hash."""
    return [
        {
            "drill_id": d.drill_id,
            "completed_at": d.occurred_at.isoformat(),
            "policy_version": d.policy_version,
            "score": d.score,
            "scenario": d.summary.get("scenario", ""),
            "scenario_sha256": d.scenario_sha256,
            "run_by": d.run_by,
        }
        for d in (book.drills.values() if book else [])
    ]
