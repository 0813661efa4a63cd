"""The SQLite rebuild lock is one per database file, however the file is named; a rebuild
that cannot take it is refused, and a plain read never makes it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from ledger.domain.errors import StoreUnavailable
from ledger.store.root import open_ledger
from projections.db import ReadStore
from projections.rebuild_lock import LOCK_SUFFIX, rebuild_lock
from tests.conftest import PG_DSN
from tests.helpers import jsonl, receive_cmd, run


def test_a_rebuild_through_a_link_to_the_file_holds_the_files_lock(tmp_path: Path) -> None:
    # SQLite follows the link (its -wal file lies beside the file itself): a rebuild named by
    # the link and one named by the file rebuild the same read models, and must take turns.
    real = tmp_path / "data" / "ledger.db"
    real.parent.mkdir()
    link = tmp_path / "ledger.db"
    with open_ledger(f"sqlite:///{real}"):
        pass
    link.symlink_to(real)

    with (
        open_ledger(f"sqlite:///{link}") as ledger,
        rebuild_lock(ReadStore(ledger)),
        open(f"{real}{LOCK_SUFFIX}", "ab") as other,
        pytest.raises(BlockingIOError),
    ):
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_rebuild_that_cannot_make_its_lock_file_is_refused(tmp_path: Path) -> None:
    # A folder this process may read but not write (for root, only the immutable attribute
    # says so): the rebuild stops before anything is rebuilt instead of going on unlocked.
    folder = tmp_path / "ledgers"
    folder.mkdir()
    db = folder / "ledger.db"
    assert run(f"sqlite:///{db}", "apply", "-", input=jsonl([receive_cmd("TS-1")])).exit_code == 0
    with open_ledger(f"sqlite:///{db}") as ledger:
        store = ReadStore(ledger)
        with (
            unwritable_folder(folder),
            pytest.raises(StoreUnavailable) as refused,
            rebuild_lock(store),
        ):
            pass
    message = str(refused.value)
    assert message.startswith(f"cannot take the rebuild lock {db}{LOCK_SUFFIX}: ")
    assert message.endswith("Nothing was rebuilt")
    assert "\n" not in message
    assert not Path(f"{db}{LOCK_SUFFIX}").exists()


def test_projections_rebuild_in_a_folder_it_may_not_write_is_one_error_line(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "ledgers"
    folder.mkdir()
    url = f"sqlite:///{folder / 'ledger.db'}"
    assert run(url, "apply", "-", input=jsonl([receive_cmd("TS-1")])).exit_code == 0
    with unwritable_folder(folder):
        result = run(url, "projections", "rebuild")
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: "), line
    assert "Traceback" not in result.output


def test_projections_rebuild_that_cannot_open_its_lock_file_is_one_error_line(
    tmp_path: Path,
) -> None:
    # The test above never reaches the lock: in a folder it may not write, the ledger cannot
    # even be opened. Here it opens, and only the lock file cannot be (a folder stands in its
    # way): the rebuild is refused in one line and rebuilds nothing (before, it went on).
    db = tmp_path / "ledger.db"
    url = f"sqlite:///{db}"
    assert run(url, "apply", "-", input=jsonl([receive_cmd("TS-1")])).exit_code == 0
    Path(f"{db}{LOCK_SUFFIX}").mkdir()
    result = run(url, "projections", "rebuild")
    assert result.exit_code == 1, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: cannot take the rebuild lock {db}{LOCK_SUFFIX}: "), line
    assert line.endswith("Nothing was rebuilt"), line
    status = run(url, "projections", "status").stdout.splitlines()
    assert [row.split()[:2] for row in status if row.startswith("cases")] == [["cases", "0"]]


def test_a_plain_read_makes_no_lock_file(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    url = f"sqlite:///{db}"
    assert run(url, "apply", "-", input=jsonl([receive_cmd("TS-1")])).exit_code == 0
    assert run(url, "list").exit_code == 0
    assert run(url, "show", "TS-1").exit_code == 0
    assert not Path(f"{db}{LOCK_SUFFIX}").exists()


def test_a_read_that_may_not_write_makes_no_lock_file_where_a_rebuild_is_due(
    tmp_path: Path,
) -> None:
    # Read models of an earlier shape: a read that may write them rebuilds them (so takes the
    # lock, and makes its file); one on a file it may not write only reads, and says so.
    db = tmp_path / "ledger.db"
    url = f"sqlite:///{db}"
    assert run(url, "apply", "-", input=jsonl([receive_cmd("TS-1")])).exit_code == 0
    assert run(url, "projections", "run").exit_code == 0
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE projection_positions SET position = 1 WHERE name = 'shape:cases'")
    with unwritable_file(db):
        refused = run(url, "list")
        assert run(url, "show", "TS-1").exit_code == 0
    assert refused.exit_code == 1
    assert refused.stderr.startswith("Error: the case read models were built by an earlier ")
    assert not Path(f"{db}{LOCK_SUFFIX}").exists()
    assert run(url, "list").exit_code == 0  # this one may write: it rebuilds them, locked
    assert Path(f"{db}{LOCK_SUFFIX}").exists()


@contextmanager
def unwritable_file(file: Path) -> Iterator[None]:
    file.chmod(0o444)
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(file)], check=True)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(file)], check=False)
        file.chmod(0o644)


@contextmanager
def unwritable_folder(folder: Path) -> Iterator[None]:
    folder.chmod(0o555)
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
        if done.returncode != 0:
            folder.chmod(0o755)
            reason = f"cannot make a folder unwritable for root here: {done.stderr.strip()}"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(reason)
            pytest.skip(reason)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=False)
        folder.chmod(0o755)


class Relay:
    """A TCP relay to the test server that, once ``silent``, accepts new connections and
    never answers them: a PostgreSQL server that has stopped answering, met by a connection
    opened after the ledger's own."""

    def __init__(self) -> None:
        target = conninfo_to_dict(PG_DSN)
        self.upstream = (str(target.get("host") or "127.0.0.1"), int(target.get("port") or 5432))
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.silent = False
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return  # closed
            self.sockets.append(conn)
            if self.silent:
                continue
            upstream = socket.create_connection(self.upstream)
            self.sockets.append(upstream)
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.server.close()
        for conn in self.sockets:
            conn.close()


@pytest.mark.timeout(120)  # without a connect_timeout it waited for as long as it was let
def test_the_advisory_lock_gives_up_on_a_server_that_does_not_answer(postgres_schema: str) -> None:
    relay = Relay()
    try:
        url = f"postgresql://postgres@127.0.0.1:{relay.port}/test?schema={postgres_schema}"
        with open_ledger(url) as ledger:
            store = ReadStore(ledger)
            relay.silent = True
            with pytest.raises(StoreUnavailable) as refused, rebuild_lock(store):
                pass
    finally:
        relay.close()
    message = str(refused.value)
    assert message.startswith("cannot take the rebuild lock: cannot reach PostgreSQL: "), message
    assert "timeout expired" in message
    assert message.endswith("nothing was rebuilt")
