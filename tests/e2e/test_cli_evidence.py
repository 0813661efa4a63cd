"""Evidence and callbacks after closure (issue 15, item 6) through the command line and JSON
Lines, on SQLite and PostgreSQL: ``attach`` keeps the file under its SHA-256 and records its
hash, size and kind; refusals append and copy nothing; erasure deletes the files; audit
bundles carry the hashes and ``verify-bundle`` checks the files; callbacks, reached or not,
are recorded on a closed complaint without reopening it or changing a verdict."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

import commands.evidence as evidence_commands
from ledger.store.evidence import check_file, stored_path
from ledger.store.root import open_ledger
from projections.query import open_query
from tests.audit_helpers import SEAL_ENV
from tests.conftest import PG_DSN, pg_url
from tests.e2e.test_http_serve import SCRIPT
from tests.helpers import actor, event_count, jsonl, life_cmds, run
from tests.holds.sitecustomize import HOLD_DISCARD, held_env

CS = ["--actor", "li", "--role", "customer_service"]
LEAD = ["--actor", "chen", "--role", "leadership"]
RECORDING = "催收员深夜来电的录音".encode() * 1000


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "kept-evidence"


def cli(url: str, folder: Path, *args: str, input: str | None = None) -> Any:
    return run(url, *args, input=input, env={"LEDGER_EVIDENCE_DIR": str(folder)})


def ok(url: str, folder: Path, *args: str, input: str | None = None) -> str:
    result = cli(url, folder, *args, input=input)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def refused(url: str, folder: Path, *args: str) -> str:
    """The one line of a refusal: nothing appended, nothing copied."""
    before, files = event_count(url), kept(folder)
    result = cli(url, folder, *args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    assert event_count(url) == before
    assert kept(folder) == files
    return str(lines[0])


def kept(folder: Path) -> list[str]:
    """The files in the evidence folder, by path relative to it."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def stored_text(url: str) -> str:
    with open_ledger(url) as ledger:
        return " ".join(
            bytes(n.state).decode("utf-8", "replace")
            for n in ledger.recorder.select_notifications(1, 10_000)
        )


def closed_case(url: str, folder: Path, ref: str) -> None:
    assert cli(url, folder, "apply", "-", input=jsonl(life_cmds(ref))).exit_code == 0


def evidence_file(tmp_path: Path, name: str = "张三来电录音.mp3", data: bytes = RECORDING) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_attach_keeps_the_file_under_its_hash_and_records_hash_size_and_kind(
    ledger_url: str, folder: Path, tmp_path: Path
) -> None:
    url = ledger_url
    closed_case(url, folder, "TS-V1")
    source = evidence_file(tmp_path)
    sha256 = hashlib.sha256(RECORDING).hexdigest()

    out = ok(url, folder, "attach", "TS-V1", str(source), "--kind", "recording",
             "--note", "客户张三的来电", "--occurred-at", "2026-09-30T10:00:00+08:00",
             *CS)  # fmt: skip

    assert out == "TS-V1: EvidenceAttached (version 9)\n"
    assert kept(folder) == [f"sha256/{sha256[:2]}/{sha256[2:]}"]
    assert (folder / kept(folder)[0]).read_bytes() == RECORDING
    assert (folder / kept(folder)[0]).stat().st_mode & 0o077 == 0  # personal data: owner only
    shown = json.loads(ok(url, folder, "show", "TS-V1", "--format", "json"))
    assert shown["status"] == "closed"  # evidence after closure reopens nothing
    assert shown["attachments"] == [
        {"kind": "recording", "sha256": sha256, "size": len(RECORDING), "version": 9,
         "filename": "张三来电录音.mp3"}
    ]  # fmt: skip
    table = ok(url, folder, "show", "TS-V1")
    assert (
        f"evidence file: recording {sha256[:12]} {len(RECORDING)} bytes 张三来电录音.mp3" in table
    )
    history = json.loads(ok(url, folder, "history", "TS-V1", "--format", "json"))
    attached = next(e for e in history["events"] if e["event"] == "EvidenceAttached")
    assert attached["fields"] == {
        "sha256": sha256, "size": len(RECORDING), "kind": "recording",
        "location": f"sha256/{sha256[:2]}/{sha256[2:]}", "filename": "张三来电录音.mp3",
        "note": "客户张三的来电",
    }  # fmt: skip
    stored = stored_text(url)
    assert sha256 in stored  # the hash is plain (bundles prove it) ...
    assert "张三来电录音" not in stored  # ... the name is not
    assert "客户张三的来电" not in stored
    with open_query(url) as query, query.transaction() as cur:
        cur.execute("SELECT evidence_files FROM {case_state} WHERE ref = ?", ("TS-V1",))
        assert cur.fetchall()[0]["evidence_files"] == 1
    assert "Evidence attached (recording): sha256 " + sha256[:12] in ok(
        url, folder, "audit", "TS-V1"
    )


