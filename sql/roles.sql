-- Least-privilege roles for a complaint-ledger on PostgreSQL.
--
-- Run it with psql as the role that owns the ledger's tables (the role that opened the
-- ledger first, which created them), once the tables exist:
--
--   psql "postgresql://owner@host/db" -v schema=public -v prefix=ledger_ -f sql/roles.sql
--
-- It creates three group roles (NOLOGIN) and grants them what they need, no more:
--
--   <prefix>writer   runs the commands: reads and appends events, chain links, command-log
--                    entries and personal-data keys; deletes a key only to erase (crypto-
--                    shredding). It cannot change or delete an event or a chain link (the
--                    append-only triggers refuse it, and only the owner may disable them).
--                    It reads the read models too, as the reader does (now and, through
--                    default privileges, those the owner creates later): whoever records
--                    the actions runs list, report and audit to find what to act on.
--   <prefix>reader   reads the read models only: every other table of the schema, now and
--                    (through default privileges) those the owner creates later. It runs
--                    list, report and audit; of the log it learns only the last position
--                    (complaint_ledger_head(), below), to say how far behind the read models are.
--   <prefix>auditor  reads everything, the event store and the personal-data keys included
--                    (show reveals the complainant's name and phone of a complaint not yet
--                    erased); writes nothing. It runs every read command: show, history, sla,
--                    verify, export, export-commands, list, report, audit, and the books'
--                    listings (staff list, policy list|show, calendar list).
--   <prefix>feed     runs the event feed (complaint-ledger feed nats): reads the event store
--                    (whose personal data is sealed; it never reads the keys) and keeps its
--                    position in feed_positions, the one table it writes (docs/feed.md).
--
-- Neither reader nor auditor catches the read models up: the owner runs the projection runner
-- (complaint-ledger projections follow), and read commands read the tables as they stand and
-- say how far behind the log they are. Both work in a session with
-- default_transaction_read_only=on and on a hot standby.
--
-- Give them to login roles, e.g.  CREATE ROLE app LOGIN IN ROLE ledger_writer;
-- The application then connects as that role with ?create_tables=no in its URL (only the
-- owner may create or alter tables): postgresql://app@host/db?schema=public&create_tables=no
--
-- Why the writer holds UPDATE on the event table: the library serialises writers with
-- LOCK TABLE ... IN EXCLUSIVE MODE, and PostgreSQL lets only a role with UPDATE, DELETE or
-- TRUNCATE on a table take that lock. The append-only trigger refuses every UPDATE anyway.
--
-- Running the script again is harmless: roles are created only when missing. Run it again
-- after an upgrade that adds tables of the ledger's own: the writer's default privileges
-- give it SELECT on a new table, never INSERT or DELETE. (The default privileges below would
-- give the reader SELECT on a new table of the ledger's own; the owner creates index_secret,
-- added with the blind index, with every such grant revoked.)

\set ON_ERROR_STOP on
\set writer :prefix writer
\set reader :prefix reader
\set auditor :prefix auditor
\set feed :prefix feed

SELECT format('CREATE ROLE %I NOLOGIN', name)
  FROM unnest(ARRAY[:'writer', :'reader', :'auditor', :'feed']) AS name
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name)
\gexec

SET search_path TO :"schema";

GRANT USAGE ON SCHEMA :"schema" TO :"writer", :"reader", :"auditor", :"feed";

-- The writer: the event store and what is written with it, in the same transaction.
GRANT SELECT, INSERT, UPDATE ON complaintledger_events TO :"writer";
GRANT USAGE ON SEQUENCE complaintledger_events_notification_id_seq TO :"writer";
GRANT SELECT, INSERT ON chain_links, command_log TO :"writer";
GRANT SELECT, INSERT, DELETE ON person_keys TO :"writer";
-- The blind index of complainants (docs/repeats.md): the writer files digests at receipt and
-- deletes them with the key at erasure; it reads the secret to key them (and makes it once).
GRANT SELECT, INSERT, DELETE ON complainant_index TO :"writer";
GRANT SELECT, INSERT ON complaint_links, index_secret TO :"writer";
-- The read models (list, report, audit): it reads every table of the schema; of the ledger's
-- own it reads no more than the grants above give it. It writes no read model: the owner's
-- runner keeps them, and the writer reads them as they stand, with their lag.
GRANT SELECT ON ALL TABLES IN SCHEMA :"schema" TO :"writer";
ALTER DEFAULT PRIVILEGES IN SCHEMA :"schema" GRANT SELECT ON TABLES TO :"writer";

-- The reader: every table but the ledger's own (those hold the events and the keys). It may
-- read the blind index and the links (digests and references: related, show's lists), never
-- the index secret, without which a digest cannot be tried against a guessed phone number.
GRANT SELECT ON ALL TABLES IN SCHEMA :"schema" TO :"reader";
REVOKE ALL ON complaintledger_events, chain_links, command_log, person_keys, index_secret
  FROM :"reader";
ALTER DEFAULT PRIVILEGES IN SCHEMA :"schema" GRANT SELECT ON TABLES TO :"reader";

-- The feed: the log, and its own position (created here, as consumers/feed/position.py would).
CREATE TABLE IF NOT EXISTS feed_positions (name TEXT PRIMARY KEY, position BIGINT NOT NULL);
GRANT SELECT ON complaintledger_events TO :"feed";
GRANT SELECT, INSERT, UPDATE ON feed_positions TO :"feed";

-- The auditor: everything, read only, but the index secret (no read needs it).
GRANT SELECT ON ALL TABLES IN SCHEMA :"schema" TO :"auditor";
REVOKE ALL ON index_secret FROM :"auditor";
ALTER DEFAULT PRIVILEGES IN SCHEMA :"schema" GRANT SELECT ON TABLES TO :"auditor";

-- The log's last position, for logins that may not read the log: how far behind it the read
-- models are, and nothing else of it. SECURITY DEFINER runs it as the owner; the search path
-- is fixed so that no table of the caller's can stand in for the log.
SELECT format(
  'CREATE OR REPLACE FUNCTION %1$I.complaint_ledger_head() RETURNS bigint LANGUAGE sql STABLE '
  'SECURITY DEFINER SET search_path = pg_catalog, pg_temp '
  'AS $body$ SELECT COALESCE(max(notification_id), 0) FROM %1$I.complaintledger_events $body$',
  :'schema')
\gexec
REVOKE ALL ON FUNCTION complaint_ledger_head() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION complaint_ledger_head() TO :"reader", :"auditor";
