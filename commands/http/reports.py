"""Reports from the read models: the SLA report, statistics, and the work queue."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from commands.fields import Moment
from commands.http.auth import CallerDep, LedgerDep
from commands.http.pages import decode_cursor, encode_cursor
from commands.http.problems import Problem
from commands.http.reads import Limit, fresh, read_side
from ledger.domain.values import Unit
from projections.cursors import BadCursor
from projections.queries import statistics_rows
from projections.queue import QueueFilter, queue_rows
from projections.regulator import Quarter, QuarterInvalid
from projections.sla_pages import Position, sla_page, sla_summary

router = APIRouter(prefix="/v1", tags=["reports"])
Cursor = Annotated[str | None, Query(max_length=2000)]


@router.get("/reports/sla", summary="Breached, overdue and at-risk clocks, worst first")
def report_sla(
    request: Request,
    response: Response,
    who: CallerDep,
    as_of: Moment | None = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    summary: bool = False,
    limit: Limit = 100,
    after: Cursor = None,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The report of ``report sla``: pages of ``limit`` items with the report's totals
    (``summary=true``: the totals alone). ``after`` (or ``cursor``, its older name) is the
    ``next_cursor`` of the page before: it keeps the moment and period of the first page,
    so the pages of one report agree with each other, and the sort key of the last item
    served, so items recorded meanwhile do not shift the pages (keyset, not offset)."""
    position = None
    given = after or cursor
    if given is not None:
        try:
            position = Position.decode(given)
            position.agrees(as_of, from_, to)
        except BadCursor as e:
            raise Problem(400, str(e).replace("--after", "after", 1)) from None
    moment = position.as_of if position else as_of or datetime.now(UTC)
    first, last = (position.first, position.last) if position else (from_, to)
    lag = fresh(request, response)
    side = read_side(request)
    with side.query():  # 503 while the read models have not been built
        pass
    totals = sla_summary(side.reads, moment, first, last)
    if summary:
        return {**totals, "lag": lag}
    page = sla_page(side.reads, moment, first, last, limit, position)
    return {**page, "totals": totals["totals"], "lag": lag}


@router.get("/reports/stats", summary="Monthly figures per channel, category and severity")
def report_stats(
    request: Request,
    response: Response,
    who: CallerDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
) -> dict[str, Any]:
    lag = fresh(request, response)
    with read_side(request).query() as cur:
        rows = statistics_rows(cur, from_, to)
    return {"items": rows, "lag": lag}


@router.get("/reports/regulator", summary="The regulator's quarterly figures")
def report_regulator(
    request: Request,
    response: Response,
    who: CallerDep,
    quarter: Annotated[str, Query(max_length=10, description="A quarter, e.g. 2026Q3.")],
    as_of: Moment | None = None,
) -> dict[str, Any]:
    """The report of ``report regulator --format json``: from the read models, or, with
    ``as_of``, from the events recorded by then (docs/reports.md)."""
    try:
        period = Quarter.parse(quarter)
    except QuarterInvalid as e:
        raise Problem(422, f"quarter: {e}") from None
    lag = fresh(request, response)
    side = read_side(request)
    with side.query():  # 503 while the read models have not been built
        pass
    moment = as_of or datetime.now(UTC)
    report = side.reads.regulator_report(period, moment, as_of is not None)
    return {**report, "source": "ledger" if as_of is not None else "read_models", "lag": lag}


@router.get("/queue", summary="Open work by next due clock")
def queue(
    request: Request,
    response: Response,
    who: CallerDep,
    ledger: LedgerDep,
    team: Annotated[str | None, Query(max_length=100)] = None,
    unit: Unit | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Each open complaint at its next deadline (the earliest clock not met yet): ``ref,
    clock, due_at, status`` (overdue, at_risk or pending), ``handler``; ``unit`` keeps
    the complaints whose handler is a member of that unit."""
    after = decode_cursor(cursor, 2)
    handlers = None
    if unit is not None:
        directory = ledger.staff_directory()
        members = [] if directory is None else directory.members.values()
        handlers = sorted(m.id for m in members if m.unit is unit)
    lag = fresh(request, response)
    f = QueueFilter(team, handlers, limit, None if after is None else (after[0], after[1]))
    with read_side(request).query() as cur:
        rows = queue_rows(cur, f, datetime.now(UTC))
    last = rows[-1] if len(rows) == limit else None
    next_cursor = None if last is None else encode_cursor([last["due_at"], last["ref"]])
    return {"items": rows, "next_cursor": next_cursor, "lag": lag}