def test_the_same_file_attached_twice_is_kept_once(
    ledger_url: str, folder: Path, tmp_path: Path
) -> None:
    closed_case(ledger_url, folder, "TS-V2")
    source = evidence_file(tmp_path, "letter.pdf", b"%PDF-1.4 letter")

    for _ in range(2):
        ok(ledger_url, folder, "attach", "TS-V2", str(source), "--kind", "document", *CS)

    assert len(kept(folder)) == 1
    shown = json.loads(ok(ledger_url, folder, "show", "TS-V2", "--format", "json"))
    assert [a["version"] for a in shown["attachments"]] == [9, 10]


def test_a_sqlite_ledger_keeps_its_evidence_beside_its_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledgers' / 'l.db'}"
    (tmp_path / "ledgers").mkdir()
    closed_case(url, tmp_path / "unused", "TS-V3")
    source = evidence_file(tmp_path, "shot.png", b"\x89PNG screenshot")

    result = run(url, "attach", "TS-V3", str(source), "--kind", "screenshot", *CS)

    assert result.exit_code == 0, result.output
    assert len(kept(tmp_path / "ledgers" / "evidence")) == 1


def test_refusals_give_one_error_line_append_nothing_and_copy_nothing(
    ledger_url: str, folder: Path, tmp_path: Path
) -> None:
    url = ledger_url
    closed_case(url, folder, "TS-V4")
    source = evidence_file(tmp_path)
    unreadable = evidence_file(tmp_path, "locked.mp3", b"locked")
    unreadable.chmod(0)

    assert refused(url, folder, "attach", "TS-V4", str(tmp_path / "nope.mp3"), "--kind",
                   "recording", *CS) == (
        f"Error: {tmp_path / 'nope.mp3'} does not exist; attach a file that does"
    )  # fmt: skip
    directory = refused(url, folder, "attach", "TS-V4", str(tmp_path), "--kind", "recording", *CS)
    assert directory == f"Error: {tmp_path} is a directory; attach one file at a time"
    if os.geteuid() != 0:  # root reads any file
        locked = refused(url, folder, "attach", "TS-V4", str(unreadable), "--kind", "recording",
                         *CS)  # fmt: skip
        assert locked == f"Error: {unreadable} cannot be read (permission denied)"
    assert refused(url, folder, "attach", "TS-V4", str(source), "--kind", "video", *CS) == (
        "Error: kind: Input should be 'recording', 'document' or 'screenshot'"
    )
    assert refused(url, folder, "attach", "TS-NOPE", str(source), "--kind", "recording",
                   *CS) == "Error: no complaint has reference 'TS-NOPE'"  # fmt: skip
    assert refused(url, folder, "attach", "TS-V4", str(source), "--kind", "recording",
                   "--actor", "ops", "--role", "operator") == (
        "Error: role operator may not attach; allowed: customer_service, handling_team, "
        "leadership, business_department"
    )  # fmt: skip
    withdrawn = [*life_cmds("TS-W4", "assign"),
                 {"command": "withdraw", "command_id": "w4", "ref": "TS-W4",
                  "actor": actor("customer_service"), "reason": "客户撤回"}]  # fmt: skip
    assert cli(url, folder, "apply", "-", input=jsonl(withdrawn)).exit_code == 0
    assert refused(url, folder, "attach", "TS-W4", str(source), "--kind", "recording", *CS) == (
        "Error: TS-W4 was withdrawn by the complainant; attach is not allowed"
    )
    assert kept(folder) == []


