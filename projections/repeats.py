"""Repeat and linked complaints, read from the blind index and the link table (issue 15).

Both tables are the ledger's own, written with the events (``ledger.store.blind_index``),
so they never lag; they hold digests and references, no personal data, and the reader role
may read them. Matching is digest to digest: no secret is needed to read, only to write.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger.store.blind_index import COMPLAINANT_INDEX, COMPLAINT_LINKS
from ledger.store.root import Ledger
from projections.db import Cursor
from projections.queries import day_bounds

TABLES = (COMPLAINANT_INDEX, COMPLAINT_LINKS)


def same_complainant(cur: Cursor, ref: str) -> list[dict[str, Any]]:
    """The other complaints that share a phone, ID number or account reference with
    ``ref`` (by digest), oldest first, each with the kinds of identifier that matched."""
    cur.execute(
        "SELECT o.ref AS ref, o.received_at AS received_at, o.kind AS kind "
        "FROM {complainant_index} AS me JOIN {complainant_index} AS o "
        "ON o.digest = me.digest AND o.kind = me.kind "
        "WHERE me.ref = ? AND o.ref <> me.ref ORDER BY o.received_at, o.ref, o.kind",
        (ref,),
    )
    found: dict[str, dict[str, Any]] = {}
    for row in cur.fetchall():
        entry = found.setdefault(
            row["ref"], {"ref": row["ref"], "received_at": row["received_at"], "matched": []}
        )
        entry["matched"].append(row["kind"])
    return list(found.values())


def related_now(ledger: Ledger, ref: str) -> dict[str, list[dict[str, Any]]]:
    """What ``show`` adds to a complaint: the same complainant's other complaints and the
    linked ones as they stand now (whatever ``--as-of``), each with its status replayed
    from the log (``show`` reads the log; ``related`` takes it from the read model)."""
    from projections.query import Query

    found = Query(ledger).related(ref)
    rows = [*found["same_complainant"], *found["links"]]
    loaded = {
        c.ref: str(c.status) for c in ledger.load_complaints([r["ref"] for r in rows]).values()
    }
    for row in rows:
        row["status"] = loaded.get(row["ref"], row["status"])
    return {"same_complainant": found["same_complainant"], "links": found["links"]}


def links_of(cur: Cursor, ref: str) -> list[dict[str, Any]]:
    """The complaints linked to ``ref``, either way round: ``to`` a link recorded on
    ``ref``, ``from`` one recorded on the other complaint."""
    cur.execute(
        "SELECT other AS ref, 'to' AS direction, occurred_at FROM {complaint_links} WHERE ref = ? "
        "UNION ALL SELECT ref, 'from', occurred_at FROM {complaint_links} WHERE other = ? "
        "ORDER BY occurred_at, ref",
        (ref, ref),
    )
    return cur.fetchall()


def statuses(cur: Cursor, refs: list[str]) -> dict[str, str]:
    """The status of each of ``refs`` in the case read model (those it holds)."""
    if not refs:
        return {}
    marks = ",".join("?" * len(refs))
    cur.execute(f"SELECT ref, status FROM {{case_state}} WHERE ref IN ({marks})", refs)
    return {row["ref"]: row["status"] for row in cur.fetchall()}


def repeat_figures(cur: Cursor, first: date | None, last: date | None) -> dict[str, int]:
    """Repeat complaints among those received in the period (all when none is given).

    A complainant is a group of complaints joined by a shared identifier (digest), directly
    or through another complaint of the group; a repeat complaint is one received after
    another complaint of its group. No identifier, digest or name is reported."""
    low, high = day_bounds(first, last)
    sql, params = "SELECT ref, received_at, kind, digest FROM {complainant_index} WHERE 1 = 1", []
    if low is not None:
        sql += " AND received_at >= ?"
        params.append(low)
    if high is not None:
        sql += " AND received_at < ?"
        params.append(high)
    return repeat_figures_of(cur.tuples(sql, params))


def repeat_figures_of(rows: list[tuple[Any, ...]]) -> dict[str, int]:
    """The figures of ``repeat_figures`` from index rows (ref, received_at, kind, digest)."""
    parent: dict[str, str] = {}

    def root(ref: str) -> str:
        while parent[ref] != ref:
            parent[ref] = parent[parent[ref]]
            ref = parent[ref]
        return ref

    by_digest: dict[tuple[str, str], str] = {}
    for ref, _at, kind, digest in rows:
        parent.setdefault(ref, ref)
        seen = by_digest.setdefault((kind, digest), ref)
        a, b = root(seen), root(ref)
        if a != b:
            parent[b] = a
    groups: dict[str, list[str]] = {}
    for ref in parent:
        groups.setdefault(root(ref), []).append(ref)
    repeated = [g for g in groups.values() if len(g) > 1]
    return {
        "indexed_complaints": len(parent),
        "complainants": len(groups),
        "repeat_complainants": len(repeated),
        "repeat_complaints": sum(len(g) - 1 for g in repeated),
    }
