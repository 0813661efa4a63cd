"""Trust anchors: what ties a verification to the ledger's rightful seal key.

Recomputing the chain shows only that the ledger agrees with itself. Whoever can write to
its database can rewrite events, recompute every link and sign the result with a key of
their own, and the ledger then agrees with itself again. A verification proves that
nothing was changed only against something kept outside the database: a digest, or the
public key the seals must be signed with.

An anchor is given on the command line (``--digest``, ``--public-key``) or configured on
the machine that verifies: the public key in ``LEDGER_VERIFY_PUBLIC_KEY``, else the public
half of the seal key that ``seal`` would sign with there (``LEDGER_SEAL_KEY``, or the key
file, if it exists). Whoever holds the seal key may trust it; an auditor who does not sets
the public key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ledger.domain.errors import SealKeyUnusable
from ledger.integrity.seals import KEY_ENV, key_id, load_signing_key, public_bytes, public_key_hex

VERIFY_KEY_ENV = "LEDGER_VERIFY_PUBLIC_KEY"


@dataclass(frozen=True)
class Anchor:
    """The public key (hex) every seal must be signed with, and where it came from, as a
    message names it."""

    public_key: str
    source: str

    @property
    def key_id(self) -> str:
        return key_id(bytes.fromhex(self.public_key))

    def __str__(self) -> str:
        return f"key {self.key_id} ({self.source})"


def configured_anchor(environ: Mapping[str, str], key_file: Path) -> Anchor | None:
    """The anchor this machine is configured with, or None: ``LEDGER_VERIFY_PUBLIC_KEY``,
    else the public half of the seal key in ``LEDGER_SEAL_KEY`` or in ``key_file``.
    A variable set to the empty string counts as unset."""
    given = environ.get(VERIFY_KEY_ENV)
    if given:
        try:
            return Anchor(public_key_hex(given), VERIFY_KEY_ENV)
        except SealKeyUnusable as e:
            raise SealKeyUnusable(f"{VERIFY_KEY_ENV}: {e}") from None
    seal_key = environ.get(KEY_ENV)
    if not seal_key and not key_file.exists():
        return None
    key, _ = load_signing_key(seal_key, key_file, create=False)
    source = f"the seal key in {KEY_ENV}" if seal_key else f"the seal key at {key_file}"
    return Anchor(public_bytes(key).hex(), source)


def unanchored_reason(anchor: Anchor | None, sealed: bool) -> str | None:
    """Why a verification that passed proves only internal consistency, or None when it
    was checked against ``anchor`` (a digest's key, or a key given or configured) through
    at least one seal (``sealed``)."""
    if anchor is None:
        return (
            "no trust anchor, so only the ledger's internal consistency was checked: whoever "
            "can write to its database can rewrite it and re-seal it with a key of their own. "
            f"Give --digest FILE or --public-key HEX (or set {VERIFY_KEY_ENV}), or --no-anchor "
            "to accept an internal check"
        )
    if not sealed:
        return (
            f"no seal ties what was checked to {anchor}: it was not sealed yet, or its seals "
            "were removed, so only its internal consistency was checked. Run complaint-ledger "
            "seal, or give --no-anchor to accept an internal check"
        )
    return None
