"""The command log's fingerprint of a command: how a resubmission is recognised.

A command on a complaint is fingerprinted as ``k1:<public>:<mac>``:

- ``public`` is SHA-256 of the command without its sealed fields (personal data and free
  text, ``Envelope.sealed_fields``): everything it covers is in the events in plain anyway;
- ``mac`` is an HMAC of the whole command under a key derived from the complaint's own key
  (``ledger.store.crypto.keyed_digest``), or ``-`` when the complaint has no key any more
  (the erasure itself, and commands recorded after it, whose text was withheld).

Erasing the complaint's key therefore leaves nothing to test a guess against: the public part
is the same whatever the personal data was, and the MAC cannot be recomputed. A per-ledger
secret kept in the database would not do that (whoever has the database file has the secret
too), and one kept outside it would have to be kept for as long as the ledger.

Commands that touch no complaint (staff, policy, calendar) keep the unkeyed SHA-256 of the
whole command, as every command had before; rows of that form written by earlier releases
are compared the old way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from enum import Enum

from commands.envelope import Envelope
from ledger.store.crypto import keyed_digest

PREFIX = "k1:"
NO_KEY = "-"


class Match(Enum):
    SAME = "same"
    DIFFERENT = "different"
    # The command's sealed fields cannot be compared: the complaint's key was destroyed.
    UNKNOWABLE = "unknowable"


def keyed(command: Envelope, key: bytes | None) -> str:
    """The fingerprint of a command on a complaint whose key is ``key`` (None: erased)."""
    unset = command._unset_added()  # looked up once for both parts
    if command.sealed_fields:
        public = command.public_fingerprint(unset)
        mac = NO_KEY if key is None else keyed_digest(key, command.body(unset))
    else:  # the public part is the whole body: one dump for both
        body = command.body(unset)
        public = hashlib.sha256(body).hexdigest()
        mac = NO_KEY if key is None else keyed_digest(key, body)
    return f"{PREFIX}{public}:{mac}"


def compare(command: Envelope, stored: str, key: Callable[[], bytes | None]) -> Match:
    """Whether ``command`` is the one whose fingerprint is ``stored``; ``key`` gives the
    complaint's key now (None once erased), asked only when needed."""
    if not stored.startswith(PREFIX):
        return Match.SAME if stored == command.fingerprint() else Match.DIFFERENT
    public, _, mac = stored.removeprefix(PREFIX).partition(":")
    if public != command.public_fingerprint():
        return Match.DIFFERENT
    if mac == NO_KEY or not command.sealed_fields:
        # Either nothing was kept of the sealed fields, or there are none: the public part
        # is all there is to compare.
        return Match.SAME
    current = key()
    if current is None:
        return Match.UNKNOWABLE
    return Match.SAME if keyed_digest(current, command.body()) == mac else Match.DIFFERENT
