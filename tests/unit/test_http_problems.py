"""Each refusal of the ledger has its HTTP status (RFC 9457 problems, commands/http)."""

from __future__ import annotations

import pytest

from commands.http.problems import status_of
from ledger.domain import errors


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.TokenRefused, 401),
        (errors.RoleNotAllowed, 403),
        (errors.NotAuthorised, 403),
        (errors.IdentityNotProven, 403),
        (errors.ComplaintNotFound, 404),
        (errors.ConcurrentChange, 409),
        (errors.StoreUnavailable, 503),
        (errors.OutOfOrder, 422),
        (errors.DuplicateReference, 422),
        (errors.CommandIdReused, 422),
        (errors.DirectoryRefused, 422),
        (errors.PolicyInvalid, 422),
    ],
)
def test_each_refusal_has_its_status(error: type[errors.LedgerError], status: int) -> None:
    assert status_of(error("refused")) == status
