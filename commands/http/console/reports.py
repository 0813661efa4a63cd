"""The console's reports: the SLA report (filters, as-of, CSV), statistics (CSV), and the
printable monthly supervision report (one page per month, SVG charts, print CSS)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from commands.fields import Moment
from commands.http.console import charts, session
from commands.http.console.i18n import lang_of, translator
from commands.http.console.render import link, page
from commands.http.console.views import months_back, side
from commands.http.problems import Problem
from projections import console
from projections.queries import statistics_rows
from projections.schema import CLOCKS

router = APIRouter(prefix="/console/reports", include_in_schema=False)
Text = Annotated[str | None, Query(max_length=100)]
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
SHOWN = 200  # rows of the SLA report on the page; the CSV has them all


def _sla(
    request: Request,
    as_of: datetime | None,
    first: date | None,
    last: date | None,
    status: str | None,
    clock: str | None,
    team: str | None,
) -> dict[str, Any]:
    with side(request).query():  # 503 while the read models have not been built
        pass
    report = side(request).reads.sla_report(as_of or datetime.now(UTC), first, last)
    items = [
        item
        for item in report["items"]
        if (status is None or item["status"] == status)
        and (clock is None or item["clock"].split("#")[0] == clock)
        and (team is None or item["team"] == team)
    ]
    report["items"] = items
    report["counts"] = Counter(item["status"] for item in items)
    return report


@router.get("/sla", response_class=HTMLResponse, response_model=None)
def sla(
    request: Request,
    as_of: Moment | None = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    status: Text = None,
    clock: Text = None,
    team: Text = None,
    format: Text = None,
) -> Response:
    who = session.require(request)
    lag = side(request).freshness().lag
    report = _sla(request, as_of, from_, to, status, clock, team)
    if format == "csv":
        columns = [
            "ref",
            "clock",
            "status",
            "due_at",
            "met_at",
            "late_by_seconds",
            "team",
            "handler",
            "channel",
            "estimated",
        ]
        return _csv("sla-report.csv", columns, report["items"], lag)
    filters = {
        "as_of": request.query_params.get("as_of"),
        "from": from_,
        "to": to,
        "status": status,
        "clock": clock,
        "team": team,
    }
    return page(
        request,
        "sla.html",
        who,
        lag=lag,
        report=report,
        rows=report["items"][:SHOWN],
        filters=filters,
        csv_url=link("/console/reports/sla", **filters, format="csv"),
        clocks=CLOCKS,
    )


@router.get("/stats", response_class=HTMLResponse, response_model=None)
def stats(
    request: Request,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    format: Text = None,
) -> Response:
    who = session.require(request)
    lag = side(request).freshness().lag
    with side(request).query() as cur:
        if format == "csv":
            rows = statistics_rows(cur, from_, to)
            return _csv("statistics.csv", list(rows[0]) if rows else ["month"], rows, lag)
        first = None if from_ is None else from_.strftime("%Y-%m")
        last = None if to is None else to.strftime("%Y-%m")
        months = console.monthly(cur, first, last)
    filters = {"from": from_, "to": to}
    return page(
        request,
        "stats.html",
        who,
        lag=lag,
        months=months,
        clocks=CLOCKS,
        filters=filters,
        csv_url=link("/console/reports/stats", **filters, format="csv"),
    )


@router.get("/monthly", response_class=HTMLResponse)
def monthly(
    request: Request, from_: Annotated[Month, Query(alias="from")] = None, to: Month = None
) -> HTMLResponse:
    """One printed page per month: the month's figures and its charts."""
    who = session.require(request)
    now = datetime.now(UTC)
    first, last = from_ or months_back(now, 3), to or months_back(now, 1)
    if first > last:
        raise Problem(400, f"from {first} is after to {last}")
    t = translator(lang_of(request))
    lag = side(request).freshness().lag
    with side(request).query() as cur:
        months = console.monthly(cur, first, last)
        channels = [r for r in console.volume(cur, "channel", first) if r["month"] <= last]
        categories = [r for r in console.volume(cur, "category", first) if r["month"] <= last]
    for m in months:
        name = m["month"]
        m["breaches_chart"] = charts.stacked_bars(
            list(CLOCKS),
            [charts.Series(t["breached"], "breached", [m["breaches"][c] for c in CLOCKS])],
            _breaches_of(name),
            t["breaches_per_month"],
            width=640,
            height=270,
        )
        for key, rows in (("channel_chart", channels), ("category_chart", categories)):
            mine = [r for r in rows if r["month"] == name]
            m[key] = charts.stacked_bars(
                [r["key"] for r in mine],
                [charts.Series(t["received"], "received", [r["n"] for r in mine])],
                None,
                t["volume_channel" if key == "channel_chart" else "volume_category"],
                width=640,
                height=300,
            )
    return page(
        request,
        "monthly.html",
        who,
        lag=lag,
        months=months,
        clocks=CLOCKS,
        first=first,
        last=last,
        now=now,
    )


def _breaches_of(month: str) -> Callable[[str, str], str]:
    def target(clock: str, _series: str) -> str:
        return link("/console/cases", month=month, clock=clock, clock_status="breached")

    return target


def _csv(name: str, columns: list[str], rows: list[dict[str, Any]], lag: int | None) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: str(v).lower() if isinstance(v, bool) else v for k, v in row.items()})
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Projection-Lag": "unknown" if lag is None else str(lag),
        },
    )
