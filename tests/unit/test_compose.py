"""docker-compose.yml runs the API beside PostgreSQL (no Docker engine here: read as YAML)."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def test_the_api_service_serves_the_ledger_of_the_postgres_service() -> None:
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]

    api = services["api"]
    command = " ".join(api["command"])
    assert api["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "exec complaint-ledger serve --host 0.0.0.0 --port 8000" in command
    assert "--db postgresql://postgres@postgres:5432/complaints" in command
    assert api["ports"] == ["127.0.0.1:8000:8000"]
    assert "/healthz" in " ".join(api["healthcheck"]["test"])
    assert set(services) == {"postgres", "api"}
