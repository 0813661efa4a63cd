"""The supervisor console: server-rendered pages under ``/console/`` of ``serve`` (docs/console.md).

Pages read the read models through the query side, as the API's GETs do, and never write;
forms post the API's commands through ``handle``. Identity and roles are the API's: a
staff token (kept as a signed session, or sent as ``Authorization: Bearer``) checked
against the staff directory on every request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from eventsourcing.persistence import MapperDeserialisationError, PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from commands.http.problems import Problem
from ledger.domain.errors import LedgerError

STATIC = Path(__file__).parent / "static"
PREFIX = "/console"


def install(app: FastAPI) -> None:
    from commands.http.console import actions, reports, session, views

    app.include_router(views.router)
    app.include_router(actions.router)
    app.include_router(reports.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")

    @app.get(PREFIX, include_in_schema=False)
    def console_root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    @app.exception_handler(session.NotSignedIn)
    def _sign_in(request: Request, error: session.NotSignedIn) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from commands.http.console.render import link

        return RedirectResponse(link(f"{PREFIX}/login", next=target), status_code=303)

    # The API answers errors as problem+json; a page of the console answers them as a page,
    # with the same status and the same message.
    for kind in (
        Problem,
        LedgerError,
        ValidationError,
        RequestValidationError,
        HTTPException,
        PersistenceError,
        MapperDeserialisationError,
    ):
        original = app.exception_handlers[kind]
        app.exception_handlers[kind] = _as_page(original)


def _as_page(original: Any) -> Any:
    def handler(request: Request, error: Exception) -> Response:
        answer: Response = original(request, error)
        if not request.url.path.startswith(f"{PREFIX}/"):
            return answer
        from commands.http.console import session
        from commands.http.console.render import page

        detail = str(orjson.loads(bytes(answer.body)).get("detail", ""))
        try:
            who = session.viewer(request)
        except Exception:  # the error may be the session's own: show the page without it
            who = None
        return page(request, "error.html", who, status=answer.status_code, detail=detail)

    return handler
