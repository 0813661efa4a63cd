"""Each PostgreSQL ledger notifies on a channel of its own. Channels belong to the database,
not to a schema: with the library's channel (named after the event table alone) an append
to any ledger of the database woke the followers of every other (``feed nats``, ``serve``'s
read-model follower), a pass each time. Seen as a feed making passes every few hundredths of
a second while other tests appended in their own schemas."""

from __future__ import annotations

import psycopg
from psycopg import sql

from ledger.store.audit_postgres import ledger_channel
from ledger.store.root import open_ledger
from tests.conftest import PG_DSN, pg_url
from tests.helpers import jsonl, receive_cmd, run


def test_an_append_wakes_the_listeners_of_its_own_ledger_only(
    postgres_schema: str, postgres_schema_2: str
) -> None:
    mine, other = pg_url(postgres_schema), pg_url(postgres_schema_2)
    with open_ledger(mine) as ledger, open_ledger(other):
        channel = ledger.recorder.channel_name  # type: ignore[attr-defined]

    def received_after(url: str, ref: str) -> list[psycopg.Notify]:
        applied = run(url, "apply", "-", input=jsonl([receive_cmd(ref)]))
        assert applied.exit_code == 0, applied.output
        # Notifications committed before a statement reach the client before its result;
        # they then wait in the connection for ``notifies`` to hand them over at once.
        listener.execute("SELECT 1")
        return list(listener.notifies(timeout=0))

    with psycopg.connect(PG_DSN, autocommit=True) as listener:
        listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        from_the_other = received_after(other, "TS-OTHER-1")
        from_mine = received_after(mine, "TS-MINE-1")

    assert from_the_other == []
    assert len(from_mine) >= 1  # the channel is the one the ledger notifies on


def test_a_channel_is_a_name_postgresql_keeps_whole_and_differs_by_schema() -> None:
    long_schemas = ["s" * 60 + "a", "s" * 60 + "b"]
    channels = [ledger_channel(s, "complaintledger_events") for s in long_schemas]

    assert ledger_channel("t_1", "complaintledger_events") == "t_1_complaintledger_events"
    assert all(len(c.encode()) <= 63 for c in channels)
    assert channels[0] != channels[1]
