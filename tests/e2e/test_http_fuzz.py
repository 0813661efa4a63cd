"""Property-based fuzzing of the API as its OpenAPI document describes it (schemathesis),
against the real server on both backends: requests that fit the schema and requests that do
not, on every operation. Whatever is sent, the server answers without a 5xx and without a
traceback, every refusal is a problem document, and a refused request appends nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from ledger.store.root import Ledger, open_ledger
from tests.e2e.http_server import Api, serving, staff_directory
from tests.helpers import jsonl, life_cmds, run

# Per operation and mode; raise it (FUZZ_EXAMPLES=500) for a longer search by hand.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
PROBLEM = "application/problem+json"


@pytest.fixture
def api(ledger_url: str) -> Iterator[Api]:
    tokens = staff_directory(ledger_url)
    for ref in ("TS-F1", "TS-F2"):  # something for the generated references to find
        assert run(ledger_url, "apply", "-", input=jsonl(life_cmds(ref, "plan"))).exit_code == 0
    with serving(ledger_url) as base:
        yield Api(ledger_url, base, tokens)


def check_operation(api: Api, ledger: Ledger, operation: object, mode: GenerationMode) -> None:
    strategy = operation.as_strategy(generation_mode=mode)  # type: ignore[attr-defined]
    who = st.sampled_from(sorted(api.tokens))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, member=who)
    def one_request(case: schemathesis.Case, member: str) -> None:
        before = ledger.count_events()

        response = case.call(
            base_url=api.base,
            headers={"Authorization": f"Bearer {api.tokens[member]}"},
            timeout=30,
        )

        assert response.status_code < 500, (case.method, case.path, response.text)
        assert "Traceback" not in response.text
        if response.status_code >= 400:
            assert response.headers.get("content-type") in (PROBLEM, [PROBLEM]), response.text
            assert ledger.count_events() == before, (case.method, case.path, response.text)
        if case.method != "POST":
            assert ledger.count_events() == before  # reads never write

    one_request()


def test_no_request_gets_a_5xx_a_traceback_or_a_change_when_refused(api: Api) -> None:
    schema = schemathesis.openapi.from_url(f"{api.base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]

    with open_ledger(api.url) as ledger:
        for operation in operations:
            check_operation(api, ledger, operation, GenerationMode.POSITIVE)
            try:
                check_operation(api, ledger, operation, GenerationMode.NEGATIVE)
            except Unsatisfiable:  # nothing to get wrong: /healthz takes no input
                assert operation.path == "/healthz"

    assert {f"{o.method.upper()} {o.path}" for o in operations} >= {
        "POST /v1/commands",
        "GET /v1/complaints/{ref}/history",
        "GET /v1/queue",
        "GET /healthz",
    }
