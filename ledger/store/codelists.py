"""The code lists published into the policy book (``PolicyBook.publish_codes``), read back.

Each action that gives a cause code is checked against the list in force when it happened
(``codes_in_force``) and records that list's version; the read models map the code to the
regulator's through that version (``load_code_lists``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.domain.codes import CodeList, codes_from_dict, codes_to_dict
from ledger.domain.errors import CodesInvalid
from ledger.domain.events import name_of
from ledger.store.books import (
    POLICY_BOOK_ID,
    POLICY_BOOK_REF,
    HasEvents,
    HasRepository,
    load_policy_book,
)


@dataclass(frozen=True)
class CodesPublication:
    """One ``CodesPublished``, named ``label`` like the policy book's other publications
    (``@policies v3``): what the ``publications`` read model keeps of it."""

    label: str
    recorded: datetime
    version: str
    effective_from: datetime
    document: dict[str, Any]

    def entry(self) -> dict[str, Any]:
        """As ``published_code_lists`` lists it."""
        return listed(self.version, self.effective_from, self.document)


def codes_publication(event: Any) -> CodesPublication | None:
    """The code list an event of the policy book publishes (None for other events)."""
    if name_of(event) != "PolicyBook.CodesPublished":
        return None
    label = f"{POLICY_BOOK_REF} v{event.originator_version}"
    return CodesPublication(
        label, event.timestamp, event.version, event.effective_from, event.document
    )


def load_codes_publications(app: HasEvents) -> list[CodesPublication]:
    """Every code list published, in the order recorded."""
    found = (codes_publication(e) for e in app.events.get(POLICY_BOOK_ID))
    return [p for p in found if p is not None]


def listed(version: str, effective_from: datetime, document: dict[str, Any]) -> dict[str, Any]:
    """A code list version as ``codes list --format json`` lists it: its version, when it
    takes effect and its codes."""
    codes = codes_to_dict(codes_from_dict(document))
    return {
        "version": version,
        "effective_from": effective_from.isoformat(),
        **{k: v for k, v in codes.items() if k != "version"},
    }


def code_list_of(entries: list[dict[str, Any]], version: str) -> CodeList:
    """The code list ``version`` among listed entries (``listed``)."""
    for entry in entries:
        if entry["version"] == version:
            return codes_from_dict({k: v for k, v in entry.items() if k != "effective_from"})
    known = ", ".join(e["version"] for e in entries) or "none"
    raise CodesInvalid(f"no code list version {version!r}; published: {known}")


def code_list(app: HasRepository, version: str) -> CodeList:
    """A published code list by version."""
    book = load_policy_book(app)
    if book is None or version not in book.code_lists:
        known = ", ".join(book.code_lists if book else []) or "none"
        raise CodesInvalid(f"no code list version {version!r}; published: {known}")
    return codes_from_dict(book.code_lists[version])


def codes_in_force(app: HasRepository, moment: datetime) -> CodeList | None:
    """The code list an action at ``moment`` is checked against (None: none in force)."""
    book = load_policy_book(app)
    version = None if book is None else book.codes_in_force(moment)
    return None if book is None or version is None else codes_from_dict(book.code_lists[version])


def load_code_lists(app: HasRepository) -> dict[str, CodeList]:
    """Every code list published so far, by version."""
    book = load_policy_book(app)
    found = {} if book is None else book.code_lists
    return {version: codes_from_dict(document) for version, document in found.items()}


def published_code_lists(app: HasRepository) -> list[dict[str, Any]]:
    """Every code list published, by effective time: its version, when it takes effect and
    its codes (what ``codes list --format json`` and ``GET /v1/codes`` answer)."""
    book = load_policy_book(app)
    if book is None:
        return []
    return [
        listed(version, effective_from, book.code_lists[version])
        for effective_from, version in book.codes_effective
    ]