def test_a_file_the_folder_cannot_keep_records_no_event(
    ledger_url: str, folder: Path, tmp_path: Path
) -> None:
    """The file lands under its name before the event is recorded: a folder that cannot take
    it (here a file stands where its subfolder would go, which stops root too) leaves one
    Error line, no event, and nothing of the copy."""
    url = ledger_url
    closed_case(url, folder, "TS-VB")
    source = evidence_file(tmp_path)
    sha256 = hashlib.sha256(RECORDING).hexdigest()
    (folder / "sha256").mkdir(parents=True)
    (folder / "sha256" / sha256[:2]).write_bytes(b"in the way")

    line = refused(url, folder, "attach", "TS-VB", str(source), "--kind", "recording", *CS)

    assert line.startswith("Error: cannot keep the file in the evidence folder: ")
    assert kept(folder) == [f"sha256/{sha256[:2]}"]  # what was in the way, and no copy
    shown = json.loads(ok(url, folder, "show", "TS-VB", "--format", "json"))
    assert shown["attachments"] == []


def test_a_refused_attach_takes_its_file_away_unless_an_event_attaches_it(
    ledger_url: str, folder: Path, tmp_path: Path
) -> None:
    """A command refused after its file landed takes the file away again; not one that was
    there already, nor one an event attaches though the folder did not hold it."""
    url = ledger_url
    closed_case(url, folder, "TS-VC")
    held = evidence_file(tmp_path, "held.mp3", b"attached to TS-VC")
    ok(url, folder, "attach", "TS-VC", str(held), "--kind", "recording", *CS)
    named = evidence_file(tmp_path, "named.mp3", b"recording 7")  # attach_line's 7th file
    ok(url, folder, "apply", "-", input=jsonl([attach_line("TS-VC", 7)]))
    orphan = evidence_file(tmp_path, "orphan.mp3", b"attached to nothing")
    files = kept(folder)

    before = event_count(url)

    lines = [refused(url, folder, "attach", "TS-NOPE", str(path), "--kind", "recording", *CS)
             for path in (held, orphan)]  # fmt: skip
    third = cli(url, folder, "attach", "TS-NOPE", str(named), "--kind", "recording", *CS)

    assert lines == ["Error: no complaint has reference 'TS-NOPE'"] * 2
    assert (third.exit_code, third.stderr) == (
        1, "Error: no complaint has reference 'TS-NOPE'\n"
    )  # fmt: skip
    assert event_count(url) == before
    digest = hashlib.sha256(b"recording 7").hexdigest()
    assert kept(folder) == sorted([*files, f"sha256/{digest[:2]}/{digest[2:]}"])


def attach_line(ref: str, n: int, **fields: Any) -> dict[str, Any]:
    data = b"recording %d" % n
    return {
        "command": "attach", "command_id": f"{ref}-attach-{n}", "ref": ref,
        "actor": actor("customer_service"), "occurred_at": "2026-09-30T10:00:00+08:00",
        "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "kind": "recording",
        "location": f"s3://evidence-bucket/{ref}/{n}.mp3", **fields,
    }  # fmt: skip


def test_json_lines_callers_send_hash_size_and_location_and_export_gives_them_back(
    ledger_url: str, second_url: str, folder: Path
) -> None:
    url = ledger_url
    closed_case(url, folder, "TS-V5")
    good = attach_line("TS-V5", 1, filename="来电.mp3", note="首次来电")
    bad_hash = attach_line("TS-V5", 2, sha256="ABC")
    no_location = attach_line("TS-V5", 3)
    del no_location["location"]

    result = cli(url, folder, "apply", "-", input=jsonl([good, bad_hash, no_location]))

    assert result.exit_code == 1
    assert "line 2: sha256: String should match pattern" in result.stderr
    assert "line 3: location: is required" in result.stderr
    assert "applied 1, already applied 0, failed 2" in result.stdout
    assert kept(folder) == []  # the caller keeps its file
    shown = json.loads(ok(url, folder, "show", "TS-V5", "--format", "json"))
    assert [(a["kind"], a["sha256"]) for a in shown["attachments"]] == [
        ("recording", good["sha256"])
    ]
    exported = [json.loads(line) for line in ok(url, folder, "export-commands").splitlines()]
    attach = next(c for c in exported if c["command"] == "attach")
    assert {k: attach[k] for k in ("sha256", "size", "kind", "location", "filename", "note")} == {
        k: good[k] for k in ("sha256", "size", "kind", "location", "filename", "note")
    }
    again = cli(second_url, folder, "apply", "-", input=jsonl(exported))
    assert again.exit_code == 0, again.output
    assert event_count(second_url) == event_count(url)


