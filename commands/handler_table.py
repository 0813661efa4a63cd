"""How each group of handlers lists the commands it decides: one typed pair per command, so
that mypy checks every handler against the command it is registered for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from commands.models import Envelope
from ledger.domain.values import Stamp

if TYPE_CHECKING:
    from commands.handlers import Handler, LedgerPort

C = TypeVar("C", bound=Envelope)


def handles(
    command: type[C], handler: Callable[[LedgerPort, C, Stamp, datetime], Any]
) -> tuple[type[Envelope], Handler]:
    """``command`` and the function that decides it, checked against each other."""
    return command, handler
