"""The complaint GETs: replayed from the events (``show``, ``history``, ``sla``) or read
from the read models (``list``, ``audit``), each as its command-line twin answers in JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from commands.fields import Moment, Ref
from commands.http.auth import CallerDep, LedgerDep
from commands.http.pages import decode_cursor, encode_cursor
from commands.http.problems import Problem
from commands.http.readside import ReadSide
from ledger.integrity.history import complaint_view
from ledger.integrity.history import history as replay
from ledger.store.codelists import published_code_lists
from projections.clocks import clock_report
from projections.queries import (
    BREACH_KEYS,
    CaseFilter,
    accountability_rows,
    audit_rows,
    breach_rows,
    list_cases,
)
from projections.repeats import related_now
from projections.schema import stamp

router = APIRouter(prefix="/v1", tags=["complaints"])
RefPath = Annotated[Ref, Path(description="The case reference, e.g. TS-20261128-0001.")]
Limit = Annotated[int, Query(ge=1, le=1000)]
BreachKey = Literal["handler", "team", "collector", "agency"]
assert set(BreachKey.__args__) == set(BREACH_KEYS)  # type: ignore[attr-defined]
Stage = Literal["intake", "investigation", "plan", "execution", "summary", "closed", "withdrawn"]


def read_side(request: Request) -> ReadSide:
    side: ReadSide = request.app.state.read_side
    return side


def fresh(request: Request, response: Response) -> int | None:
    """The read models' lag, also sent as the ``X-Projection-Lag`` header (``unknown`` when
    the server's login may not read how long the log is)."""
    lag = read_side(request).freshness().lag
    response.headers["X-Projection-Lag"] = "unknown" if lag is None else str(lag)
    return lag


@router.get("/complaints", summary="List complaints (as complaint-ledger list)")
def list_complaints(
    request: Request,
    response: Response,
    who: CallerDep,
    open: bool = False,
    stage: Stage | None = None,
    severity: Literal["normal", "urgent", "major"] | None = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    breached: bool = False,
    limit: Limit = 100,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict[str, Any]:
    after = decode_cursor(cursor, 2)
    lag = fresh(request, response)
    case_filter = CaseFilter(open, stage, severity, team, breached, limit)
    with read_side(request).query() as cur:
        rows = list_cases(
            cur, case_filter, datetime.now(UTC), None if after is None else (after[0], after[1])
        )
    last = rows[-1] if len(rows) == limit else None
    next_cursor = None if last is None else encode_cursor([last["received_at"], last["ref"]])
    return {"items": rows, "next_cursor": next_cursor, "lag": lag}


@router.get("/codes", summary="The code lists published (as codes list --format json)")
def codes(who: CallerDep, ledger: LedgerDep) -> dict[str, Any]:
    """Every code list version with when it takes effect, its cause codes (each with its
    regulator mapping) and the regulator's channel, business type and cause tables."""
    return {"items": published_code_lists(ledger)}


@router.get("/complaints/{ref}", summary="One complaint (as show --format json)")
def show(
    ref: RefPath,
    who: CallerDep,
    ledger: LedgerDep,
    as_of: Moment | None = None,
    known_at: Moment | None = None,
) -> dict[str, Any]:
    """The complaint replayed from its events; ``as_of``: what had happened by then;
    ``known_at``: what had been recorded by then (as ``show --as-of/--known-at``)."""
    return {**complaint_view(ledger, ref, as_of, known_at), **related_now(ledger, ref)}


@router.get("/complaints/{ref}/history", summary="Every event and the state after it")
def history(
    ref: RefPath,
    who: CallerDep,
    ledger: LedgerDep,
    as_of: Moment | None = None,
    known_at: Moment | None = None,
) -> dict[str, Any]:
    return replay(ledger, ref, as_of=as_of, known_at=known_at)


@router.get("/complaints/{ref}/sla", summary="Each clock: due, met, status, lateness")
def sla(
    ref: RefPath,
    who: CallerDep,
    ledger: LedgerDep,
    as_of: Moment | None = None,
    known_at: Moment | None = None,
    policy: Annotated[str | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    """As ``sla --format json``: ``as_of`` what had happened by then (default: ``known_at``,
    else now), ``known_at`` only what had been recorded by then."""
    report = clock_report(ledger, ref, as_of or known_at or datetime.now(UTC), policy, known_at)
    return report.as_dicts()


@router.get(
    "/complaints/{ref}/related",
    summary="The same complainant's other complaints and the linked ones (as related)",
)
def related(request: Request, response: Response, ref: RefPath, who: CallerDep) -> dict[str, Any]:
    """Found by the blind index (digests, never the identifiers) and the link table, with
    each complaint's status from the read models."""
    lag = fresh(request, response)
    reads = read_side(request).reads
    if not reads.known(ref):
        raise Problem(404, f"no complaint has reference {ref!r} in the read models (lag {lag})")
    return {**reads.related(ref), "lag": lag}


@router.get("/complaints/{ref}/audit", summary="The complaint's audit trail (read model)")
def audit(request: Request, response: Response, ref: RefPath, who: CallerDep) -> dict[str, Any]:
    lag = fresh(request, response)
    with read_side(request).query() as cur:
        rows = audit_rows(cur, ref)
    if not rows:
        raise Problem(404, f"no complaint has reference {ref!r} in the audit trail (lag {lag})")
    return {"items": rows, "lag": lag}


@router.get(
    "/accountability", summary="Accountability records (as accountability list)", tags=["reports"]
)
def accountability(
    request: Request,
    response: Response,
    who: CallerDep,
    staff: Annotated[str | None, Query(max_length=100)] = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """Accountability records (责任追究) per member of staff, or of one ``staff`` member or
    ``team``; the finding and decision stay sealed (``/v1/complaints/{ref}`` opens them)."""
    lag = fresh(request, response)
    with read_side(request).query() as cur:
        rows = accountability_rows(cur, staff, team)
    return {"items": rows, "lag": lag}


@router.get(
    "/accountability/breaches",
    summary="Clocks breached and overdue per handler, team, collector or agency",
    tags=["reports"],
)
def breaches(
    request: Request, response: Response, who: CallerDep, by: BreachKey = "handler"
) -> dict[str, Any]:
    """As ``accountability breaches --by … --format json``: breached and overdue clocks now."""
    lag = fresh(request, response)
    with read_side(request).query() as cur:
        rows = breach_rows(cur, by, str(stamp(datetime.now(UTC))))
    return {"items": rows, "lag": lag}
