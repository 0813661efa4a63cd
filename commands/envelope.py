"""What every command model shares: frozen, strict about unknown fields, and the envelope of
who acts, when, and under which command id."""

from __future__ import annotations

import hashlib
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from commands.fields import CommandId, Moment, Name
from ledger.domain.values import Role


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class ActorIn(_Frozen):
    id: Name
    role: Role


class Envelope(_Frozen):
    """What every command carries: who, when, and an id that makes it idempotent."""

    action: ClassVar[str]

    command_id: CommandId
    actor: ActorIn
    occurred_at: Moment | None = None

    # Optional fields added after commands of the kind had been logged: left out of the
    # fingerprint while at their default, so that a resubmission of a command logged before
    # they existed is still recognised as the same command.
    added_fields: ClassVar[frozenset[str]] = frozenset()

    def fingerprint(self) -> str:
        """Recognises a resubmission: same content, same fingerprint."""
        fields = type(self).model_fields
        unset = {n for n in self.added_fields if getattr(self, n) == fields[n].default}
        body = self.model_dump_json(exclude={"command_id", *unset})
        return hashlib.sha256(body.encode()).hexdigest()

    @property
    def target(self) -> str:
        """The name of the stream the command writes to, for messages."""
        raise NotImplementedError
