"""Training and drills (issue 15, item 7) through the real HTTP API, on both backends:
``record_training`` is offered by ``POST /v1/commands`` like every command of the union,
with the same role check and the staff directory's check of attendees; ``GET /v1/training``
and ``/v1/drills`` read as ``training report`` and ``drill list``."""

from __future__ import annotations

from tests.e2e.http_server import Api, serving, staff_directory
from tests.helpers import event_count, run


def test_training_is_recorded_through_the_api(ledger_url: str) -> None:
    tokens = staff_directory(ledger_url)
    session = {"command": "record_training", "topic": "应急预案培训", "date": "2026-11-20",
               "attendees": ["li", "wang"], "unit": "customer_service"}  # fmt: skip
    with serving(ledger_url) as base:
        api = Api(ledger_url, base, tokens)
        with api.client("wang", "handling_team") as team, api.client("li") as cs:
            recorded = team.post("/v1/commands", json=session)
            before = event_count(ledger_url)
            stranger = team.post("/v1/commands", json={**session, "attendees": ["nobody"]})
            forbidden = cs.post("/v1/commands", json=session)
            report = cs.get("/v1/training", params={"unit": "customer_service"})
            drills = cs.get("/v1/drills")

    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["events"] == ["TrainingRecorded"]
    assert stranger.status_code == 422
    assert "nobody not in the staff directory" in stranger.json()["detail"]
    assert forbidden.status_code == 403
    assert event_count(ledger_url) == before
    assert report.status_code == 200, report.text
    assert report.json() == [
        {"unit": "customer_service", "sessions": 1, "trained": ["li"], "never_trained": []}
    ]
    assert (drills.status_code, drills.json()) == (200, [])
    shown = run(ledger_url, "training", "report", "--unit", "customer_service")
    assert shown.stdout.splitlines()[-1].split() == ["customer_service", "1", "li", "-"]
