"""The code lists published into the policy book (``PolicyBook.publish_codes``), read back.

Each action that gives a cause code is checked against the list in force when it happened
(``codes_in_force``) and records that list's version; the read models map the code to the
regulator's through that version (``load_code_lists``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.domain.codes import CodeList, codes_from_dict, codes_to_dict
from ledger.domain.errors import CodesInvalid
from ledger.store.books import HasRepository, load_policy_book


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
        {
            "version": version,
            "effective_from": effective_from.isoformat(),
            **{k: v for k, v in codes_to_dict(codes_from_dict(book.code_lists[version])).items()
               if k != "version"},
        }
        for effective_from, version in book.codes_effective
    ]  # fmt: skip
