"""The read models: exactly once, resumable after kill -9, rebuilt identically, on both backends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.store.root import open_ledger
from projections.runner import Runner
from tests.helpers import jsonl, life_cmds, run
from tests.holds.sitecustomize import HOLD_FOLD, HOLD_SLOW_FOLD, held_env

SCRIPT = str(Path(sys.executable).with_name("complaint-ledger"))
TABLES = {
    "case_state": "ref",
    "sla_clocks": "ref, clock",
    "audit_trail": "position",
    "statistics": "month, channel, category, severity",
    "sla_tally": "rank, clock, team, unassigned, channel, day",
}


def dump(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every read-model table, rows in key order: a canonical picture to compare."""
    with open_ledger(url) as ledger:
        runner = Runner(ledger)
        runner.ensure()
        with runner.transaction() as cur:
            return {
                table: cur.execute(f"SELECT * FROM {{{table}}} ORDER BY {key}").fetchall()
                for table, key in TABLES.items()
            }


def fill(url: str, tmp_path: Path, complaints: int, seed: int, name: str = "load") -> int:
    path = tmp_path / f"{name}.jsonl"
    generated = run(url, "generate", "--complaints", str(complaints), "--seed", str(seed),
                    "--prefix", name.upper())  # fmt: skip
    path.write_text(generated.stdout, encoding="utf-8")
    applied = run(url, "apply", "--bulk", str(path))
    assert applied.exit_code == 0, applied.stderr
    with open_ledger(url) as ledger:
        return ledger.count_events()


def position(url: str, name: str) -> int:
    with open_ledger(url) as ledger:
        return Runner(ledger).position(name)


