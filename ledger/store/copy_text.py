"""Rows in PostgreSQL's ``COPY … FROM STDIN`` text format, made where the data is.

The bulk path's worker processes encode the events they decide; formatting their rows here,
in the worker, leaves the writing process (one, and the bottleneck) to add only what it alone
knows, each event's position and chain links, and to send the bytes on as they are. The
format is the server's text format: columns split by tabs, rows ended by a newline, a
backslash, tab, newline or carriage return in a value escaped with a backslash, ``bytea`` as
``\\x`` and hex (its backslash escaped too). ``tests/integration/test_batch_writer.py``
compares what these rows store with what psycopg's ``write_row`` stores.
"""

from __future__ import annotations

from uuid import UUID

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def text(value: str) -> bytes:
    """A text value, escaped (the server's encoding is UTF-8: the ledger creates it so)."""
    return value.translate(_ESCAPES).encode()


def binary(value: bytes) -> bytes:
    return b"\\\\x" + value.hex().encode()


def event_row(originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    """An event's row without its position, which comes first: ``position\\t`` + this."""
    return b"%s\t%d\t%s\t%s\n" % (str(originator_id).encode(), version, text(topic), binary(state))


EVENT_COLUMNS = "notification_id, originator_id, originator_version, topic, state"


def command_row(command_id: str, ref: str, fingerprint: str, version: int) -> bytes:
    return b"%s\t%s\t%s\t%d\n" % (text(command_id), text(ref), text(fingerprint), version)


COMMAND_COLUMNS = "command_id, ref, fingerprint, version"