def test_erasure_deletes_the_evidence_files_unless_another_complaint_holds_them(
    ledger_url: str, folder: Path, tmp_path: Path
) -> None:
    url = ledger_url
    closed_case(url, folder, "TS-V6")
    closed_case(url, folder, "TS-V7")
    own = evidence_file(tmp_path, "own.mp3", b"only TS-V6's recording")
    shared = evidence_file(tmp_path, "shared.pdf", b"a letter about both complaints")
    ok(url, folder, "attach", "TS-V6", str(own), "--kind", "recording", *CS)
    ok(url, folder, "attach", "TS-V6", str(shared), "--kind", "document", *CS)
    ok(url, folder, "attach", "TS-V7", str(shared), "--kind", "document", *CS)
    external = attach_line("TS-V6", 9)
    assert cli(url, folder, "apply", "-", input=jsonl([external])).exit_code == 0
    own_hash = hashlib.sha256(own.read_bytes()).hexdigest()
    shared_hash = hashlib.sha256(shared.read_bytes()).hexdigest()

    out = ok(url, folder, "erase", "TS-V6", "--reason", "保存期满", *LEAD)

    assert out.splitlines() == [
        "TS-V6: PersonalDataErased (version 12)",
        f"evidence file deleted: {folder / 'sha256' / own_hash[:2] / own_hash[2:]}",
        f"evidence file kept: sha256 {shared_hash[:12]} is also held by a complaint not erased",
        f"evidence file not in the evidence folder: sha256 {external['sha256'][:12]} (whoever "
        "keeps it must delete it)",
    ]
    assert kept(folder) == [f"sha256/{shared_hash[:2]}/{shared_hash[2:]}"]
    shown = json.loads(ok(url, folder, "show", "TS-V6", "--format", "json"))
    assert {a["filename"] for a in shown["attachments"]} == {"[erased]", None}

    erase = {"command": "erase", "command_id": "erase-v7", "ref": "TS-V7",
             "actor": actor("leadership", "chen"), "reason": "保存期满"}  # fmt: skip
    assert cli(url, folder, "apply", "-", input=jsonl([erase])).exit_code == 0
    assert kept(folder) == []  # JSON Lines erasures delete them too, once nobody holds them


def test_apply_deletes_an_erased_complaints_files_from_the_folder_its_evidence_dir_names(
    ledger_url: str, folder: Path, tmp_path: Path
) -> None:
    """``apply --evidence-dir`` means what ``attach --evidence-dir`` means: an erase line
    deletes the files from that folder, whatever LEDGER_EVIDENCE_DIR says."""
    url = ledger_url
    decoy = tmp_path / "the-environments-folder"
    closed_case(url, folder, "TS-VA")
    source = evidence_file(tmp_path)
    given = ["--evidence-dir", str(folder)]
    environment = {"LEDGER_EVIDENCE_DIR": str(decoy)}
    attached = run(url, "attach", "TS-VA", str(source), "--kind", "recording", *CS, *given,
                   env=environment)  # fmt: skip
    assert attached.exit_code == 0, attached.output
    assert len(kept(folder)) == 1
    assert kept(decoy) == []
    erase = {"command": "erase", "command_id": "erase-va", "ref": "TS-VA",
             "actor": actor("leadership", "chen"), "reason": "保存期满"}  # fmt: skip

    applied = run(url, "apply", "-", *given, input=jsonl([erase]), env=environment)

    assert applied.exit_code == 0, applied.output
    assert kept(folder) == []


def test_attach_to_an_erased_complaint_is_refused_so_no_file_outlives_the_erasure(
    ledger_url: str, folder: Path, tmp_path: Path
) -> None:
    """A file attached after the erasure would be kept for ever: ``erase`` cannot run twice,
    so nothing would ever delete it. Refused by CLI and JSON Lines alike."""
    url = ledger_url
    closed_case(url, folder, "TS-V8")
    ok(url, folder, "erase", "TS-V8", "--reason", "保存期满", *LEAD)
    late = evidence_file(tmp_path, "张三补充录音.mp3", b"a recording made after the erasure")

    line = refused(url, folder, "attach", "TS-V8", str(late), "--kind", "recording", *CS)
    before = event_count(url)
    applied = cli(url, folder, "apply", "-", input=jsonl([attach_line("TS-V8", 1)]))

    assert line == (
        "Error: TS-V8: the complainant's personal data was erased; no evidence may be "
        "attached to it"
    )
    assert applied.exit_code == 1
    assert event_count(url) == before
    assert kept(folder) == []