def start(url: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([SCRIPT, "projections", *args, "--db", url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def kill_when(process: subprocess.Popen[bytes], url: str, name: str, head: int) -> int:
    """SIGKILL the process once it has committed some batches, but not all; return where."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reached = position(url, name)
        if 0 < reached < head:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return reached
        if process.poll() is not None:
            break
        time.sleep(0.01)
    pytest.fail(f"could not catch the {name} run midway (it reached {position(url, name)})")


def test_incremental_with_kills_and_a_rebuild_give_identical_read_models(
    ledger_url: str, tmp_path: Path
) -> None:
    kills = []
    for part in range(3):
        head = fill(ledger_url, tmp_path, 60, seed=part, name=f"part{part}")
        runner = start(ledger_url, "run", "--batch-size", "7")
        kills.append(kill_when(runner, ledger_url, "cases", head))
        finished = run(ledger_url, "projections", "run", "--batch-size", "13")
        assert finished.exit_code == 0, finished.stderr
    incremental = dump(ledger_url)

    rebuilt = run(ledger_url, "projections", "rebuild")
    from_scratch = dump(ledger_url)

    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert len(kills) == 3
    assert len(incremental["audit_trail"]) == head
    assert len(incremental["case_state"]) == 180
    assert incremental == from_scratch


def start_held(url: str, hold: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start a sharded rebuild whose workers wait, each after its first chunk, to be killed."""
    hold.mkdir(exist_ok=True)
    env = {**os.environ, **held_env(HOLD_FOLD, hold)}
    return subprocess.Popen([SCRIPT, "projections", *args, "--db", url], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def kill_while_folding(process: subprocess.Popen[bytes], hold: Path, workers: int) -> None:
    """SIGKILL a rebuild started by ``start_held`` once each of its ``workers`` has folded
    (and committed) a chunk and is holding there: the fold is midway, nothing swapped in."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if len(list(hold.glob("shard-*"))) >= workers:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return
        time.sleep(0.02)
    pytest.fail(f"the rebuild ended or never had its {workers} worker(s) folding")


def test_kill_during_rebuild_leaves_the_old_models_and_a_rerun_finishes(
    ledger_url: str, tmp_path: Path
) -> None:
    head = fill(ledger_url, tmp_path, 150, seed=11)
    assert run(ledger_url, "projections", "run").exit_code == 0
    before = dump(ledger_url)

    hold = tmp_path / "hold"
    rebuild = start_held(ledger_url, hold, "rebuild", "case_state", "--workers", "2")
    kill_while_folding(rebuild, hold, workers=2)
    reached = position(ledger_url, "cases__rebuild")  # the fold's position: set once it is done
    during = dump(ledger_url)
    again = run(ledger_url, "projections", "rebuild", "case_state")
    after = dump(ledger_url)

    assert reached == 0
    assert during == before
    assert again.exit_code == 0, again.stderr
    assert after == before
    assert position(ledger_url, "cases") == head


def test_read_commands_catch_up_first_so_a_new_action_shows_at_once(ledger_url: str) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-NOW", until="receive")))
    assert json.loads(run(ledger_url, "list", "--format", "json").stdout)[0]["stage"] == "intake"

    run(ledger_url, "triage", "TS-NOW", "--severity", "urgent", "--category", "harassment",
        "--assessment", "涉嫌违规", "--actor", "wang", "--role", "handling_team")  # fmt: skip
    listed = json.loads(run(ledger_url, "list", "--format", "json").stdout)
    trail = json.loads(run(ledger_url, "audit", "TS-NOW", "--format", "json").stdout)

    assert [(r["ref"], r["stage"], r["severity"], r["escalated"]) for r in listed] == [
        ("TS-NOW", "investigation", "urgent", True)
    ]
    assert [r["action"] for r in trail] == ["Received", "Triaged", "Escalated"]


def test_follow_keeps_up_with_new_events_until_interrupted(ledger_url: str, tmp_path: Path) -> None:
    head = fill(ledger_url, tmp_path, 3, seed=5)
    follower = subprocess.Popen([SCRIPT, "projections", "follow", "--interval", "0.2",
                                 "--db", ledger_url], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_for(lambda: position(ledger_url, "cases") == head)

    more = fill(ledger_url, tmp_path, 2, seed=6, name="more")
    wait_for(lambda: position(ledger_url, "audit_trail") == more)
    follower.send_signal(signal.SIGINT)
    _, stderr = follower.communicate(timeout=30)

    assert more > head
    assert follower.returncode == 0, stderr
    assert stderr.strip().endswith("stopped")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["int", "term"])
def test_follow_stops_cleanly_on_a_signal_even_when_started_with_sigint_ignored(
    ledger_url: str, tmp_path: Path, signum: int
) -> None:
    head = fill(ledger_url, tmp_path, 2, seed=7)
    # As a shell's background job starts it: SIGINT ignored, inherited across exec.
    command = [SCRIPT, "projections", "follow", "--interval", "0.2", "--db", ledger_url]
    follower = subprocess.Popen(
        ["bash", "-c", 'trap "" INT; exec "$@"', "-", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: position(ledger_url, "cases") == head)

    follower.send_signal(signum)
    _, stderr = follower.communicate(timeout=30)

    assert follower.returncode == 0, stderr
    assert stderr.strip().endswith("stopped")


# ``projections follow`` with SQLite's rounding function for the statistics sending the
# process SIGTERM from inside itself: the interrupt lands in a function SQLite called back.
_SIGNAL_IN_CALLBACK = """
import os, signal, sys
import projections.statistics as statistics
from commands.cli import main

rounded = statistics._round3
def round3(value):
    os.kill(os.getpid(), signal.SIGTERM)
    return rounded(value)
statistics._round3 = round3
sys.argv = ["complaint-ledger", "projections", "follow", "--interval", "0.2", "--db", sys.argv[1]]
main()
"""


def test_follow_stops_cleanly_when_the_signal_lands_in_a_function_sqlite_calls_back(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    fill(url, tmp_path, 6, seed=7)

    follower = subprocess.run(
        [sys.executable, "-c", _SIGNAL_IN_CALLBACK, url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    # SQLite turns the interrupt into "user-defined function raised exception": before the
    # fix that was an Error line and exit code 1.
    assert follower.returncode == 0, follower.stderr
    assert follower.stderr.strip().splitlines() == ["stopped"]
    assert "Traceback" not in follower.stderr


def test_status_shows_position_and_lag(ledger_url: str, tmp_path: Path) -> None:
    head = fill(ledger_url, tmp_path, 2, seed=8)

    before = json.loads(run(ledger_url, "projections", "status", "--format", "json").stdout)
    run(ledger_url, "projections", "run")
    after = json.loads(run(ledger_url, "projections", "status", "--format", "json").stdout)

    assert [(r["projection"], r["position"], r["lag"]) for r in before[:2]] == [
        ("cases", 0, head),
        ("audit_trail", 0, head),
    ]
    assert [(r["position"], r["lag"]) for r in after] == [(head, 0), (head, 0), (None, 0)]


def wait_for(condition: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_case_state_agrees_with_the_aggregate_replayed_from_its_events(
    ledger_url: str, tmp_path: Path
) -> None:
    fill(ledger_url, tmp_path, 120, seed=17)

    rows = json.loads(run(ledger_url, "list", "--format", "json").stdout)

    with open_ledger(ledger_url) as ledger:
        for row in rows:
            c = ledger.get_complaint(row["ref"])
            replayed = (str(c.status), str(c.stage), c.severity and str(c.severity), c.escalated,
                        c.reopened_count, str(c.refund_total), c.satisfaction, c.handler, c.team,
                        c.version)  # fmt: skip
            projected = (row["status"], row["stage"], row["severity"], row["escalated"],
                         row["reopened_count"], row["refund_total"], row["satisfaction"],
                         row["handler"], row["team"], row["version"])  # fmt: skip
            assert projected == replayed, row["ref"]
            assert times(row) == (c.received_at, c.last_activity_at, c.closed_at, c.withdrawn_at)
    assert {r["stage"] for r in rows} >= {"closed", "execution", "summary"}


def times(row: dict[str, Any]) -> tuple[datetime | None, ...]:
    names = ("received_at", "last_activity_at", "closed_at", "withdrawn_at")
    return tuple(row[n] and datetime.fromisoformat(row[n]) for n in names)


def test_the_latest_activity_is_the_latest_instant_whatever_offset_each_action_carries(
    ledger_url: str,
) -> None:
    """09:00Z is later than 16:05+08:00 (08:05Z), although its text sorts first."""
    env = {"LEDGER_ACTOR": "li", "LEDGER_ROLE": "customer_service"}
    received = run(ledger_url, "receive", "--channel", "phone", "--name", "A", "--phone",
                   "13800000000", "--content", "c", "--category", "harassment",
                   "--received-at", "2026-11-28T16:00:00+08:00",
                   "--occurred-at", "2026-11-28T16:05:00+08:00", env=env)  # fmt: skip
    assert received.exit_code == 0, received.output
    ref = "TS-20261128-0001"
    noted = run(ledger_url, "add-note", ref, "--text", "hi", "--occurred-at",
                "2026-11-28T09:00:00Z", env=env)  # fmt: skip
    assert noted.exit_code == 0, noted.output

    [row] = json.loads(run(ledger_url, "list", "--format", "json").stdout)
    assert datetime.fromisoformat(row["last_activity_at"]) == datetime(2026, 11, 28, 9, tzinfo=UTC)
    with open_ledger(ledger_url) as ledger:
        assert times(row) == times_of(ledger.get_complaint(ref))


def times_of(c: Any) -> tuple[datetime | None, ...]:
    return (c.received_at, c.last_activity_at, c.closed_at, c.withdrawn_at)


def test_a_group_marked_by_another_runner_during_a_refresh_keeps_its_mark(
    postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runner A refreshes the statistics; meanwhile runner B projects a complaint of another
    month and marks its group. A must not clear that mark: B's group is counted by the next
    refresh (an unconditional clear at the end lost it for good). PostgreSQL only: on SQLite
    B waits for A's write transaction."""
    from commands.handlers import handle
    from commands.models import parse_command
    from projections import statistics
    from projections.runner import UNITS
    from tests.conftest import pg_url
    from tests.helpers import receive_cmd

    url = pg_url(postgres_schema)
    october = {
        "received_at": "2026-10-24T16:00:00+08:00",
        "occurred_at": "2026-10-24T16:20:00+08:00",
    }
    with open_ledger(url) as a, open_ledger(url) as b:
        handle(a, parse_command(receive_cmd("C1")))
        runner_a, runner_b = Runner(a), Runner(b)
        runner_a._run([(UNITS["cases"], "cases")], False, None)  # C1's group (September) marked
        handle(a, parse_command(receive_cmd("C2", **october)))
        work_out = statistics._work_out

        def meanwhile(cur: Any, marked: str, round3: str) -> None:
            runner_b._run([(UNITS["cases"], "cases")], False, None)  # marks October, commits
            monkeypatch.setattr(statistics, "_work_out", work_out)
            work_out(cur, marked, round3)

        monkeypatch.setattr(statistics, "_work_out", meanwhile)
        runner_a._refresh_statistics()
        with runner_a.transaction() as cur:
            marked = cur.execute("SELECT month FROM {statistics_dirty}").fetchall()
        runner_a._refresh_statistics()
        with runner_a.transaction() as cur:
            months = cur.execute(
                "SELECT month, received FROM {statistics} ORDER BY month"
            ).fetchall()

    assert [m["month"] for m in marked] == ["2026-10"]
    assert [(m["month"], m["received"]) for m in months] == [("2026-09", 1), ("2026-10", 1)]


@pytest.mark.parametrize("ledger_url", ["postgres"], indirect=True)
def test_a_rebuild_worker_that_waits_between_chunks_keeps_its_read_open(
    ledger_url: str, tmp_path: Path
) -> None:
    # A worker reads its streams through one server-side cursor; starved of CPU (here: made
    # to sleep) between two chunks for longer than the library's idle-in-transaction limit
    # (5 s), it must not lose the connection it reads from.
    fill(ledger_url, tmp_path, 520, seed=12)  # more streams than one chunk takes (500)
    assert run(ledger_url, "projections", "run").exit_code == 0
    before = dump(ledger_url)
    env = {**os.environ, **held_env(HOLD_SLOW_FOLD, "6")}

    command = [SCRIPT, "projections", "rebuild", "case_state", "--workers", "1", "--db", ledger_url]
    rebuilt = subprocess.run(command, env=env, capture_output=True, text=True)

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert dump(ledger_url) == before
