"""Read model ``publications``: the policies and calendars the case read models were worked
out by, and the code lists their cause codes map by, one row per publication (``@policies
v2``, ``@calendars v3``).

The runner writes every publication of the rulebook it folds clocks with, so the query side
judges the clocks it works out at query time (an overdue business-hours clock, one with an
open pause) by the same rules as the stored ones, without reading the log: a login in
``ledger_reader`` may not read it. It writes the code lists (kind ``codes``) for the same
login's ``codes list`` and ``codes show``; and, for each policy, its line of ``policy list``
(``entry``), for the same login's ``policy list``, ``policy show`` and ``calendar list``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ledger.domain.calendar import calendar_from_dict, calendar_to_dict
from ledger.domain.policy import policy_from_dict, policy_to_dict
from ledger.domain.rulebook import Publication, Rulebook
from projections.db import Cursor
from projections.schema import stamp

if TYPE_CHECKING:
    from ledger.store.codelists import CodesPublication
    from projections.cases import Rules

COLUMNS = ("label", "recorded_at", "kind", "effective_from", "document", "entry")
Row = tuple[str, str | None, str, str | None, str, str | None]


def keep_publications(cur: Cursor, rules: Rules) -> None:
    """Write the publications of ``rules`` not yet written by this runner (once each: a
    publication never changes, so one already there is left as it is)."""
    fresh = [p for p in rules.book.publications if p.label not in rules.kept]
    codes = [p for p in rules.published_codes if p.label not in rules.kept]
    if not fresh and not codes:
        return
    rows = [*(_row(p) for p in fresh), *(_codes_row(p) for p in codes)]
    cur.insert("publications", COLUMNS, rows, conflict="label")
    rules.kept.update(p.label for p in fresh)
    rules.kept.update(p.label for p in codes)


def _codes_row(p: CodesPublication) -> Row:
    # As codes list gives it, so a login that may not read the log is answered the same.
    text = json.dumps(p.entry(), ensure_ascii=False)
    return (p.label, stamp(p.recorded), "codes", stamp(p.effective_from), text, None)


def _row(p: Publication) -> Row:
    if p.policy is not None:
        kind, document = "policy", policy_to_dict(p.policy)
    else:
        assert p.calendar is not None
        kind, document = "calendar", calendar_to_dict(p.calendar)
    text = json.dumps(document, ensure_ascii=False)  # in order: schedules keep theirs
    return (p.label, stamp(p.recorded), kind, stamp(p.effective_from), text, policy_entry(p))


def policy_entry(p: Publication) -> str | None:
    """A policy's line of ``policy list`` (its ``effective_from`` as published, offset and
    all), as JSON; None for a calendar."""
    if p.policy is None or p.effective_from is None:
        return None
    entry = {"version": p.policy.version, "effective_from": p.effective_from.isoformat(),
             "reason": p.reason, "drill": p.drill}  # fmt: skip
    return json.dumps(entry, ensure_ascii=False)


def keep_entries(cur: Cursor, rulebook: Rulebook) -> None:
    """Write the policies' entries into the rows kept before they had one (shape 7)."""
    for p in rulebook.publications:
        entry = policy_entry(p)
        if entry is not None:
            cur.execute("UPDATE {publications} SET entry = ? WHERE label = ?", (entry, p.label))


def stored_rulebook(cur: Cursor) -> Rulebook:
    """The rulebook of the publications the runner has written, in the caller's transaction."""
    cur.execute(
        "SELECT label, recorded_at, kind, effective_from, document, entry FROM {publications} "
        "WHERE kind IN ('policy', 'calendar')"
    )
    found = []
    for row in cur.fetchall():
        document = json.loads(row["document"])
        recorded = datetime.fromisoformat(row["recorded_at"])
        if row["kind"] == "policy":
            entry = json.loads(row["entry"] or "{}")
            effective = datetime.fromisoformat(entry.get("effective_from", row["effective_from"]))
            policy = policy_from_dict(document)
            found.append(
                Publication(
                    recorded,
                    row["label"],
                    policy,
                    effective,
                    reason=entry.get("reason"),
                    drill=entry.get("drill"),
                )
            )
        else:
            found.append(Publication(recorded, row["label"], calendar=calendar_from_dict(document)))
    return Rulebook(found)


def stored_code_lists(cur: Cursor) -> list[dict[str, Any]]:
    """The code lists the runner has written, by effective time (between two that take effect
    together, the later published last), as ``published_code_lists`` gives them."""
    cur.execute(
        "SELECT recorded_at, effective_from, document FROM {publications} WHERE kind = 'codes'"
    )
    rows = sorted(cur.fetchall(), key=lambda r: (r["effective_from"], r["recorded_at"]))
    return [json.loads(r["document"]) for r in rows]


def stored_policy_list(cur: Cursor) -> list[dict[str, Any]]:
    """The policies published, as ``policy list`` gives them from the log: by the time each
    takes effect, those taking effect together in the order they were published."""
    cur.execute(
        "SELECT label, effective_from, document, entry FROM {publications} WHERE kind = 'policy'"
    )
    rows = [(_entry(r), _stream_version(r["label"])) for r in cur.fetchall()]
    rows.sort(key=lambda r: (datetime.fromisoformat(r[0]["effective_from"]), r[1]))
    return [entry for entry, _ in rows]


def stored_calendar_years(cur: Cursor) -> tuple[dict[int, dict[str, Any]], dict[int, int]]:
    """Each year's calendar as last published, and how many times it was (its revision)."""
    cur.execute("SELECT label, document FROM {publications} WHERE kind = 'calendar'")
    rows = sorted(((_stream_version(r["label"]), json.loads(r["document"]))
                   for r in cur.fetchall()), key=lambda r: r[0])  # fmt: skip
    years: dict[int, dict[str, Any]] = {}
    revisions: dict[int, int] = {}
    for _, document in rows:
        year = int(document["year"])
        years[year] = document
        revisions[year] = revisions.get(year, 0) + 1
    return years, revisions


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    """A policy row's entry; for a row written without one (by a runner of an earlier
    release still following), what the row itself tells: no reason or drill."""
    if row["entry"] is not None:
        return dict(json.loads(row["entry"]))
    version = json.loads(row["document"])["version"]
    return {"version": version, "effective_from": row["effective_from"], "reason": None,
            "drill": None}  # fmt: skip


def _stream_version(label: str) -> int:
    """The version of a publication's event in its stream: ``@calendars v3`` → 3."""
    return int(label.rpartition(" v")[2])
