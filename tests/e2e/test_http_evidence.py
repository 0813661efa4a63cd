"""Evidence and accountability through the real HTTP server (issue 15), on both backends:
``attach`` offered by ``POST /v1/commands`` (the caller keeps the file), refusals as
problem+json with nothing appended, an erasure through the API deleting the evidence folder's
files, and the accountability reads answering as their command-line twins."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.http_server import Api, serving, staff_directory
from tests.e2e.test_http_serve import SCRIPT, free_port
from tests.helpers import event_count, jsonl, life_cmds, run

PROBLEM = "application/problem+json"
LEAD = ["--actor", "chen", "--role", "leadership"]


def closed(url: str, *refs: str) -> None:
    commands = [c for ref in refs for c in life_cmds(ref)]
    for command in commands:
        command["actor"] = {"id": "wang", "role": command["actor"]["role"]}
    applied = run(url, "apply", "-", input=jsonl(commands))
    assert applied.exit_code == 0, applied.output


def attach(ref: str, data: bytes, **fields: Any) -> dict[str, Any]:
    return {"command": "attach", "ref": ref, "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data), "kind": "recording", "location": "nas://recordings/0925.mp3",
            **fields}  # fmt: skip


def test_evidence_through_the_api_and_erasure_deletes_the_kept_files(
    ledger_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "evidence-of-the-server"
    monkeypatch.setenv("LEDGER_EVIDENCE_DIR", str(folder))
    tokens = staff_directory(ledger_url)
    closed(ledger_url, "TS-H1")
    source = tmp_path / "call.mp3"
    source.write_bytes(b"the call, recorded")
    cli = run(ledger_url, "attach", "TS-H1", str(source), "--kind", "recording", "--actor",
              "li", "--role", "customer_service")  # fmt: skip
    assert cli.exit_code == 0, cli.output
    assert len([p for p in folder.rglob("*") if p.is_file()]) == 1

    with serving(ledger_url) as base:
        api = Api(ledger_url, base, tokens)
        with api.client("li") as cs, api.client("chen") as lead:
            answer = cs.post("/v1/commands", json=attach("TS-H1", b"second call"))
            assert answer.status_code == 201, answer.text
            assert answer.json()["events"] == ["EvidenceAttached"]
            before = event_count(ledger_url)
            malformed = cs.post("/v1/commands", json=attach("TS-H1", b"x", sha256="beef"))
            unknown = cs.post("/v1/commands", json=attach("TS-NOPE", b"x"))
            wrong_kind = cs.post("/v1/commands", json=attach("TS-H1", b"x", kind="video"))
            for refused, status in ((malformed, 400), (unknown, 404), (wrong_kind, 400)):
                assert refused.status_code == status, refused.text
                assert refused.headers["content-type"].startswith(PROBLEM)
            assert event_count(ledger_url) == before
            shown = lead.get("/v1/complaints/TS-H1").json()
            assert [(a["kind"], a["size"]) for a in shown["attachments"]] == [
                ("recording", 18), ("recording", 11),
            ]  # fmt: skip
            erased = lead.post("/v1/commands", json={"command": "erase", "ref": "TS-H1",
                                                     "reason": "保存期满"})  # fmt: skip
            assert erased.status_code == 201, erased.text
    assert [p for p in folder.rglob("*") if p.is_file()] == []


def test_serve_deletes_an_erased_complaints_files_from_the_folder_its_evidence_dir_names(
    ledger_url: str, tmp_path: Path
) -> None:
    """``serve --evidence-dir`` means what ``attach --evidence-dir`` means: an erasure by
    ``POST /v1/commands`` deletes the files from that folder, whatever LEDGER_EVIDENCE_DIR
    says (the real process, as an operator starts it)."""
    folder, decoy = tmp_path / "given", tmp_path / "the-environments-folder"
    tokens = staff_directory(ledger_url)
    closed(ledger_url, "TS-H4")
    source = tmp_path / "call.mp3"
    source.write_bytes(b"the call, recorded")
    cli = run(ledger_url, "attach", "TS-H4", str(source), "--kind", "recording", "--actor",
              "li", "--role", "customer_service", "--evidence-dir", str(folder))  # fmt: skip
    assert cli.exit_code == 0, cli.output
    assert len([p for p in folder.rglob("*") if p.is_file()]) == 1
    port = free_port()
    server = subprocess.Popen(
        [SCRIPT, "serve", "--port", str(port), "--db", ledger_url, "--no-follow",
         "--evidence-dir", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "LEDGER_EVIDENCE_DIR": str(decoy)},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while server.poll() is None and time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        erase = {"command": "erase", "ref": "TS-H4", "reason": "保存期满"}
        lead = {"Authorization": f"Bearer {tokens['chen']}"}
        erased = httpx.post(f"{base}/v1/commands", json=erase, headers=lead, timeout=30)
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)

    assert erased.status_code == 201, erased.text + stderr
    assert [p for p in folder.rglob("*") if p.is_file()] == []
    assert server.returncode == 0, stderr


def test_accountability_records_and_breaches_answer_as_the_command_line(
    ledger_url: str,
) -> None:
    tokens = staff_directory(ledger_url)
    closed(ledger_url, "TS-H2", "TS-H3")
    for ref, staff in (("TS-H2", "wang"), ("TS-H3", "zhao")):
        recorded = run(ledger_url, "accountability", "record", ref, "--staff", staff,
                       "--finding", "未按时回访", "--decision", "通报批评", *LEAD)  # fmt: skip
        assert recorded.exit_code == 0, recorded.output

    with serving(ledger_url) as base:
        api = Api(ledger_url, base, tokens)
        api.wait_fresh()
        with api.client("li") as client:
            every = client.get("/v1/accountability")
            of_wang = client.get("/v1/accountability", params={"staff": "wang"})
            by_team = client.get("/v1/accountability/breaches", params={"by": "team"})
            bad = client.get("/v1/accountability/breaches", params={"by": "weather"})

    def cli(*args: str) -> Any:
        result = run(ledger_url, *args, "--format", "json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert every.status_code == 200, every.text
    assert every.json()["items"] == cli("accountability", "list")
    assert [r["staff"] for r in every.json()["items"]] == ["wang", "zhao"]
    assert of_wang.json()["items"] == cli("accountability", "list", "--staff", "wang")
    assert by_team.status_code == 200, by_team.text
    assert by_team.json()["items"] == cli("accountability", "breaches", "--by", "team")
    assert by_team.json()["items"][0]["team"] == "处置一组"
    assert by_team.json()["lag"] == 0
    assert bad.status_code in (400, 422)
    assert bad.headers["content-type"].startswith(PROBLEM)
