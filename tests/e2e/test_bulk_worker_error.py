"""An unexpected error while deciding, met in a worker of ``apply --bulk --workers`` (which
sends it to the main process) or in the main process itself: one ``Error:`` line, exit 1,
no traceback, and no worker left behind. The error is real: the stored event to be read is
not what the ledger wrote (an administrator changed its bytes), so decoding it fails."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.audit_helpers import superuser
from tests.helpers import event_count, jsonl, life_cmds, run

PROGRAM = str(Path(sys.executable).parent / "complaint-ledger")


def in_group(group: int) -> list[int]:
    """The processes still running in process group ``group`` (zombies have ended)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.mark.parametrize(
    "how",
    [["--bulk", "--workers", "2"], ["--bulk"], []],
    ids=["workers", "bulk_in_process", "one_by_one"],
)
def test_an_event_that_cannot_be_decoded_ends_the_write_with_one_error_line(
    ledger_url: str, tmp_path: Path, how: list[str]
) -> None:
    received = run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-1", until="receive")))
    assert received.exit_code == 0
    with superuser(ledger_url) as su:
        su.sql(f"UPDATE {su.events} SET state = ? WHERE originator_id = ?",
               b"\x00not an event", su.oid("TS-1"))  # fmt: skip
    commands = tmp_path / "commands.jsonl"
    commands.write_text(jsonl(life_cmds("TS-1", until="triage")[1:]), encoding="utf-8")
    events = event_count(ledger_url)

    main = subprocess.Popen([PROGRAM, "apply", str(commands), *how, "--db", ledger_url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    out, err = main.communicate(timeout=120)
    gone_by = time.monotonic() + 10
    while in_group(main.pid) and time.monotonic() < gone_by:
        time.sleep(0.1)

    assert main.returncode == 1, err
    assert out == ""
    assert err == (
        "Error: Failed to deserialise state of stored event with topic "
        "'ledger.complaint:Complaint.Received', originator_id '8cc1e5d7-57c5-5e12-94ab-"
        "b32dee86d5be' and originator_version 1: Expecting value: line 1 column 1 (char 0); "
        "the ledger's stored data was changed outside the ledger or is damaged: "
        "complaint-ledger verify says where\n"
    )
    assert in_group(main.pid) == []  # the workers ended with the command
    assert event_count(ledger_url) == events
