"""``feed nats`` against the real NATS JetStream server, on both backends: every event once, in
log order, as a CloudEvent; nothing new the second time; new events followed; a kill -9 midway
and a restart leave exactly one message per event; no personal data in plain (docs/feed.md)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest
from cloudevents.core.formats.json import JSONFormat

from consumers.feed.position import FeedPositions
from ledger.store.root import open_ledger
from tests.e2e.http_server import TEST_LOGIN
from tests.helpers import event_count, jsonl, life_cmds, run
from tests.nats_streams import NATS_URL, OwnServer, Stream, jetstream, message_count, messages

SCRIPT = str(Path(sys.executable).with_name("complaint-ledger"))
CONSUMER = Path(__file__).parent.parent.parent / "docs" / "feed" / "consumer.py"
PERSONAL = ("张三", "13800000000", "110101199001011234", "LN20260001", "催收员连续三晚深夜来电")


def filled(url: str, tmp_path: Path, complaints: int) -> int:
    """A ledger with one complaint of known personal data and ``complaints`` generated ones."""
    load = tmp_path / "load.jsonl"
    generated = run(url, "generate", "--complaints", str(complaints), "--seed", "17").stdout
    load.write_text(jsonl(life_cmds("TS-FEED-1")) + generated)
    applied = run(url, "apply", str(load))
    assert applied.exit_code == 0, applied.output
    return event_count(url)


def feed_once(url: str, stream: Stream, *extra: str) -> str:
    result = run(url, "feed", "nats", *stream.args, "--db", url, "--once", *extra)
    assert result.exit_code == 0, result.output
    return result.stdout


def feed_once_refused(url: str, stream: Stream) -> subprocess.CompletedProcess[str]:
    """``feed nats --once`` as its own process, for a stream it is expected to refuse."""
    return subprocess.run(
        [SCRIPT, "feed", "nats", *stream.args, "--db", url, "--once"],
        capture_output=True, text=True, env={**os.environ, "LEDGER_DB": ""}, timeout=60,
    )  # fmt: skip


def start_feed(url: str, stream: Stream, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [SCRIPT, "feed", "nats", *stream.args, "--db", url, *extra],
        env={**os.environ, "LEDGER_DB": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@contextlib.contextmanager
def paused(process: subprocess.Popen[bytes]) -> Iterator[None]:
    """The process stopped (SIGSTOP, and seen stopped) until the block ends, then continued.

    A change made in two steps (a stream deleted, then made again) is not one to a following
    feed: a pass between the two finds the stream missing and makes it again, as it should,
    and the second step fails ('subjects overlap with an existing stream', 'stream name
    already in use') or the feed's own making fails instead ('refused to make stream').
    Paused, the feed sees the change whole, as if it were made between two passes."""
    process.send_signal(signal.SIGSTOP)
    try:
        # (one that ended already is let through: the test's assertions say how it ended)
        wait_for(lambda: process.poll() is not None or process_state(process.pid) == "T")
        yield
    finally:
        process.send_signal(signal.SIGCONT)


def process_state(pid: int) -> str:
    """The state letter of ``/proc/PID/stat`` (``T``: stopped)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def feed_position(url: str, stream: Stream) -> int:
    with open_ledger(url) as ledger:
        return FeedPositions(ledger).get(f"nats:{stream.name}")


def test_once_publishes_every_event_in_log_order_as_a_cloudevent(
    ledger_url: str, tmp_path: Path, stream: Stream
) -> None:
    head = filled(ledger_url, tmp_path, 20)

    out = feed_once(ledger_url, stream)

    stored = messages(stream)
    events = [JSONFormat().read(None, m.data) for m in stored]
    assert out == f"published {head} event(s) to {stream.name} (0 already there), position {head}\n"
    assert [e.get_extension("position") for e in events] == list(range(1, head + 1))
    with open_ledger(ledger_url) as ledger:
        log = ledger.recorder.select_notifications(start=1, limit=head)
    expected = [(f"{n.originator_id}/{n.originator_version}", str(n.originator_id),
                 n.topic.partition(":")[2]) for n in log]  # fmt: skip
    assert [(e.get_id(), e.get_subject(), e.get_type().removeprefix("complaint-ledger."))
            for e in events] == expected  # fmt: skip
    assert [m.headers["Nats-Msg-Id"] for m in stored] == [e.get_id() for e in events]
    assert [m.subject for m in stored] == [f"{stream.prefix}.{t}" for _, _, t in expected]
    assert {(e.get_specversion(), e.get_source(), e.get_datacontenttype()) for e in events} == {
        ("1.0", "/complaint-ledger", "application/json")
    }
    assert all(e.get_time() is not None and e.get_time().tzinfo is not None for e in events)
    assert [e.get_data() for e in events] == [orjson.loads(n.state) for n in log]


def test_a_second_once_publishes_nothing_new(
    ledger_url: str, tmp_path: Path, stream: Stream
) -> None:
    head = filled(ledger_url, tmp_path, 5)
    feed_once(ledger_url, stream)

    again = feed_once(ledger_url, stream)

    assert again == f"published 0 event(s) to {stream.name} (0 already there), position {head}\n"
    assert message_count(stream) == head


def test_a_position_behind_the_stream_starts_after_the_streams_last_event(
    ledger_url: str, tmp_path: Path, stream: Stream
) -> None:
    head = filled(ledger_url, tmp_path, 5)
    feed_once(ledger_url, stream)
    with open_ledger(ledger_url) as ledger:  # as a kill between publish and position leaves it
        FeedPositions(ledger).move(f"nats:{stream.name}", head, head - 7)

    again = feed_once(ledger_url, stream)

    assert again == f"published 0 event(s) to {stream.name} (0 already there), position {head}\n"
    assert message_count(stream) == head


def test_no_message_holds_personal_data_in_plain(
    ledger_url: str, tmp_path: Path, stream: Stream
) -> None:
    filled(ledger_url, tmp_path, 3)
    assert run(ledger_url, "show", "TS-FEED-1").stdout.count("13800000000") == 1  # it is there

    feed_once(ledger_url, stream)

    payloads = b"".join(m.data for m in messages(stream))
    found = [p for p in PERSONAL
             if p.encode() in payloads or json.dumps(p)[1:-1].encode() in payloads]  # fmt: skip
    assert found == []
    assert b"ciphertext" in payloads


def test_no_message_holds_a_staff_members_name_e_mail_or_token_hash(
    ledger_url: str, stream: Stream
) -> None:
    lead = ["--actor", "chen", "--role", "leadership"]
    if ledger_url.startswith("postgresql"):
        assert run(ledger_url, "staff", "allow-login", TEST_LOGIN, *lead).exit_code == 0
    added = run(ledger_url, "staff", "add", "chen", "--name", "陈静怡", "--unit",
                "leadership_group", "--grant", "leadership", "--email", "chenjy@example.com",
                "--from", "2026-01-01T00:00:00+08:00", *lead)  # fmt: skip
    assert added.exit_code == 0, added.output
    issued = run(ledger_url, "staff", "token", "chen", "--format", "json", *lead)
    assert issued.exit_code == 0, issued.output
    token_hash = hashlib.sha256(json.loads(issued.stdout)["token"].encode()).hexdigest()

    feed_once(ledger_url, stream)

    bodies = [json.loads(m.data) for m in messages(stream)]
    payloads = b"".join(m.data for m in messages(stream))
    member = next(b for b in bodies if b["type"].endswith("StaffDirectory.MemberAdded"))
    token = next(b for b in bodies if b["type"].endswith("StaffDirectory.TokenIssued"))
    assert member["data"]["staff_id"] == "chen"  # what reports by handler and team need
    assert (
        member["data"]["name"]["_type_"]
        == member["data"]["email"]["_type_"]
        == ("withheld_staff_data")
    )
    assert token["data"]["token_hash"]["_type_"] == "withheld_staff_data"
    for secret in ("陈静怡", "chenjy@example.com", token_hash):
        assert secret.encode() not in payloads
        assert json.dumps(secret)[1:-1].encode() not in payloads


def test_a_stream_made_anew_gets_the_whole_log_again(
    ledger_url: str, tmp_path: Path, stream: Stream
) -> None:
    """The position says what the stream holds; a stream deleted (or a new server with the
    same stream name) holds nothing, so the feed starts again from the first event rather
    than publish only what comes after the old position."""
    head = filled(ledger_url, tmp_path, 3)
    feed_once(ledger_url, stream)

    async def delete(js: Any) -> None:
        await js.delete_stream(stream.name)

    jetstream(delete)
    again = feed_once(ledger_url, stream)

    assert (
        again == f"published {head} event(s) to {stream.name} (0 already there), position {head}\n"
    )
    assert [orjson.loads(m.data)["position"] for m in messages(stream)] == list(range(1, head + 1))


def test_follow_publishes_a_new_event_and_stops_on_sigterm(
    ledger_url: str, tmp_path: Path, stream: Stream
) -> None:
    head = filled(ledger_url, tmp_path, 3)
    feed = start_feed(ledger_url, stream, "--interval", "0.2")
    try:
        wait_for(lambda: message_count(stream) == head)

        note = {"command": "add_note", "ref": "TS-FEED-1", "text": "跟进", "command_id": "n-1",
                "actor": {"id": "wang", "role": "handling_team"}}  # fmt: skip
        added = run(ledger_url, "apply", "-", input=jsonl([note]))
        assert added.exit_code == 0, added.output
        wait_for(lambda: message_count(stream) == head + 1)
    finally:
        feed.send_signal(signal.SIGTERM)
        _, err = feed.communicate(timeout=60)

    last = JSONFormat().read(None, messages(stream)[-1].data)
    assert (last.get_type(), last.get_extension("position")) == (
        "complaint-ledger.Complaint.NoteAdded", head + 1)  # fmt: skip
    assert feed.returncode == 0, err
    assert err.decode().strip().endswith("stopped")


def test_kill_9_midway_and_a_restart_leave_exactly_one_message_per_event(
    ledger_url: str, tmp_path: Path, stream: Stream
) -> None:
    head = filled(ledger_url, tmp_path, 60)
    feed = start_feed(ledger_url, stream, "--once", "--batch-size", "3")
    wait_for(lambda: message_count(stream) >= head // 4)
    feed.send_signal(signal.SIGKILL)
    feed.communicate(timeout=60)
    at_kill = feed_position(ledger_url, stream)

    rerun = start_feed(ledger_url, stream, "--once")
    _, err = rerun.communicate(timeout=120)

    stored = messages(stream)
    ids = Counter(m.headers["Nats-Msg-Id"] for m in stored)
    positions = [orjson.loads(m.data)["position"] for m in stored]
    assert 0 < at_kill < head  # killed midway
    assert rerun.returncode == 0, err
    assert len(stored) == head
    assert max(ids.values()) == 1
    assert positions == list(range(1, head + 1))
    assert feed_position(ledger_url, stream) == head


@pytest.mark.parametrize("mode", [["--once"], []], ids=["once", "follow"])
def test_an_unreachable_server_is_one_error_line_and_changes_nothing(
    ledger_url: str, tmp_path: Path, mode: list[str]
) -> None:
    """Following too: a server that is not there when the feed starts is a wrong --url or a
    server not started, for whoever starts it to see; only a server lost later is waited for."""
    head = filled(ledger_url, tmp_path, 2)

    result = subprocess.run(
        [SCRIPT, "feed", "nats", "--url", "nats://127.0.0.1:1", "--db", ledger_url, *mode],
        capture_output=True, text=True, env={**os.environ, "LEDGER_DB": ""}, timeout=60,
    )  # fmt: skip

    assert result.returncode == 1
    assert result.stderr.startswith("Error: cannot reach NATS at nats://127.0.0.1:1")
    assert len(result.stderr.strip().splitlines()) == 1
    assert event_count(ledger_url) == head


def test_follow_waits_out_a_server_killed_midway_and_leaves_exactly_one_message_per_event(
    ledger_url: str, tmp_path: Path, own_server: OwnServer
) -> None:
    """The server dies (SIGKILL) with batches in flight and an event is appended while it is
    down; the feed keeps trying, and once the server is back on its store it publishes again
    from its position: every event once, in log order, the new one included."""
    head = filled(ledger_url, tmp_path, 60)
    stream = Stream("T_OWN", "town")
    feed = subprocess.Popen(
        [SCRIPT, "feed", "nats", *stream.at(own_server.url), "--db", ledger_url,
         "--batch-size", "3", "--interval", "0.2"],
        env={**os.environ, "LEDGER_DB": ""}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for(lambda: own_server.message_count(stream) >= head // 4)
        own_server.kill()
        at_kill = feed_position(ledger_url, stream)
        note = {"command": "add_note", "ref": "TS-FEED-1", "text": "跟进", "command_id": "n-1",
                "actor": {"id": "wang", "role": "handling_team"}}  # fmt: skip
        added = run(ledger_url, "apply", "-", input=jsonl([note]))
        assert added.exit_code == 0, added.output
        time.sleep(3)  # the feed finds the server gone and tries to connect again
        assert feed.poll() is None  # still running
        own_server.start()
        wait_for(lambda: feed_position(ledger_url, stream) == head + 1)
    finally:
        feed.send_signal(signal.SIGTERM)
        _, err = feed.communicate(timeout=60)

    stored = own_server.messages(stream)
    ids = Counter(m.headers["Nats-Msg-Id"] for m in stored)
    assert 0 < at_kill < head  # killed midway
    assert feed.returncode == 0, err
    assert len(stored) == head + 1
    assert max(ids.values()) == 1
    assert [orjson.loads(m.data)["position"] for m in stored] == list(range(1, head + 2))
    retries = [line for line in err.decode().splitlines() if "connecting again in" in line]
    assert (
        retries[0] == f"lost the connection to NATS at {own_server.url}; connecting again in 0.5 s"
    )


def test_once_with_the_server_killed_midway_is_one_error_line_at_once(
    ledger_url: str, tmp_path: Path, own_server: OwnServer
) -> None:
    """--once does not wait the server out: the acknowledgements lost with the connection fail
    the batch at once (not after the 30 s it gives a live server), and the position stays at
    the last batch acknowledged."""
    head = filled(ledger_url, tmp_path, 60)
    stream = Stream("T_ONCE", "tonce")
    feed = subprocess.Popen(
        [SCRIPT, "feed", "nats", *stream.at(own_server.url), "--db", ledger_url, "--once",
         "--batch-size", "3"],
        env={**os.environ, "LEDGER_DB": ""}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    wait_for(lambda: own_server.message_count(stream) >= head // 4)
    own_server.kill()
    _, err = feed.communicate(timeout=60)

    assert feed.returncode == 1
    # the connection lost, not the 30 s a live server gets to acknowledge
    assert err == f"Error: lost the connection to NATS at {own_server.url}\n"
    assert 0 < feed_position(ledger_url, stream) < head


def test_a_batch_sent_after_the_connection_was_lost_says_the_connection_was_lost(
    own_server: OwnServer,
) -> None:
    """The server gone before a batch is sent (nats-py has closed the connection, not yet
    told the sink): the feed says it lost the connection, as when the acknowledgements are
    lost, not that the server refused a message (seen in a run of the file as
    test_once_with_the_server_killed_midway's 'refused a message: nats: connection closed')."""
    from consumers.feed.messages import Message
    from consumers.feed.sinks import FeedError, NatsSink

    sink = NatsSink(own_server.url, "T_LOST", "tlost.>")
    try:
        sink.check()  # the first after connecting: the stream was looked at already
        own_server.kill()

        # The sink's loop runs only inside its calls: let it see the connection go.
        async def closed() -> None:
            while not sink._nc.is_closed:
                await asyncio.sleep(0.01)

        sink._run(asyncio.wait_for(closed(), 30))
        with pytest.raises(FeedError) as lost:
            sink.publish([Message("tlost.x", "x-1", 1, b"{}")])
        with pytest.raises(FeedError) as looking:  # a pass's look at the stream
            sink.check()
    finally:
        sink.close()

    assert str(lost.value) == f"lost the connection to NATS at {own_server.url}"
    assert str(looking.value) == f"lost the connection to NATS at {own_server.url}"


def test_a_sink_closed_just_after_the_connection_was_lost_leaves_no_task_behind(
    own_server: OwnServer, caplog: pytest.LogCaptureFixture
) -> None:
    """nats-py marks the connection closed before its read loop has ended: a sink closed
    then closed its event loop with that task pending, and Python said so on standard error
    ('Task was destroyed but it is pending!'), after the feed's one Error line (seen in a
    run of the file, under test_once_with_the_server_killed_midway's error line)."""
    from consumers.feed.sinks import NatsSink

    sink = NatsSink(own_server.url, "T_GONE", "tgone.>")
    try:
        own_server.kill()

        async def closed(client: Any) -> None:  # not a turn of the loop longer
            while not client.is_closed:
                await asyncio.sleep(0)

        sink._run(closed(sink._nc))
    finally:
        sink.close()
    del sink
    gc.collect()

    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []


def test_follow_stops_on_sigterm_while_the_server_is_away(
    ledger_url: str, tmp_path: Path, own_server: OwnServer
) -> None:
    filled(ledger_url, tmp_path, 1)
    stream = Stream("T_AWAY", "taway")
    feed = subprocess.Popen(
        [SCRIPT, "feed", "nats", *stream.at(own_server.url), "--db", ledger_url,
         "--interval", "0.2"],
        env={**os.environ, "LEDGER_DB": ""}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for(lambda: own_server.message_count(stream) == event_count(ledger_url))
        own_server.kill()
        run(ledger_url, "apply", "-", input=jsonl([
            {"command": "add_note", "ref": "TS-FEED-1", "text": "跟进", "command_id": "n-1",
             "actor": {"id": "wang", "role": "handling_team"}}]))  # fmt: skip
        time.sleep(1.5)
    finally:
        feed.send_signal(signal.SIGTERM)
        _, err = feed.communicate(timeout=60)

    assert feed.returncode == 0, err
    assert err.decode().strip().endswith("stopped")


def _add_stream(name: str, subjects: list[str], window: float) -> None:
    async def add(js: Any) -> None:
        await js.add_stream(name=name, subjects=subjects, duplicate_window=window)

    jetstream(add)


def test_a_stream_with_a_duplicate_window_too_short_is_refused_and_left_as_it_is(
    ledger_url: str, tmp_path: Path, stream: Stream
) -> None:
    """Two seconds would not cover a batch published again after a restart: the feed says so
    rather than publish into it (and it does not change a stream it did not make)."""
    filled(ledger_url, tmp_path, 1)
    _add_stream(stream.name, [f"{stream.prefix}.>"], 2.0)

    result = feed_once_refused(ledger_url, stream)

    async def window(js: Any) -> float:
        return float((await js.stream_info(stream.name)).config.duplicate_window)

    assert result.returncode == 1
    assert result.stderr.startswith(
        f"Error: stream {stream.name} has duplicate_window 2 s, the feed needs at least 120 s"
    )
    assert len(result.stderr.strip().splitlines()) == 1
    assert message_count(stream) == 0
    assert jetstream(window) == 2.0
    assert feed_position(ledger_url, stream) == 0


def test_a_stream_that_does_not_take_every_subject_of_the_feed_is_refused(
    ledger_url: str, tmp_path: Path, stream: Stream
) -> None:
    filled(ledger_url, tmp_path, 1)
    _add_stream(stream.name, [f"{stream.prefix}.Complaint.>"], 120.0)

    result = feed_once_refused(ledger_url, stream)

    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: stream {stream.name} takes ['{stream.prefix}.Com")
    assert len(result.stderr.strip().splitlines()) == 1
    assert message_count(stream) == 0


def _other_subjects(stream: Stream) -> str:
    """The stream deleted and made again taking other subjects."""
    jetstream(lambda js: js.delete_stream(stream.name))
    _add_stream(stream.name, [f"{stream.prefix}.Other.>"], 120.0)
    return f"Error: stream {stream.name} takes ['{stream.prefix}.Other.>']"


def _short_window(stream: Stream) -> str:
    """The stream deleted and made again with the same subjects and a 2 s window: publishing
    into it goes on succeeding, so only a check of the stream on each pass sees it."""
    jetstream(lambda js: js.delete_stream(stream.name))
    _add_stream(stream.name, [f"{stream.prefix}.>"], 2.0)
    return f"Error: stream {stream.name} has duplicate_window 2 s, the feed needs at least 120 s"


def _window_edited(stream: Stream) -> str:
    """The stream itself edited down to a 2 s window (``nats stream edit``)."""

    async def edit(js: Any) -> None:
        config = (await js.stream_info(stream.name)).config
        config.duplicate_window = 2.0
        await js.update_stream(config)

    jetstream(edit)
    return f"Error: stream {stream.name} has duplicate_window 2 s, the feed needs at least 120 s"


def _subjects_taken(stream: Stream) -> str:
    """The stream deleted, and another stream made taking part of its subjects: the server
    refuses to make the feed's stream again (overlapping subjects), which waiting does not
    change."""
    jetstream(lambda js: js.delete_stream(stream.name))
    _add_stream(f"{stream.name}_OTHER", [f"{stream.prefix}.Staff.>"], 120.0)
    return f"Error: JetStream at {NATS_URL} refused to make stream {stream.name}: "


@pytest.mark.parametrize(
    "change", [_other_subjects, _short_window, _window_edited, _subjects_taken],
    ids=["other subjects", "short window", "window edited", "subjects taken"],
)  # fmt: skip
def test_follow_ends_with_one_error_line_when_the_stream_is_changed_into_one_it_refuses(
    ledger_url: str, tmp_path: Path, stream: Stream, change: Callable[[Stream], str]
) -> None:
    """Following, the stream is changed so that the feed cannot keep its promise on it: made
    anew with other subjects or a short duplicate window, edited, or not to be made again at
    all. That is not the server away for a while: waiting changes nothing, so it stops with
    one ``Error:`` line and exit 1 instead of trying (and saying so) for ever, or publishing
    on into a stream that may keep two copies; the stream is left as it is."""
    head = filled(ledger_url, tmp_path, 1)
    feed = start_feed(ledger_url, stream, "--interval", "0.2")
    try:
        wait_for(lambda: message_count(stream) == head)
        with paused(feed):
            expected = change(stream)
        note = {"command": "add_note", "ref": "TS-FEED-1", "text": "跟进", "command_id": "n-1",
                "actor": {"id": "wang", "role": "handling_team"}}  # fmt: skip
        assert run(ledger_url, "apply", "-", input=jsonl([note])).exit_code == 0
        _, err = feed.communicate(timeout=30)
    finally:
        if feed.poll() is None:
            feed.kill()
            feed.communicate(timeout=60)
        with contextlib.suppress(nats.js.errors.NotFoundError):
            jetstream(lambda js: js.delete_stream(f"{stream.name}_OTHER"))

    lines = err.decode().splitlines()
    errors = [line for line in lines if line.startswith("Error:")]
    assert feed.returncode == 1, lines
    assert errors == [lines[-1]]
    assert errors[0].startswith(expected)
    assert len([line for line in lines if "connecting again" in line]) <= 1
    assert "Traceback" not in err.decode()
    assert message_count(stream) == (head if change is _window_edited else 0)
    assert feed_position(ledger_url, stream) == head


def test_a_stream_with_a_longer_window_and_wider_subjects_is_used(
    ledger_url: str, tmp_path: Path, stream: Stream
) -> None:
    head = filled(ledger_url, tmp_path, 1)
    _add_stream(stream.name, [f"{stream.prefix}.>"], 3600.0)

    feed_once(ledger_url, stream, "--subject-prefix", f"{stream.prefix}.feed")

    assert message_count(stream) == head
    assert {m.subject.split(".")[1] for m in messages(stream)} == {"feed"}


def test_the_example_consumer_counts_complaints_by_status_as_the_read_model_does(
    ledger_url: str, tmp_path: Path, stream: Stream
) -> None:
    filled(ledger_url, tmp_path, 30)
    feed_once(ledger_url, stream)
    listed = json.loads(run(ledger_url, "list", "--format", "json").stdout)
    expected = Counter(row["status"] for row in listed)

    out = subprocess.run(
        [sys.executable, str(CONSUMER), "--stream", stream.name, "--subjects",
         f"{stream.prefix}.Complaint.>", "--db", str(tmp_path / "counts.db"), "--once"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == dict(sorted(expected.items()))


@pytest.mark.parametrize("name", ["bad.name", "a b", "x*"])
def test_a_stream_name_nats_refuses_is_a_usage_error(name: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"

    result = run(url, "feed", "nats", "--stream", name, "--once")

    assert result.exit_code == 2
    assert result.output.startswith("Error: Invalid value for '--stream'")


def test_text_an_earlier_release_stored_in_plain_is_withheld(
    tmp_path: Path, stream: Stream
) -> None:
    fixture = Path(__file__).parent.parent / "fixtures" / "ledgers" / "v1" / "ledger.db"
    shutil.copy(fixture, tmp_path / "ledger.db")
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert "封存之后" in run(url, "history", "TS-20261125-0003").stdout  # stored in plain

    feed_once(url, stream)

    payloads = b"".join(m.data for m in messages(stream))
    assert [t for t in ("催收员威胁上门", "封存之后", "复核中") if t.encode() in payloads] == []
    assert b'"withheld_plain_text"' in payloads
    assert message_count(stream) == event_count(url)


def test_a_position_behind_the_stream_after_the_servers_window_publishes_no_copy(
    ledger_url: str, tmp_path: Path, stream: Stream
) -> None:
    """A feed that comes back (reconnected, or restarted) after the server has forgotten the
    ids of the batch that was in flight (away longer than the duplicate window) must not
    store that batch a second time: it starts after the last event the stream holds."""
    head = filled(ledger_url, tmp_path, 5)
    feed_once(ledger_url, stream)
    with open_ledger(ledger_url) as ledger:  # as a kill between publish and position leaves it
        FeedPositions(ledger).move(f"nats:{stream.name}", head, head - 7)

    async def forget(js: Any) -> None:  # the window passes: the server forgets the ids
        config = (await js.stream_info(stream.name)).config
        window = config.duplicate_window
        config.duplicate_window = 0.5
        await js.update_stream(config)
        await asyncio.sleep(2.0)
        config.duplicate_window = window
        await js.update_stream(config)

    jetstream(forget)
    again = feed_once(ledger_url, stream)

    stored = messages(stream)
    assert [orjson.loads(m.data)["position"] for m in stored] == list(range(1, head + 1))
    assert again == f"published 0 event(s) to {stream.name} (0 already there), position {head}\n"
    assert feed_position(ledger_url, stream) == head


def test_a_stream_edited_after_a_pass_began_is_refused_before_the_pass_sends_into_it(
    ledger_url: str, tmp_path: Path, stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The feed looks at its stream when a pass begins and again before the pass sends its
    first batch: a window edited down between the two, before the events the pass found were
    appended, is refused with nothing sent (also on a pass after one that looked already)."""
    from consumers.feed.feeder import Feed
    from consumers.feed.sinks import NatsSink, StreamRefused

    head = filled(ledger_url, tmp_path, 1)
    note = {"command": "add_note", "ref": "TS-FEED-1", "text": "跟进", "command_id": "n-1",
            "actor": {"id": "wang", "role": "handling_team"}}  # fmt: skip
    with open_ledger(ledger_url) as ledger:
        sink = NatsSink(NATS_URL, stream.name, f"{stream.prefix}.>")
        try:
            feed = Feed(ledger, sink, f"nats:{stream.name}", prefix=stream.prefix, source="t")
            assert feed.publish_pending().stored == head
            feed.publish_pending()  # an idle pass: it looked at the stream when it began
            after_stored = feed._after_stored

            def edited_meanwhile(position: int) -> int:
                _window_edited(stream)
                assert run(ledger_url, "apply", "-", input=jsonl([note])).exit_code == 0
                return after_stored(position)

            monkeypatch.setattr(feed, "_after_stored", edited_meanwhile)
            with pytest.raises(StreamRefused, match="duplicate_window 2 s"):
                feed.publish_pending()
        finally:
            sink.close()

    assert message_count(stream) == head


def test_a_stream_made_anew_between_two_batches_of_a_pass_is_not_filled_from_the_middle(
    ledger_url: str, tmp_path: Path, stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream deleted and made anew (same subjects and window) after a pass's first batch
    goes on acknowledging the later batches under the same name. Their acknowledgements'
    sequences go back, so that batch fails and the position stays after the first; the next
    look finds a stream that does not begin with the log's first event and refuses it (it
    cannot be filled in order). Deleted again, it gets the whole log."""
    from nats.js.api import StreamConfig

    from consumers.feed.feeder import Feed
    from consumers.feed.sinks import FeedError, NatsSink, StreamRefused

    head = filled(ledger_url, tmp_path, 1)

    async def remake(js: Any) -> None:
        await js.delete_stream(stream.name)
        await js.add_stream(
            StreamConfig(name=stream.name, subjects=[f"{stream.prefix}.>"], duplicate_window=120)
        )

    def a_feed(ledger: Any) -> tuple[Feed, NatsSink]:
        sink = NatsSink(NATS_URL, stream.name, f"{stream.prefix}.>")
        name = f"nats:{stream.name}"
        return Feed(ledger, sink, name, prefix=stream.prefix, source="t", batch_size=5), sink

    with open_ledger(ledger_url) as ledger:
        feed, sink = a_feed(ledger)
        try:
            publish, calls = sink.publish, []

            def remade_before_the_second_batch(batch: Any) -> None:
                calls.append(batch)
                if len(calls) == 2:
                    jetstream(remake)
                publish(batch)

            monkeypatch.setattr(sink, "publish", remade_before_the_second_batch)
            with pytest.raises(FeedError, match="made anew"):
                feed.publish_pending()
        finally:
            sink.close()
        assert FeedPositions(ledger).get(f"nats:{stream.name}") == 5

        feed, sink = a_feed(ledger)  # connecting again, as ``follow`` does
        try:
            with pytest.raises(StreamRefused, match="delete the stream"):
                feed.publish_pending()
        finally:
            sink.close()

        async def delete(js: Any) -> None:
            await js.delete_stream(stream.name)

        jetstream(delete)
        feed, sink = a_feed(ledger)
        try:
            feed.publish_pending()
        finally:
            sink.close()

    assert [orjson.loads(m.data)["position"] for m in messages(stream)] == list(range(1, head + 1))
