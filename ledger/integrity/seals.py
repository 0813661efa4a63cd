"""Seals: the chain head and complaint-heads root at a position, signed with Ed25519.

Ed25519 rather than HMAC, so that whoever holds a digest can check it with the public key
alone: a regulator can verify, but cannot make seals. The operator's private key comes
from ``LEDGER_SEAL_KEY`` (the 32-byte private key in hex) or from a key file (PEM,
PKCS#8); the first ``seal`` with neither creates the file.

A *digest* is a seal as a small JSON file, to hand to a regulator or keep off-site. It is
also what the ``LedgerSealed`` event records, so the ledger and its digests say the same.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ledger.domain.errors import AuditFileUnreadable, IntegrityViolation, SealKeyUnusable

if TYPE_CHECKING:
    from ledger.integrity.anchors import Anchor

DIGEST_FORMAT = "complaint-ledger-digest/1"
_SIGNED = b"complaint-ledger/seal/1\n"
KEY_ENV = "LEDGER_SEAL_KEY"


@dataclass(frozen=True)
class Seal:
    """What a seal asserts: up to ``position`` the log chain ends in ``head``, and the
    ``streams`` complaint heads hash to ``streams_root``. Hashes are hex."""

    position: int
    head: str
    events: int
    streams: int
    streams_root: str
    sealed_at: str
    previous_position: int | None
    previous_head: str | None

    def signed_bytes(self) -> bytes:
        return _SIGNED + json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Digest:
    """A seal with its signature and the public key to check it with."""

    seal: Seal
    public_key: str
    signature: str

    @property
    def key_id(self) -> str:
        return key_id(bytes.fromhex(self.public_key))

    def check_signature(self) -> None:
        """Raise ``SealKeyUnusable`` unless the signature is the public key's, on this seal."""
        try:
            public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.public_key))
            public.verify(bytes.fromhex(self.signature), self.seal.signed_bytes())
        except (InvalidSignature, ValueError):
            raise SealKeyUnusable(
                f"the seal at position {self.seal.position} does not carry a valid signature "
                f"of key {self.key_id}"
            ) from None

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": DIGEST_FORMAT,
            "seal": asdict(self.seal),
            "public_key": self.public_key,
            "key_id": self.key_id,
            "signature": self.signature,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Digest:
        try:
            if data["format"] != DIGEST_FORMAT:
                raise ValueError(f"format {data['format']!r} is not {DIGEST_FORMAT}")
            fields = data["seal"]
            seal = Seal(**{name: fields[name] for name in Seal.__dataclass_fields__})
            _check_seal_fields(seal)
            public_key = public_key_hex(data["public_key"])
            signature = _hex(data["signature"], 64, "signature")
            return cls(seal, public_key, signature)
        except (KeyError, TypeError, ValueError, SealKeyUnusable) as e:
            what = f"no {e}" if isinstance(e, KeyError) else str(e)
            raise AuditFileUnreadable(f"{where} is not a ledger digest: {what}") from None


def _hex(value: Any, size: int, what: str) -> str:
    """``value`` if it is ``size`` bytes in hex, lower-cased; else ValueError naming ``what``."""
    if not isinstance(value, str):
        raise ValueError(f"{what} is not text")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != size:
        raise ValueError(f"{what} is not {size} bytes in hex ({2 * size} hex digits)")
    return raw.hex()


def _check_seal_fields(seal: Seal) -> None:
    counts = {"position": seal.position, "events": seal.events, "streams": seal.streams}
    if seal.previous_position is not None:
        counts["previous_position"] = seal.previous_position
    for name, count in counts.items():
        if type(count) is not int or count < 0:
            raise ValueError(f"seal.{name} is not a whole number")
    hashes = {"head": seal.head, "streams_root": seal.streams_root}
    if seal.previous_head is not None:
        hashes["previous_head"] = seal.previous_head
    for name, value in hashes.items():
        _hex(value, 32, f"seal.{name}")
    if not isinstance(seal.sealed_at, str):
        raise ValueError("seal.sealed_at is not text")


