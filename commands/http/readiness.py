"""The readiness GETs: training per unit and the drills recorded, as ``training report`` and
``drill list`` answer in JSON (docs/drills.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from commands.http.auth import CallerDep, LedgerDep
from commands.readiness_views import drill_rows, training_rows
from ledger.domain.values import Unit
from ledger.store.books import load_readiness_book, load_staff_directory

router = APIRouter(prefix="/v1", tags=["readiness"])


@router.get("/training", summary="Per unit: sessions, members trained and never trained")
def training(who: CallerDep, ledger: LedgerDep, unit: Unit | None = None) -> list[dict[str, Any]]:
    book, directory = load_readiness_book(ledger), load_staff_directory(ledger)
    return training_rows(book, directory, None if unit is None else str(unit))


@router.get("/drills", summary="The drills recorded, with their scores (as drill list)")
def drills(who: CallerDep, ledger: LedgerDep) -> list[dict[str, Any]]:
    return drill_rows(load_readiness_book(ledger))
