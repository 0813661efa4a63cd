"""The FastAPI application: built around one open ledger (the composition root's), its
routes thin adapters onto ``handle`` and the read models, every error a problem."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from commands.http import console, problems, readiness, reads, reports, writes
from commands.http.follower import Follower
from commands.http.readside import ReadSide
from ledger.store.root import Ledger

TITLE = "complaint-ledger"


def create_app(ledger: Ledger, follow: str | None = None) -> FastAPI:
    """The API over ``ledger``; with ``follow`` (the ledger's URL), a projection follower
    keeps its read models fresh while the app runs. The caller opens and closes the ledger."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        follower = Follower(follow) if follow else None
        if follower is not None:
            follower.start()
        try:
            yield
        finally:
            if follower is not None:
                follower.stop()

    app = FastAPI(
        title=TITLE,
        version="1",
        summary="An event-sourced ledger for debt-collection complaints.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.ledger = ledger
    app.state.read_side = ReadSide(ledger)
    problems.install(app)
    app.include_router(writes.router)
    app.include_router(reads.router)
    app.include_router(reports.router)
    app.include_router(readiness.router)
    console.install(app)  # /console/: the supervisor console's pages

    @app.get("/healthz", tags=["operations"], summary="Database reachable, projection lag")
    def healthz() -> JSONResponse:
        try:
            freshness = app.state.read_side.freshness()
        except Exception as e:  # unreachable or refusing: say so, as a health check must
            problems.log.warning("health check failed: %s", e)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        return JSONResponse(
            {
                "status": "ok",
                "database": "reachable",
                "head": freshness.head,
                "projections": freshness.positions,
                "lag": freshness.lag,
            }
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _with_command_bodies(
                get_openapi(title=TITLE, version="1", routes=app.routes)
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _with_command_bodies(spec: dict[str, Any]) -> dict[str, Any]:
    """Give ``POST /v1/commands`` the schema of the command models (less ``actor``)."""
    body, defs = writes.command_schemas()
    spec.setdefault("components", {}).setdefault("schemas", {}).update(defs)
    for path in spec["paths"].values():
        for operation in path.values():
            if operation.pop("x-command-body", False):
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": body}},
                }
    return spec
