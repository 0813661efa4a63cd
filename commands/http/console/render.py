"""Rendering a page: the Jinja2 templates of the package, with what every page shows (the
language and its switch, who is signed in, the CSRF token, how far the read models lag)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from commands.http.auth import Caller
from commands.http.console import i18n, session

LOCAL = ZoneInfo("Asia/Shanghai")
env = Environment(
    loader=PackageLoader("commands.http.console", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def local_time(value: str | datetime | None) -> str:
    """A stored time as the command line shows it: Asia/Shanghai, with its offset."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M:%S %z").replace("+0800", "+08:00")


def duration(seconds: float | int | None) -> str:
    """A length of time as ``2d 3h 5m`` (negative: ``-2h 5m``)."""
    if seconds is None:
        return ""
    sign = "-" if seconds < 0 else ""
    left = int(abs(seconds))
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes = left // 60
    parts = [f"{days}d"] if days else []
    if days or hours:
        parts.append(f"{hours}h")
    parts.append(f"{minutes}m")
    return sign + " ".join(parts)


def until(value: str, now: datetime | None = None) -> str:
    moment = datetime.fromisoformat(value)
    return duration((moment - (now or datetime.now(UTC))).total_seconds())


env.filters["local"] = local_time
env.filters["duration"] = duration
env.filters["until"] = until


def link(path: str, **params: Any) -> str:
    """``path`` with the query ``params`` that are set."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


env.globals["link"] = link


def page(
    request: Request,
    template: str,
    who: Caller | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = i18n.lang_of(request)
    current = session.session_of(request)
    other = "en" if lang == "zh" else "zh"
    query = dict(request.query_params)
    query["lang"] = other
    html = env.get_template(template).render(
        t=i18n.translator(lang),
        lang=lang,
        switch_to=other,
        switch_url=link(request.url.path, **query),
        who=who,
        csrf=current.csrf,
        lag=context.pop("lag", None),
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in i18n.LANGS:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, path="/console", samesite="lax")
    session.keep(request, response)
    return response