def public_key_hex(value: Any) -> str:
    """An Ed25519 public key given in hex, checked and lower-cased."""
    try:
        key = _hex(value.strip() if isinstance(value, str) else value, 32, "the public key")
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(key))
    except ValueError:
        raise SealKeyUnusable(
            f"{value!r} is not an Ed25519 public key (64 hex digits, as in a digest's public_key)"
        ) from None
    return key


def check_seal_signatures(
    seals: list[Digest], digest: Digest | None, anchor: Anchor | None
) -> None:
    """Every seal signed by one key (``anchor``'s, else the digest's, else the first
    seal's), each following the previous. A digest that fails its own signature is blamed
    on the digest: it says nothing about the ledger."""
    if digest is not None:
        _check_digest(digest, anchor)
    trusted = anchor.public_key if anchor else (digest.public_key if digest else None)
    for i, d in enumerate(seals):
        d.check_signature()
        trusted = trusted or d.public_key
        if d.public_key != trusted:
            if digest is not None and anchor is None:
                raise IntegrityViolation(
                    f"the ledger's seal at position {d.seal.position} was signed by key "
                    f"{d.key_id}, the digest by key {digest.key_id}: the digest is not this "
                    "ledger's, or the ledger's seals were replaced"
                )
            raise IntegrityViolation(
                f"the seal at position {d.seal.position} was signed by key {d.key_id}, "
                + (
                    f"not by {anchor}: the ledger's seals were replaced, or it is not the "
                    "ledger that key seals"
                    if anchor
                    else "not by the key of the first seal: the ledger's seals were replaced"
                )
            )
        if i > 0:
            before = seals[i - 1].seal
            if (d.seal.previous_position, d.seal.previous_head) != (before.position, before.head):
                raise IntegrityViolation(
                    f"the seal at position {d.seal.position} does not follow the seal at "
                    f"position {before.position}: seals were removed or replaced"
                )


def _check_digest(digest: Digest, anchor: Anchor | None) -> None:
    try:
        digest.check_signature()
    except SealKeyUnusable:
        raise AuditFileUnreadable(
            f"the digest's signature does not match its seal (position {digest.seal.position}, "
            f"key {digest.key_id}): the digest file was altered or damaged; the ledger was "
            "not checked against it"
        ) from None
    if anchor is not None and digest.public_key != anchor.public_key:
        raise AuditFileUnreadable(
            f"the digest was signed by key {digest.key_id}, not by {anchor}: the ledger was "
            "not checked against it"
        )


def read_digest(path: str | Path) -> Digest:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AuditFileUnreadable(f"cannot read the digest {path}: {e}") from None
    return Digest.from_dict(data, str(path))


def key_id(public_key: bytes) -> str:
    """A short name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def sign(seal: Seal, key: Ed25519PrivateKey) -> Digest:
    return Digest(seal, public_bytes(key).hex(), key.sign(seal.signed_bytes()).hex())


def default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "complaint-ledger" / "seal-key.pem"


def load_signing_key(
    env_value: str | None, key_file: Path, *, create: bool
) -> tuple[Ed25519PrivateKey, Path | None]:
    """The operator's signing key: from ``env_value`` (hex), else from ``key_file``; when
    neither exists and ``create`` is set, a new key is written to ``key_file`` (mode 0600).
    Returns the key and the path of a file that was just created (else None)."""
    if env_value:
        try:
            return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(env_value.strip())), None
        except ValueError:
            raise SealKeyUnusable(
                f"{KEY_ENV} must be a 32-byte Ed25519 private key in hex (64 hex digits)"
            ) from None
    if key_file.exists():
        try:
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as e:
            raise SealKeyUnusable(f"cannot read the seal key {key_file}: {e}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SealKeyUnusable(f"{key_file} does not hold an Ed25519 private key")
        return key, None
    if not create:
        raise SealKeyUnusable(f"no seal key: set {KEY_ENV} or create {key_file} with seal")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(pem)
    except OSError as e:
        raise SealKeyUnusable(f"cannot create the seal key {key_file}: {e}") from None
    return key, key_file
