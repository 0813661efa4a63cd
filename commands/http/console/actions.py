"""The console's POSTs: signing in and out, and a case action. Every form is checked for
its CSRF token first; an action then goes through ``handle`` as the API's commands do."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from commands.handlers import handle
from commands.http.console import forms, session
from commands.http.console.render import page
from commands.http.problems import Problem
from ledger.domain.values import Role

router = APIRouter(prefix="/console", include_in_schema=False)
Short = Annotated[str, Form(max_length=200)]


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/console/") -> HTMLResponse:
    return page(request, "login.html", session.viewer(request), next=_safe(next), roles=[])


@router.post("/login", response_model=None)
def login(
    request: Request,
    csrf: Short = "",
    token: Short = "",
    role: Short = "",
    next: Short = "/console/",
) -> Response:
    session.check_csrf(request, csrf)
    response = RedirectResponse(_safe(next), status_code=303)
    try:
        session.sign_in(request, response, token, _role(role))
    except Problem as e:
        several = session.roles_to_choose(request, token) if e.status == 400 else []
        detail = e.detail
        if several:
            detail = f"you hold the roles {', '.join(several)}: choose the one to act in"
        return page(
            request,
            "login.html",
            None,
            status=e.status,
            error=f"Error: {detail}",
            next=_safe(next),
            roles=several,
        )
    return response


@router.post("/logout")
def logout(request: Request, csrf: Short = "") -> RedirectResponse:
    session.check_csrf(request, csrf)
    response = RedirectResponse("/console/login", status_code=303)
    session.sign_out(request, response)
    return response


@router.post("/cases/{ref}/actions", response_model=None)
async def act(request: Request, ref: str) -> Response:
    data = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    session.check_csrf(request, data.get("csrf"))
    who = session.require(request)
    command = forms.command_of(data.get("command", ""), ref, data, who.staff_id, who.role)
    outcome = await run_in_threadpool(handle, session.ledger_of(request), command, None, who.proof)
    done = quote(f"{outcome.command} v{outcome.version}")
    return RedirectResponse(f"/console/cases/{quote(ref)}?done={done}", status_code=303)


def _safe(target: str) -> str:
    """Only a path of the console: never a redirect to another site."""
    if target.startswith("/console/") and not target.startswith("//"):
        return target
    return "/console/"


def _role(value: str) -> Role | None:
    if not value:
        return None
    try:
        return Role(value)
    except ValueError:
        raise Problem(400, f"{value!r} is not a role") from None
