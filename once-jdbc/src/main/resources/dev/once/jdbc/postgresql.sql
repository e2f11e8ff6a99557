-- The table of once's JdbcStore, for PostgreSQL 12 or newer.
-- JdbcStore.builder(dataSource).createTable(true) runs this when the table is missing;
-- JdbcStore.createTableSql(name) prints it for another table name (for Flyway or Liquibase).
-- One row per scoped key. A row is live until expires_at, which is the lease deadline while the
-- request is in progress and the end of the ttl once it is completed; a claim takes over a row whose
-- expires_at has passed, and the sweeper deletes such rows in batches through the index below.
-- created_at is when the key was claimed (null in rows written before the column existed).
CREATE TABLE IF NOT EXISTS once_records (
  key         text        NOT NULL PRIMARY KEY,
  state       text        NOT NULL CHECK (state IN ('in_progress', 'completed')),
  token       uuid        NOT NULL,
  fingerprint bytea,
  status      smallint,
  headers     bytea,
  body        bytea,
  replayable  boolean,
  created_at  timestamptz,
  expires_at  timestamptz NOT NULL
);
-- A table created by an earlier version gets the column; running this script again is harmless.
ALTER TABLE once_records ADD COLUMN IF NOT EXISTS created_at timestamptz;
CREATE INDEX IF NOT EXISTS once_records_expires_at ON once_records (expires_at);
