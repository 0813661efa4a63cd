"""The console's reading pages: dashboard, case list, work queue, case page. Each reads
the read models through the query side (as the API's GETs do) and shows their lag; the
case page also replays the complaint from its events, as ``show`` and ``sla`` do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from commands.http.console import charts, forms, session
from commands.http.console.i18n import lang_of, translator
from commands.http.console.render import link, page
from commands.http.problems import Problem
from commands.http.readside import ReadSide
from ledger.domain.values import Stage
from ledger.integrity.history import complaint_view, history
from projections import console
from projections.clocks import clock_report
from projections.queries import audit_rows
from projections.schema import CLOCKS

router = APIRouter(prefix="/console", include_in_schema=False)
OPEN_STAGES = [s.value for s in Stage if s not in (Stage.CLOSED, Stage.WITHDRAWN)]
BACKDATED_HOURS = 24.0  # the default policy's, for events the audit trail has not reached yet
Text = Annotated[str | None, Query(max_length=100)]


def side(request: Request) -> ReadSide:
    read_side: ReadSide = request.app.state.read_side
    return read_side


def months_back(now: datetime, count: int) -> str:
    year, month = now.year, now.month - count + 1
    while month <= 0:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}"


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request) -> HTMLResponse:
    who = session.require(request)
    now = datetime.now(UTC)
    first = months_back(now, 12)
    lag = side(request).freshness().lag
    with side(request).query() as cur:
        stages = console.open_by_stage(cur)
        clocks = console.clocks_now(cur, now)
        months = console.monthly(cur, first)
        by_channel = console.volume(cur, "channel", first)
        by_category = console.volume(cur, "category", first)
    t = translator(lang_of(request))
    labels = [m["month"] for m in months]
    breaches = charts.stacked_bars(
        labels,
        [charts.Series(c, c, [m["breaches"][c] for m in months]) for c in CLOCKS],
        lambda month, clock: link(
            "/console/cases", month=month, clock_status="breached", clock=clock
        ),
        t["breaches_per_month"],
    )
    volume = _volume_chart(labels, by_channel, "channel", t["volume_channel"])
    volume_category = _volume_chart(labels, by_category, "category", t["volume_category"])
    satisfaction = charts.line(labels, [m["mean_satisfaction"] for m in months], t["satisfaction"])
    return page(
        request,
        "dashboard.html",
        who,
        lag=lag,
        stages=OPEN_STAGES,
        by_stage=stages,
        clocks=clocks,
        months=months,
        breaches_chart=breaches,
        volume_chart=volume,
        volume_category_chart=volume_category,
        satisfaction_chart=satisfaction,
    )


def _volume_chart(labels: list[str], rows: list[dict[str, Any]], by: str, title: str) -> Markup:
    """Complaints received per month, stacked by ``by``; each segment links to its list."""
    keys = sorted({r["key"] for r in rows})
    counts = {(r["month"], r["key"]): r["n"] for r in rows}
    return charts.stacked_bars(
        labels,
        [charts.Series(k, k, [counts.get((m, k), 0) for m in labels]) for k in keys],
        lambda month, key: link("/console/cases", month=month, **{by: key}),
        title,
    )


@router.get("/cases", response_class=HTMLResponse)
def cases(
    request: Request,
    stage: Text = None,
    status: Text = None,
    clock_status: Text = None,
    clock: Text = None,
    month: Text = None,
    channel: Text = None,
    category: Text = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    who = session.require(request)
    f = console.ListFilter(stage, status, clock_status, clock, month, channel, category, offset)
    lag = side(request).freshness().lag
    with side(request).query() as cur:
        rows = console.cases(cur, f, datetime.now(UTC))
    more = len(rows) > console.PAGE
    params = {k: v for k, v in vars(f).items() if v is not None and k != "offset"}
    next_url = link("/console/cases", **params, offset=offset + console.PAGE) if more else None
    return page(
        request,
        "cases.html",
        who,
        lag=lag,
        rows=rows[: console.PAGE],
        filters=params,
        next_url=next_url,
    )


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request) -> HTMLResponse:
    who = session.require(request)
    directory = session.ledger_of(request).staff_directory()
    member = None if directory is None else directory.members.get(who.staff_id)
    unit = None if member is None else member.unit
    members = [] if directory is None else directory.members.values()
    handlers = sorted(m.id for m in members if m.unit is unit)
    now = datetime.now(UTC)
    lag = side(request).freshness().lag
    with side(request).query() as cur:
        rows = console.unit_queue(cur, handlers, now)
    return page(request, "queue.html", who, lag=lag, rows=rows, unit=unit, now=now)


@router.get("/cases/{ref}", response_class=HTMLResponse)
def case(request: Request, ref: str, done: str | None = None) -> HTMLResponse:
    who = session.require(request)
    if len(ref) > 100:
        raise Problem(404, "no complaint has that reference")
    ledger = session.ledger_of(request)
    view = complaint_view(ledger, ref)  # ComplaintNotFound: 404
    now = datetime.now(UTC)
    clocks = clock_report(ledger, ref, now).as_dicts()
    events = history(ledger, ref)["events"]
    lag = side(request).freshness().lag
    with side(request).query() as cur:
        trail = audit_rows(cur, ref)
    timeline = _timeline(events, {row["version"]: row for row in trail}, lang_of(request))
    return page(
        request,
        "case.html",
        who,
        lag=lag,
        case=view,
        clocks=clocks,
        timeline=timeline,
        trail=trail,
        forms=forms.allowed(who.role, view),
        done=done,
    )


def _timeline(
    events: list[dict[str, Any]], audit: dict[int, dict[str, Any]], lang: str
) -> list[dict[str, Any]]:
    """Every event of the complaint, by when it happened, with who recorded it and how; the
    audit trail's summary and backdated mark where it has the event already."""
    rows = []
    for event in events:
        row = audit.get(event["version"])
        occurred = event.get("occurred_at") or event["recorded_at"]
        if row is not None:
            backdated = row["backdated"]
            summary = row["summary_zh" if lang == "zh" else "summary_en"]
        else:
            gap = datetime.fromisoformat(event["recorded_at"]) - datetime.fromisoformat(occurred)
            backdated, summary = gap > timedelta(hours=BACKDATED_HOURS), event["event"]
        rows.append({**event, "occurred": occurred, "backdated": backdated, "summary": summary})
    rows.sort(key=lambda r: (datetime.fromisoformat(r["occurred"]), r["version"]))
    return rows
