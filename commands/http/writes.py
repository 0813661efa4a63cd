"""``POST /v1/commands``: one command object of the JSON Lines contract, without ``actor``.

The body is validated by the same pydantic models as ``apply`` (their schema, less
``actor``, is what ``/openapi.json`` shows). The actor is the token's member acting in the
role ``X-Acting-Role`` picks; a body that names an actor is refused, so nobody can record
in another's name by writing it into the body."""

from __future__ import annotations

import copy
import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from commands.evidence import purge_evidence
from commands.fields import CommandId
from commands.handlers import Outcome, handle
from commands.http.auth import CallerDep, LedgerDep
from commands.http.problems import Problem
from commands.models import COMMAND_ADAPTER, parse_command

router = APIRouter(prefix="/v1", tags=["commands"])
MAX_BODY = 1_000_000  # bytes: a policy document is the largest command (100,000 characters)


def command_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """The request body's schema (one of the commands, by ``command``) and the schemas it
    refers to, made from the command models with ``actor`` taken out (and ``command_id``
    optional: the Idempotency-Key header may give it, or the API makes one)."""
    schema = COMMAND_ADAPTER.json_schema(ref_template="#/components/schemas/{model}")
    defs: dict[str, Any] = copy.deepcopy(schema.pop("$defs", {}))
    for definition in defs.values():
        properties = definition.get("properties", {})
        if "command" in properties and "actor" in properties:
            del properties["actor"]
            required = definition.get("required", [])
            definition["required"] = [r for r in required if r not in ("actor", "command_id")]
    defs.pop("ActorIn", None)
    return schema, defs


OUTCOME_SCHEMA = {
    "type": "object",
    "required": ["command", "command_id", "ref", "version", "events", "duplicate"],
    "properties": {
        "command": {"type": "string"},
        "command_id": {"type": "string"},
        "ref": {"type": "string"},
        "version": {"type": "integer"},
        "events": {"type": "array", "items": {"type": "string"}},
        "duplicate": {"type": "boolean"},
    },
}


@router.post(
    "/commands",
    status_code=201,
    summary="Apply one command",
    responses={201: {"content": {"application/json": {"schema": OUTCOME_SCHEMA}}}},
    openapi_extra={"x-command-body": True},  # the body's schema is filled in by the app
)
async def post_command(
    request: Request,
    who: CallerDep,
    ledger: LedgerDep,
    idempotency_key: Annotated[
        CommandId | None,
        Header(alias="Idempotency-Key", description="The command id (or give command_id)."),
    ] = None,
) -> JSONResponse:
    """Apply a command as the token's member; a resubmission (same ``Idempotency-Key`` or
    ``command_id``) appends nothing and answers as the first time did."""
    data = _body(await request.body())
    if "actor" in data:
        raise Problem(
            400,
            "actor: the API takes the actor from the token and the role from X-Acting-Role; "
            "leave actor out",
        )
    given = data.get("command_id")
    if idempotency_key is not None and given is not None and given != idempotency_key:
        raise Problem(400, "command_id and the Idempotency-Key header differ; give one of them")
    data["command_id"] = idempotency_key or given or str(uuid.uuid4())
    data["actor"] = {"id": who.staff_id, "role": str(who.role)}
    command = parse_command(data)
    outcome: Outcome = await run_in_threadpool(handle, ledger, command, None, who.proof)
    if outcome.command == "erase":  # recorded: the erased complaint's evidence files go
        await run_in_threadpool(purge_evidence, ledger, outcome.ref, ledger.evidence_dir)
    return JSONResponse(outcome.as_dict(), status_code=201)


def _body(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_BODY:
        raise Problem(413, f"the body is larger than {MAX_BODY} bytes")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise Problem(400, f"the body is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise Problem(400, "the body must be one JSON object (a command)")
    return data
