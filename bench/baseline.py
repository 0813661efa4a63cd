"""The baseline for projection speed: the library's own ProjectionRunner, one event per
transaction (a row per complaint upserted, and the tracking record, per event)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from psycopg.sql import SQL, Identifier

from bench.common import peak_rss_mb
from ledger.store.root import Ledger, persistence_env


class CaseVersions(PostgresTrackingRecorder):
    """A minimal read model: each complaint's latest version and event."""

    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.table = Identifier(self.datastore.schema, "baseline_cases")
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (case_id text PRIMARY KEY, version bigint, "
                "event text)"
            ).format(self.table)
        )

    def record(self, event: Any, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {} VALUES (%s, %s, %s) ON CONFLICT (case_id) "
                    "DO UPDATE SET version = excluded.version, event = excluded.event"
                ).format(self.table),
                (event.originator_id.hex, event.originator_version, type(event).__name__),
            )
            self._insert_tracking(curs, tracking)


class CaseVersionsProjection(Projection[CaseVersions]):
    name = "baseline"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.record(domain_event, tracking)


def main(url: str, seconds: float) -> None:
    env = persistence_env(url)
    started = time.perf_counter()
    with ProjectionRunner(
        application_class=Ledger,
        projection_class=CaseVersionsProjection,
        view_class=CaseVersions,
        env=env,
    ) as runner:
        head = runner.app.recorder.max_notification_id() or 0
        deadline = started + seconds
        done = 0
        while time.perf_counter() < deadline:
            done = runner.view.max_tracking_id(runner.app_name) or 0
            if done >= head:
                break
            time.sleep(0.2)
        done = runner.view.max_tracking_id(runner.app_name) or 0
    elapsed = time.perf_counter() - started
    print(json.dumps({"events": done, "seconds": elapsed, "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
