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
    # The fields sealed under the complaint's key in the events (personal data, free text):
    # left out of the public part of the fingerprint (``commands.fingerprints``).
    sealed_fields: ClassVar[frozenset[str]] = frozenset()

    command_id: CommandId
    actor: ActorIn
    occurred_at: Moment | None = None

    # Optional fields added after commands of the kind had been logged: left out of the
    # fingerprint while at their default, so that a resubmission of a command logged before
    # they existed is still recognised as the same command.
    added_fields: ClassVar[frozenset[str]] = frozenset()

    def fingerprint(self) -> str:
        """Recognises a resubmission: same content, same fingerprint. Unkeyed: kept for the
        commands that touch no complaint, and for command-log rows written before the
        fingerprints of complaints' commands were keyed (``commands.fingerprints``)."""
        return hashlib.sha256(self.body()).hexdigest()

    def _unset_added(self) -> set[str]:
        fields = type(self).__pydantic_fields__  # (``model_fields`` is a slower descriptor)
        return {n for n in self.added_fields if getattr(self, n) == fields[n].default}

    def body(self, unset: set[str] | None = None) -> bytes:
        """The command's content, as fingerprinted (``unset``: ``_unset_added()``, if known)."""
        unset = self._unset_added() if unset is None else unset
        return self.model_dump_json(exclude={"command_id", *unset}).encode()

    def public_fingerprint(self, unset: set[str] | None = None) -> str:
        """SHA-256 of the content without its sealed fields: what the events show anyway."""
        unset = self._unset_added() if unset is None else unset
        excluded = {"command_id", *self.sealed_fields, *unset}
        public = self.model_dump_json(exclude=excluded)
        return hashlib.sha256(public.encode()).hexdigest()

    @property
    def target(self) -> str:
        """The name of the stream the command writes to, for messages."""
        raise NotImplementedError
