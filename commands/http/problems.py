"""Errors as RFC 9457 problem details (``application/problem+json``), and only here.

Every expected failure has its status (400 malformed, 401 no or bad token, 403 role, 404
unknown complaint, 409 conflict after retries, 422 a rule refused the command, 503 the
database is unreachable); a stored event that cannot be decoded is a 500 that says so and
points to ``complaint-ledger verify``; anything else is a 500 whose body says nothing of the
code.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from eventsourcing.persistence import MapperDeserialisationError, PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from commands.errors import describe_validation_error
from ledger.domain.errors import (
    ComplaintNotFound,
    ConcurrentChange,
    IdentityNotProven,
    LedgerError,
    RoleNotAllowed,
    StoredEventUnreadable,
    StoreUnavailable,
    TokenRefused,
    unreadable_event,
)

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("complaint_ledger.http")

# The most specific class first: NotAuthorised is a RoleNotAllowed.
STATUSES: list[tuple[type[LedgerError], int]] = [
    (TokenRefused, 401),
    (RoleNotAllowed, 403),
    (IdentityNotProven, 403),
    (ComplaintNotFound, 404),
    (ConcurrentChange, 409),
    (StoreUnavailable, 503),
    (StoredEventUnreadable, 500),
]


class Problem(Exception):
    """A refusal decided by the API itself (a missing token, a malformed body …)."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def unauthorised(detail: str) -> Problem:
    return Problem(401, detail, {"WWW-Authenticate": 'Bearer realm="complaint-ledger"'})


def status_of(error: LedgerError) -> int:
    for kind, status in STATUSES:
        if isinstance(error, kind):
            return status
    return 422  # a rule of the ledger refused the command


def install(app: FastAPI) -> None:
    """Answer every error the app can meet as a problem."""

    @app.exception_handler(Problem)
    def _problem(request: Request, error: Problem) -> JSONResponse:
        return problem(error.status, error.detail, error.headers)

    @app.exception_handler(LedgerError)
    def _refused(request: Request, error: LedgerError) -> JSONResponse:
        status = status_of(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status == 500:  # the stored data's fault, not the code's: the operator is told
            log.warning("unreadable stored event on %s %s: %s", request.method,
                        request.url.path, error)  # fmt: skip
        return problem(status, str(error), headers)

    @app.exception_handler(ValidationError)
    def _invalid(request: Request, error: ValidationError) -> JSONResponse:
        return problem(400, describe_validation_error(error))

    @app.exception_handler(RequestValidationError)
    def _malformed(request: Request, error: RequestValidationError) -> JSONResponse:
        parts = []
        for item in error.errors():
            where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
            message = str(item.get("msg", "is invalid")).removeprefix("Value error, ")
            parts.append(f"{where}: {message}" if where else message)
        return problem(400, "; ".join(parts) or "malformed request")

    @app.exception_handler(HTTPException)
    def _http(request: Request, error: HTTPException) -> JSONResponse:
        return problem(error.status_code, str(error.detail), getattr(error, "headers", None))

    @app.exception_handler(PersistenceError)
    def _database(request: Request, error: PersistenceError) -> JSONResponse:
        log.warning("database error on %s %s: %s", request.method, request.url.path, error)
        return problem(503, "the database could not be reached or refused the operation")

    @app.exception_handler(MapperDeserialisationError)
    def _unreadable(request: Request, error: MapperDeserialisationError) -> JSONResponse:
        # A stored event changed outside the ledger: no fault of the code, so no traceback;
        # the operator and the caller are both told where to look.
        detail = unreadable_event(error)
        log.warning("unreadable stored event on %s %s: %s", request.method, request.url.path,
                    detail)  # fmt: skip
        return problem(500, detail)

    @app.exception_handler(Exception)
    def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # Logged on the server with its traceback; the client learns only that it failed.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "the server met an unexpected error")
