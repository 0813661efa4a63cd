"""Read model ``publications``: the policies and calendars the case read models were worked
out by, one row per publication (``@policies v2``, ``@calendars v3``).

The runner writes every publication of the rulebook it folds clocks with, so the query side
judges the clocks it works out at query time (an overdue business-hours clock, one with an
open pause) by the same rules as the stored ones, without reading the log: a login in
``ledger_reader`` may not read it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from ledger.domain.calendar import calendar_from_dict, calendar_to_dict
from ledger.domain.policy import policy_from_dict, policy_to_dict
from ledger.domain.rulebook import Publication, Rulebook
from projections.db import Cursor
from projections.schema import stamp

if TYPE_CHECKING:
    from projections.cases import Rules

COLUMNS = ("label", "recorded_at", "kind", "effective_from", "document")


def keep_publications(cur: Cursor, rules: Rules) -> None:
    """Write the publications of ``rules`` not yet written by this runner (once each: a
    publication never changes, so one already there is left as it is)."""
    fresh = [p for p in rules.book.publications if p.label not in rules.kept]
    if not fresh:
        return
    cur.insert("publications", COLUMNS, [_row(p) for p in fresh], conflict="label")
    rules.kept.update(p.label for p in fresh)


def _row(p: Publication) -> tuple[str, str | None, str, str | None, str]:
    if p.policy is not None:
        kind, document = "policy", policy_to_dict(p.policy)
    else:
        assert p.calendar is not None
        kind, document = "calendar", calendar_to_dict(p.calendar)
    text = json.dumps(document, ensure_ascii=False)  # in order: schedules keep theirs
    return (p.label, stamp(p.recorded), kind, stamp(p.effective_from), text)


def stored_rulebook(cur: Cursor) -> Rulebook:
    """The rulebook of the publications the runner has written, in the caller's transaction."""
    cur.execute("SELECT label, recorded_at, kind, effective_from, document FROM {publications}")
    found = []
    for row in cur.fetchall():
        document = json.loads(row["document"])
        recorded = datetime.fromisoformat(row["recorded_at"])
        if row["kind"] == "policy":
            effective = datetime.fromisoformat(row["effective_from"])
            found.append(Publication(recorded, row["label"], policy_from_dict(document), effective))
        else:
            found.append(Publication(recorded, row["label"], calendar=calendar_from_dict(document)))
    return Rulebook(found)
