"""The eventsourcing library's own recorder test cases, run against the ledger's recorders.

The ledger subclasses the library's SQLite and PostgreSQL *application* recorders (command
log, chain links written in the insert's transaction, person keys, append-only triggers).
``ApplicationRecorderTestCase`` runs against exactly those classes, on both backends, as the
library's own ``tests/persistence_tests/test_sqlite.py`` and ``test_postgres.py`` subclass
it (concurrency and throughput tests included).

The audit tables are a subclass of the application recorder, so they mix into the library's
*process* recorder too (an application recorder and a tracking recorder in one): the
``ProcessRecorderTestCase`` and ``TrackingRecorderTestCase`` run against that combination,
covering the tracking side a projection would use on the same database.

``AggregateRecorderTestCase`` is not run: it asserts ``insert_events`` returns None, the
contract of an aggregate recorder (no notification ids), which an application recorder by
contract does not honour, and the ledger customises no aggregate recorder (it takes no
snapshots). The library itself runs that case only against its aggregate recorders.

Each test gets a fresh SQLite file or PostgreSQL schema, removed afterwards. No library test
deletes or updates stored events, so the append-only triggers never get in its way; the
library's own PostgreSQL tests clean up with DROP TABLE, which the triggers do not stop,
and here the whole schema is dropped.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from tempfile import TemporaryDirectory

import psycopg
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteProcessRecorder
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)

from ledger.store.audit_postgres import PostgresAuditTables
from ledger.store.audit_sqlite import SQLiteAuditTables
from ledger.store.recorders import PostgresLedgerRecorder, SQLiteLedgerRecorder
from tests.conftest import PG_DSN, require_postgres

EVENTS_TABLE = "complaintledger_events"


class SQLiteAuditedProcessRecorder(SQLiteAuditTables, SQLiteProcessRecorder):
    pass


class PostgresAuditedProcessRecorder(PostgresAuditTables, PostgresProcessRecorder):
    pass


class SQLiteFile:
    """Each test on a fresh SQLite file (the ledger's triggers and WAL need a real file)."""

    def setUp(self) -> None:
        self.tmp = TemporaryDirectory()
        self.db_name = str(Path(self.tmp.name) / "ledger.db")
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        self.tmp.cleanup()

    def datastore(self, pool_size: int = 100) -> SQLiteDatastore:
        return SQLiteDatastore(db_name=self.db_name, pool_size=pool_size)


class PostgresSchema:
    """Each test in a fresh schema of the test server, dropped afterwards."""

    pool_size = 1

    def setUp(self) -> None:
        require_postgres()
        self.schema = f"lib_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {self.schema}")
        info = psycopg.conninfo.conninfo_to_dict(PG_DSN)
        self.datastore = PostgresDatastore(
            str(info.get("dbname", "test")),
            str(info.get("host", "127.0.0.1")),
            str(info.get("port", "5432")),
            str(info.get("user", "postgres")),
            str(info.get("password", "")),
            pool_size=self.pool_size,
            max_overflow=0,
            schema=self.schema,
        )
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        self.datastore.close()
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {self.schema} CASCADE")


class TestSQLiteLedgerRecorder(SQLiteFile, ApplicationRecorderTestCase[SQLiteLedgerRecorder]):
    def create_recorder(self) -> SQLiteLedgerRecorder:
        recorder = SQLiteLedgerRecorder(self.datastore())
        recorder.create_table()
        return recorder


class TestPostgresLedgerRecorder(
    PostgresSchema, ApplicationRecorderTestCase[PostgresLedgerRecorder]
):
    def create_recorder(self) -> PostgresLedgerRecorder:
        recorder = PostgresLedgerRecorder(self.datastore, events_table_name=EVENTS_TABLE)
        recorder.create_table()
        return recorder

    def test_insert_subscribe(self) -> None:
        self.datastore.pool.open()
        self.datastore.pool.resize(2, 2)
        super().optional_test_insert_subscribe()

    def test_concurrent_no_conflicts(self, initial_position: int = 0) -> None:  # noqa: PT028
        self.datastore.pool.open()
        self.datastore.pool.resize(12, 12)
        super().test_concurrent_no_conflicts()

    def test_concurrent_throughput(self) -> None:
        self.datastore.pool.open()
        self.datastore.pool.resize(10, 10)
        super().test_concurrent_throughput()


class TestSQLiteAuditedProcessRecorder(SQLiteFile, ProcessRecorderTestCase):
    def create_recorder(self) -> SQLiteAuditedProcessRecorder:
        recorder = SQLiteAuditedProcessRecorder(self.datastore())
        recorder.create_table()
        return recorder


class TestSQLiteAuditedTrackingRecorder(SQLiteFile, TrackingRecorderTestCase):
    def create_recorder(self) -> SQLiteAuditedProcessRecorder:
        recorder = SQLiteAuditedProcessRecorder(self.datastore())
        recorder.create_table()
        return recorder


class TestPostgresAuditedProcessRecorder(PostgresSchema, ProcessRecorderTestCase):
    def create_recorder(self) -> PostgresAuditedProcessRecorder:
        recorder = PostgresAuditedProcessRecorder(
            self.datastore, events_table_name=EVENTS_TABLE, tracking_table_name="tracking"
        )
        recorder.create_table()
        return recorder


class TestPostgresAuditedTrackingRecorder(PostgresSchema, TrackingRecorderTestCase):
    def create_recorder(self) -> PostgresAuditedProcessRecorder:
        recorder = PostgresAuditedProcessRecorder(
            self.datastore, events_table_name=EVENTS_TABLE, tracking_table_name="tracking"
        )
        recorder.create_table()
        return recorder
