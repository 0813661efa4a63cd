"""A stop signal reaching ``alerts follow`` between an alert's record and the end of its
message is held back until the message is finished (consumers.alerts.stopping)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from consumers.alerts.stopping import stop_on_signals, uninterrupted


@pytest.fixture
def stopping() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    stop_on_signals()
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.usefixtures("stopping")
def test_sigterm_inside_the_section_stops_only_once_the_section_is_over() -> None:
    finished = []

    def record_then_finish() -> None:
        with uninterrupted():
            os.kill(os.getpid(), signal.SIGTERM)
            finished.append("the end of the message")

    with pytest.raises(KeyboardInterrupt):
        record_then_finish()

    assert finished == ["the end of the message"]


@pytest.mark.usefixtures("stopping")
def test_sigterm_outside_the_section_stops_at_once() -> None:
    finished = []

    def work() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        finished.append("more work")

    with pytest.raises(KeyboardInterrupt):
        work()

    assert finished == []
