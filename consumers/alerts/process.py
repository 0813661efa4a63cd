"""The alerter ``serve --alerts`` runs beside the API: ``alerts follow`` in a process of its
own, which ends with the server however the server ends (it holds the reading end of a pipe
whose only writing end the server keeps, as the projection follower does). Killed at any
moment, it leaves no alert both unrecorded and delivered (consumers.alerts.channels)."""

from __future__ import annotations

import logging
import multiprocessing
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from consumers.alerts.alerter import AlertSettings, follow
from projections.parallel import _exit_with_parent

log = logging.getLogger("complaint_ledger.alerts")


class AlertFollower:
    def __init__(self, url: str, settings: AlertSettings, interval: float = 2.0) -> None:
        self.url, self.settings, self.interval = url, settings, interval
        self.process: BaseProcess | None = None
        self.held: Connection | None = None

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        lifeline, self.held = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_follow,
            args=(self.url, self.settings, self.interval, lifeline),
            name="alert-follower",
        )
        self.process.start()
        lifeline.close()

    def stop(self) -> None:
        if self.held is not None:
            self.held.close()
        if self.process is not None:
            self.process.join(timeout=10)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()


def _follow(url: str, settings: AlertSettings, interval: float, lifeline: Connection) -> None:
    from ledger.store.root import open_ledger
    from projections.follow import wakeups

    _exit_with_parent(lifeline)
    while True:
        try:
            with open_ledger(url) as ledger:
                for report in follow(ledger, settings, interval, wakeups(ledger, interval)):
                    if report.sent or report.failed:
                        log.info("alerts: %s", report.as_dict())
        except Exception:
            log.exception("alert follower failed; starting again")
            time.sleep(interval)