def test_a_refused_attach_of_an_erased_complaints_file_does_not_bring_the_file_back(
    ledger_url: str, folder: Path, tmp_path: Path
) -> None:
    """The erased complaint's own event still attaches the file's hash, but the erasure
    deleted the file: attaching that file again, refused (to the erased complaint, or to no
    complaint), must not leave it in the folder, where nothing would ever delete it."""
    url = ledger_url
    closed_case(url, folder, "TS-VD")
    source = evidence_file(tmp_path)
    ok(url, folder, "attach", "TS-VD", str(source), "--kind", "recording", *CS)
    ok(url, folder, "erase", "TS-VD", "--reason", "保存期满", *LEAD)
    assert kept(folder) == []

    lines = [refused(url, folder, "attach", ref, str(source), "--kind", "recording", *CS)
             for ref in ("TS-VD", "TS-NOPE")]  # fmt: skip

    assert lines[0].startswith("Error: TS-VD: the complainant's personal data was erased")
    assert lines[1] == "Error: no complaint has reference 'TS-NOPE'"
    assert kept(folder) == []


def test_an_erasure_while_an_attach_of_the_same_file_is_being_recorded_leaves_the_file(
    postgres_schema: str, folder: Path, tmp_path: Path
) -> None:
    """``attach`` lands its file before it records the event. An erasure of another complaint
    holding the same file could look at the log in between, not see the attach's event yet,
    and delete the file: it waits for the attach instead (the evidence folder's lock), then
    sees the attach's event and keeps the file. Made to happen every time: the test holds the
    lock the library's writers take, so the attach (a process of its own) waits with its file
    landed, while the erasure, run again with its command id (it only reads), is started."""
    url = pg_url(postgres_schema)
    closed_case(url, folder, "TS-VE")
    closed_case(url, folder, "TS-VF")
    source = evidence_file(tmp_path)
    ok(url, folder, "attach", "TS-VE", str(source), "--kind", "recording", *CS)
    first = run(url, "erase", "TS-VE", "--reason", "保存期满", *LEAD,
                env={"LEDGER_EVIDENCE_DIR": str(tmp_path / "elsewhere")})  # fmt: skip
    assert first.exit_code == 0, first.output
    files = kept(folder)
    events = json.loads(ok(url, folder, "history", "TS-VE", "--format", "json"))["events"]
    command_id = next(e for e in events if e["event"] == "PersonalDataErased")["command_id"]
    table = f"{postgres_schema}.complaintledger_events"
    opened = f"{url}&create_tables=no"  # creating what is missing would wait for the lock too

    with psycopg.connect(PG_DSN) as lock, psycopg.connect(PG_DSN, autocommit=True) as look:
        lock.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        attach = subprocess.Popen(
            [SCRIPT, "attach", "TS-VF", str(source), "--kind", "recording", *CS],
            env={**os.environ, "LEDGER_DB": opened, "LEDGER_EVIDENCE_DIR": str(folder)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        waiting = "SELECT 1 FROM pg_locks WHERE relation = %s::regclass AND NOT granted"
        while look.execute(waiting, (table,)).fetchone() is None:
            assert attach.poll() is None, attach.communicate()
            assert time.monotonic() < deadline, "the attach never reached the lock"
            time.sleep(0.05)
        erase = subprocess.Popen(
            [SCRIPT, "erase", "TS-VE", "--reason", "保存期满", "--command-id", command_id,
             *LEAD],
            env={**os.environ, "LEDGER_DB": opened, "LEDGER_EVIDENCE_DIR": str(folder)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        with contextlib.suppress(subprocess.TimeoutExpired):
            erase.wait(timeout=5)  # without the folder's lock it deletes the file here
        between = kept(folder)
    out, err = attach.communicate(timeout=60)
    again, erase_err = erase.communicate(timeout=60)

    assert erase.returncode == 0, erase_err
    sha256 = hashlib.sha256(RECORDING).hexdigest()
    assert again.splitlines()[1] == (
        f"evidence file kept: sha256 {sha256[:12]} is also held by a complaint not erased"
    )
    assert between == files
    assert attach.returncode == 0, err
    assert out.startswith("TS-VF: EvidenceAttached")
    assert kept(folder) == files
    shown = json.loads(ok(url, folder, "show", "TS-VF", "--format", "json"))
    assert [a["sha256"] for a in shown["attachments"]] == [hashlib.sha256(RECORDING).hexdigest()]


def test_a_failed_attach_never_deletes_the_file_of_a_second_writers_attach(
    ledger_url: str, folder: Path, tmp_path: Path
) -> None:
    """Two writers attach one file at once, one to a complaint that does not exist. The failed
    one looked at the log before the other's event was recorded, found no event holding the
    file, and is about to delete it (held there, ``HOLD_DISCARD``). The second writer waits
    for it rather than record its event and check its file in between: the failed one ends
    with one Error line, the second attaches, and the file is kept, nothing half-written."""
    url = ledger_url
    assert (
        cli(url, folder, "apply", "-", input=jsonl(life_cmds("TS-VR", until="assign"))).exit_code
        == 0
    )
    source = evidence_file(tmp_path)
    hold = tmp_path / "hold"
    hold.mkdir()
    env = {**os.environ, "LEDGER_DB": url, "LEDGER_EVIDENCE_DIR": str(folder)}

    def attach(ref: str, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [SCRIPT, "attach", ref, str(source), "--kind", "recording", *CS],
            env={**env, **extra}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    failing = attach("TS-NOPE", **held_env(HOLD_DISCARD, hold))
    deadline = time.monotonic() + 60
    while not (hold / "discarding").exists():
        assert failing.poll() is None, failing.communicate()
        assert time.monotonic() < deadline, "the failed attach never reached its delete"
        time.sleep(0.02)
    second = attach("TS-VR")
    with contextlib.suppress(subprocess.TimeoutExpired):
        second.wait(timeout=5)  # without the folder's lock it ends here, before the delete
    (hold / "go").touch()
    _, failed_err = failing.communicate(timeout=60)
    out, err = second.communicate(timeout=60)

    assert (failing.returncode, failed_err) == (1, "Error: no complaint has reference 'TS-NOPE'\n")
    assert second.returncode == 0, err
    assert out.startswith("TS-VR: EvidenceAttached")
    sha256 = hashlib.sha256(RECORDING).hexdigest()
    assert kept(folder) == [stored_path(sha256)]  # the file, and no temporary copy
    assert check_file(folder, sha256, len(RECORDING)).status == "ok"
    shown = json.loads(ok(url, folder, "show", "TS-VR", "--format", "json"))
    assert [a["sha256"] for a in shown["attachments"]] == [sha256]


def test_an_erasure_that_found_no_other_holder_never_deletes_the_file_of_an_attach_recorded_since(
    ledger_url: str, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An erasure looks at the log for other holders of its complaint's file, finds none, and
    deletes it. An attach of the same file to another complaint that records its event and
    checks its file in between (the file already there, so it puts nothing in) would be left
    holding a deleted file. The erasure is held between its look and its delete: the attach,
    a process of its own, waits for it (the folder's lock), then puts the file back in."""
    url = ledger_url
    closed_case(url, folder, "TS-VG")
    closed_case(url, folder, "TS-VH")
    source = evidence_file(tmp_path)
    sha256 = hashlib.sha256(RECORDING).hexdigest()
    ok(url, folder, "attach", "TS-VG", str(source), "--kind", "recording", *CS)
    erased = run(url, "erase", "TS-VG", "--reason", "保存期满", *LEAD,
                 env={"LEDGER_EVIDENCE_DIR": str(tmp_path / "elsewhere")})  # fmt: skip
    assert erased.exit_code == 0, erased.output
    assert kept(folder) == [stored_path(sha256)]

    looked, go = threading.Event(), threading.Event()
    real = evidence_commands._held_elsewhere

    def held_elsewhere(ledger: Any, own: Any, hashes: set[str]) -> set[str]:
        found = real(ledger, own, hashes)
        looked.set()
        go.wait(timeout=60)
        return found

    monkeypatch.setattr(evidence_commands, "_held_elsewhere", held_elsewhere)
    purged: list[Any] = []

    def erase_files() -> None:
        with open_ledger(url) as ledger:
            purged.append(evidence_commands.purge_evidence(ledger, "TS-VG", folder))

    eraser = threading.Thread(target=erase_files)
    eraser.start()
    assert looked.wait(timeout=60), "the erasure never looked at the log"
    attach = subprocess.Popen(
        [SCRIPT, "attach", "TS-VH", str(source), "--kind", "recording", *CS],
        env={**os.environ, "LEDGER_DB": url, "LEDGER_EVIDENCE_DIR": str(folder)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    with contextlib.suppress(subprocess.TimeoutExpired):
        attach.wait(timeout=5)  # without the lock it ends here, before the erasure deletes
    go.set()
    eraser.join(timeout=60)
    out, err = attach.communicate(timeout=60)

    assert attach.returncode == 0, err
    assert out.startswith("TS-VH: EvidenceAttached")
    assert [p.deleted for p in purged] == [[folder / stored_path(sha256)]]
    assert kept(folder) == [stored_path(sha256)]
    assert check_file(folder, sha256, len(RECORDING)).status == "ok"
    shown = json.loads(ok(url, folder, "show", "TS-VH", "--format", "json"))
    assert [a["sha256"] for a in shown["attachments"]] == [sha256]


def test_an_erasure_that_left_its_files_deletes_them_when_run_again_with_its_command_id(
    ledger_url: str, folder: Path, tmp_path: Path
) -> None:
    """The files go after the event is recorded; an erasure stopped in between (or given the
    wrong folder) is finished by the same command again: its id, found in ``history``, makes
    it a duplicate that appends nothing but deletes the files."""
    url = ledger_url
    closed_case(url, folder, "TS-V9")
    ok(url, folder, "attach", "TS-V9", str(evidence_file(tmp_path)), "--kind", "recording", *CS)
    first = run(url, "erase", "TS-V9", "--reason", "保存期满", *LEAD,
                env={"LEDGER_EVIDENCE_DIR": str(tmp_path / "elsewhere")})  # fmt: skip
    assert first.exit_code == 0, first.output
    left = kept(folder)
    events = json.loads(ok(url, folder, "history", "TS-V9", "--format", "json"))["events"]
    command_id = next(e for e in events if e["event"] == "PersonalDataErased")["command_id"]
    before = event_count(url)

    again = ok(url, folder, "erase", "TS-V9", "--reason", "保存期满", "--command-id",
               command_id, *LEAD)  # fmt: skip

    assert len(left) == 1
    assert "already applied; nothing appended" in again.splitlines()[0]
    assert again.splitlines()[1] == f"evidence file deleted: {folder / left[0]}"
    assert event_count(url) == before
    assert kept(folder) == []


def sla_verdicts(url: str, folder: Path, ref: str) -> list[tuple[str, str, Any]]:
    shown = json.loads(ok(url, folder, "sla", ref, "--as-of", "2026-10-31T00:00:00+08:00",
                          "--format", "json"))  # fmt: skip
    return [(c["clock"], c["status"], c["met_at"]) for c in shown]


def test_callbacks_reached_or_not_are_recorded_after_closure_without_reopening_or_rejudging(
    ledger_url: str, folder: Path
) -> None:
    url = ledger_url
    closed_case(url, folder, "TS-V8")
    before = sla_verdicts(url, folder, "TS-V8")
    missed = {"command": "record_callback", "command_id": "cb-missed", "ref": "TS-V8",
              "actor": actor("customer_service"), "reached": False, "comment": "无人接听",
              "occurred_at": "2026-10-08T10:00:00+08:00"}  # fmt: skip

    applied = cli(url, folder, "apply", "-", input=jsonl([missed]))
    reached = ok(url, folder, "record-callback", "TS-V8", "--satisfaction", "2", "--comment",
                 "不满意", "--occurred-at", "2026-10-09T10:00:00+08:00", *CS)  # fmt: skip
    again = ok(url, folder, "record-callback", "TS-V8", "--not-reached",
               "--occurred-at", "2026-10-10T10:00:00+08:00", *CS)  # fmt: skip

    assert applied.exit_code == 0, applied.output
    assert reached == "TS-V8: CallbackRecorded (version 10)\n"
    assert again == "TS-V8: CallbackNotReached (version 11)\n"
    shown = json.loads(ok(url, folder, "show", "TS-V8", "--format", "json"))
    assert (shown["status"], shown["stage"], shown["closed_at"]) == (
        "closed", "closed", "2026-09-29T09:00:00+08:00",
    )  # fmt: skip
    assert (shown["satisfaction"], shown["missed_callbacks"], shown["reopened_count"]) == (2, 2, 0)
    assert sla_verdicts(url, folder, "TS-V8") == before
    listed = json.loads(ok(url, folder, "list", "--format", "json"))
    assert [(c["ref"], c["status"], c["satisfaction"]) for c in listed] == [("TS-V8", "closed", 2)]
    assert "Callback: not reached" in ok(url, folder, "audit", "TS-V8")


def test_callback_refusals_give_one_error_line(ledger_url: str, folder: Path) -> None:
    url = ledger_url
    closed_case(url, folder, "TS-V9")

    assert refused(url, folder, "record-callback", "TS-V9", "--not-reached", "--satisfaction",
                   "3", *CS) == (
        "Error: a callback that did not reach the complainant has no satisfaction"
    )  # fmt: skip
    assert refused(url, folder, "record-callback", "TS-V9", *CS) == (
        "Error: a callback that reached the complainant needs their satisfaction"
    )


def test_bundles_carry_the_evidence_hashes_and_verify_bundle_checks_the_files(
    ledger_url: str, folder: Path, tmp_path: Path
) -> None:
    url = ledger_url
    closed_case(url, folder, "TS-VB")
    recording = evidence_file(tmp_path)
    letter = evidence_file(tmp_path, "letter.pdf", b"%PDF letter")
    ok(url, folder, "attach", "TS-VB", str(recording), "--kind", "recording", *CS)
    ok(url, folder, "attach", "TS-VB", str(letter), "--kind", "document", *CS)
    assert run(url, "seal", "--out", str(tmp_path / "digest.json"), env=SEAL_ENV).exit_code == 0
    ok(url, folder, "export", "TS-VB", "--out", str(tmp_path / "bundle"))
    bundle, digest = str(tmp_path / "bundle"), str(tmp_path / "digest.json")
    rec_hash = hashlib.sha256(RECORDING).hexdigest()
    letter_hash = hashlib.sha256(letter.read_bytes()).hexdigest()
    assert rec_hash in (tmp_path / "bundle" / "events.json").read_text()

    intact = run(url, "verify-bundle", bundle, "--digest", digest, "--evidence", str(folder))
    assert intact.exit_code == 0, intact.output
    assert "evidence: 2 files of 2 intact" in intact.stdout

    (folder / "sha256" / letter_hash[:2] / letter_hash[2:]).unlink()
    partly = run(url, "verify-bundle", bundle, "--digest", digest, "--evidence", str(folder))
    assert partly.exit_code == 0, partly.output
    assert partly.stdout.splitlines()[1:] == [
        "evidence: 1 file of 2 intact",
        f"evidence not checked (not found in {folder}): TS-VB version 10 document sha256 "
        f"{letter_hash[:12]}",
    ]

    tampered = folder / "sha256" / rec_hash[:2] / rec_hash[2:]
    tampered.write_bytes(RECORDING.replace("录音".encode(), "噪音".encode()))
    failed = run(url, "verify-bundle", bundle, "--digest", digest, "--evidence", str(folder))
    assert failed.exit_code == 1
    assert failed.stderr.strip().splitlines() == [
        f"Error: evidence file {tampered} (TS-VB version 9, recording) was changed: its bytes "
        f"no longer hash to the sha256 {rec_hash} and size {len(RECORDING)} recorded"
    ]

    unchecked = run(url, "verify-bundle", bundle, "--digest", digest)  # no folder: not checked
    assert unchecked.exit_code == 0
    assert "evidence: 0 files of 2 intact" in unchecked.stdout
    assert "evidence not checked (no --evidence folder given)" in unchecked.stdout


def test_callbacks_without_a_comment_export_as_commands_that_apply_again(
    ledger_url: str, second_url: str, folder: Path
) -> None:
    closed_case(ledger_url, folder, "TS-VC")
    ok(ledger_url, folder, "record-callback", "TS-VC", "--satisfaction", "3", *CS)
    ok(ledger_url, folder, "record-callback", "TS-VC", "--not-reached", *CS)

    exported = ok(ledger_url, folder, "export-commands")

    callbacks = [json.loads(line) for line in exported.splitlines() if "record_callback" in line]
    assert [("comment" in c, c.get("reached", True)) for c in callbacks] == [
        (False, True), (False, False),
    ]  # fmt: skip
    again = cli(second_url, folder, "apply", "-", input=exported)
    assert again.exit_code == 0, again.output
    assert event_count(second_url) == event_count(ledger_url)
