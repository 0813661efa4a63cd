"""What one alerts pass costs on a ledger of synthetic complaints: reading every complaint and
judging the open ones' clocks and the rules (no channel, so nothing is sent or recorded).

    .venv/bin/python -m bench.alerts --complaints 10000 --backend sqlite

Prints one JSON line: the ledger's size, the open complaints, the alerts due at the moment
judged (rule x clock firings, before recipients), the median seconds of a pass of
``alerts run`` (every complaint), and of ``alerts follow``'s first pass and later passes
(the complaints it keeps, and no new events).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.common import EVENTS_PER_COMPLAINT, UNTIL, drop, fill, fresh_url, median_of
from consumers.alerts.alerter import Alerter, AlertSettings
from consumers.alerts.due import DEFAULT_HORIZON, happenings
from ledger.domain.values import Status
from ledger.store.books import load_rulebook
from ledger.store.root import open_ledger


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--complaints", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = fresh_url(args.backend, "alerts", Path(folder))
        try:
            events, _ = fill(url, round(args.complaints * EVENTS_PER_COMPLAINT))
            moment = UNTIL - timedelta(days=1)  # the synthetic load's last day: cases open
            with open_ledger(url) as ledger:
                alerter = Alerter(ledger, AlertSettings())  # no channel: judge, send nothing

                def one_pass() -> float:
                    started = time.perf_counter()
                    alerter.run_pass(moment)
                    return time.perf_counter() - started

                seconds, samples = median_of(args.runs, one_pass)
                # alerts follow: a first pass reads everything, later ones the kept complaints
                following = Alerter(ledger, AlertSettings(), watch=True)
                started = time.perf_counter()
                following.run_pass(moment)
                first = time.perf_counter() - started

                def watched_pass() -> float:
                    started = time.perf_counter()
                    following.run_pass(moment)
                    return time.perf_counter() - started

                watched, _ = median_of(args.runs, watched_pass)
                kept = len(following.watch.kept) if following.watch else 0
                complaints = [c for chunk in alerter._complaints() for c in chunk]
                book = load_rulebook(ledger)
                fired = sum(len(happenings(c, book, moment, DEFAULT_HORIZON)) for c in complaints)
        finally:
            drop(url)
    print(json.dumps({
        "backend": args.backend, "complaints": len(complaints), "events": events,
        "open": sum(c.status is Status.OPEN for c in complaints),
        "rules_fired": fired, "run_pass_seconds": round(seconds, 2),
        "samples": [round(s, 2) for s in samples], "follow_first_pass_seconds": round(first, 2),
        "follow_kept": kept, "follow_later_pass_seconds": round(watched, 2),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
