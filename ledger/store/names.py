"""The names of the ledger's own tables, columns and settings, in one place that imports
nothing: the store's modules use them, and so does the lean read (``projections.lean``),
which must load neither psycopg's pool, the library nor the store to find a ledger's tables.
"""

from __future__ import annotations

# The application's name: the library names the PostgreSQL event table after it.
LEDGER_NAME = "ComplaintLedger"
# The library's default name for an event table: the SQLite ledger's, and the recorders' default.
STORED_EVENTS = "stored_events"
POSTGRES_EVENTS = f"{LEDGER_NAME.lower()}_events"
COMMAND_LOG = "command_log"
CHAIN_LINKS = "chain_links"
PERSON_KEYS = "person_keys"
# The mark a ledger puts in its file's header when it creates its tables ("CLdg"), so that
# another application's database is never taken for a ledger (``ledger.store.location``).
APPLICATION_ID = 0x434C6467
# The library's switch to insert events through a database function, and the name the
# library also reads it under (prefixed with the application's name).
DB_FUNCTIONS = "POSTGRES_ENABLE_DB_FUNCTIONS"
DB_FUNCTION_SETTINGS = (DB_FUNCTIONS, f"{LEDGER_NAME.upper()}_{DB_FUNCTIONS}")
EVENT_COLUMNS = frozenset({"originator_id", "originator_version", "topic", "state"})


def postgres_columns(events_table: str = POSTGRES_EVENTS) -> dict[str, frozenset[str]]:
    """The ledger's own tables on PostgreSQL, each with its columns."""
    return {
        events_table: EVENT_COLUMNS | {"notification_id"},
        COMMAND_LOG: frozenset({"command_id", "ref", "fingerprint", "version"}),
        CHAIN_LINKS: frozenset(
            {
                "position",
                "prev_position",
                "originator_id",
                "originator_version",
                "record_hash",
                "link",
                "stream_link",
            }
        ),
        PERSON_KEYS: frozenset({"key_id", "key"}),
    }
