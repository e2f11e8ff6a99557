package dev.once.jdbc;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The SQL of {@link JdbcStore} for one table, on PostgreSQL. Every statement reads the time from
 * the
 * database ({@code now()}, the start of the statement's own auto-commit transaction), so instances
 * whose clocks disagree still agree on every lease and expiry.
 */
final class PostgresStatements {
  /**
   * A lowercase identifier, so that quoting it and PostgreSQL's case folding name the same thing.
   */
  private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
  private static final String DEFAULT_TABLE = "once_records";
  private static final String DEFAULT_INDEX = DEFAULT_TABLE + "_expires_at";
  private static final String[] RECORD_COLUMNS =
      {"state", "token", "fingerprint", "status", "headers", "body", "replayable"};
  /** What a takeover writes, besides the key: the other columns of a new in-progress row. */
  private static final String[] TAKEOVER_COLUMNS = {"state", "token", "fingerprint", "status",
      "headers", "body", "replayable", "created_at", "expires_at"};

  final String table;
  final String quotedTable;
  /** Parameters: key, key, token, fingerprint, lease in microseconds. One row, always. */
  final String claim;
  /** Parameters: status, headers, body, replayable, ttl in microseconds, key, token. */
  final String complete;
  /** Parameters: key, token. */
  final String release;
  /** Parameters: lease in microseconds, key, token. No row, or whether the lease is still live. */
  final String renew;
  /** Parameters: an array of keys. The key and owner token of each that is live and in progress. */
  final String inProgress;
  /** Parameters: key. The record's columns when it is live, else no row. */
  final String peek;
  /**
   * Parameters: key. The live record's state, status, replayable flag, stored bytes, expiry, the
   * database's time and the creation time (null in a row an earlier version wrote), else no row.
   */
  final String inspect;
  /**
   * Parameters: key, key, whether forced. One row: the live record's state when the statement
   * began (null if none) and the state of the record it deleted (null if none).
   */
  final String delete;
  /** Parameters: the batch size. */
  final String sweep;
  final String ping;
  /**
   * Parameters: the table name, as {@code to_regclass} reads it. Whether the table exists with
   * every column this version writes (its {@code created_at} came later than the rest).
   */
  final String exists;
  final List<String> createTable;

  PostgresStatements(String table) {
    this.table = table;
    this.quotedTable = quote(table);
    String t = quotedTable;
    String records = String.join(", ", RECORD_COLUMNS);
    StringBuilder takeover = new StringBuilder();
    for (String column : TAKEOVER_COLUMNS) {
      takeover.append(takeover.length() == 0 ? "" : ",\n")
          .append("    ").append(column).append(" = CASE WHEN r.expires_at <= now() THEN excluded.")
          .append(column).append(" ELSE r.").append(column).append(" END");
    }
    // Why this shape. A claim must acquire, or return the live row, in one statement. A bare
    // INSERT ... ON CONFLICT DO UPDATE ... WHERE <dead> returns nothing when the row is live, and a
    // SELECT beside it uses the statement's snapshot, which misses a row that a concurrent claim
    // committed after that snapshot was taken (the INSERT still conflicts with it, having waited
    // for it). So: `live` reads the row when the snapshot shows it live: the common duplicate and
    // replay path, a read that takes no lock and writes nothing. Only when the snapshot shows no
    // live row does the INSERT run; on a conflict its DO UPDATE always fires, on the newest
    // committed row version under its row lock, and writes either a takeover (the row is dead now)
    // or the row's own values back, so RETURNING yields the row in both cases. The caller acquired
    // exactly when the returned token is its own. Exactly one of any number of racing claims gets
    // its token in: a fresh insert is arbitrated by the primary key, and a takeover by the row
    // lock,
    // after which the row is live for every later claim.
    this.peek = "SELECT " + records + "\n"
        + "  FROM " + t + "\n"
        + "  WHERE key = ? AND expires_at > now()";
    this.claim = "WITH live AS MATERIALIZED (\n"
        + "  " + peek + "\n"
        + "), claimed AS (\n"
        + "  INSERT INTO " + t + " AS r (key, state, token, fingerprint, created_at, expires_at)\n"
        + "  SELECT CAST(? AS text), 'in_progress', CAST(? AS uuid), CAST(? AS bytea), now(),\n"
        + "    now() + CAST(? AS bigint) * interval '1 microsecond'\n"
        + "  WHERE NOT EXISTS (SELECT FROM live)\n"
        + "  ON CONFLICT (key) DO UPDATE SET\n"
        + takeover + "\n"
        + "  RETURNING " + prefixed("r.", RECORD_COLUMNS) + "\n"
        + ")\n"
        + "SELECT * FROM live UNION ALL SELECT * FROM claimed";
    this.complete = "UPDATE " + t + " SET state = 'completed', status = ?, headers = ?, body = ?,"
        + " replayable = ?, expires_at = now() + CAST(? AS bigint) * interval '1 microsecond'\n"
        + "WHERE key = ? AND token = ? AND state = 'in_progress' AND expires_at > now()";
    this.release = "DELETE FROM " + t
        + " WHERE key = ? AND token = ? AND state = 'in_progress' AND expires_at > now()";
    // fenced exactly as complete is: only the owner, only in progress, only while its lease lasts
    // by the database's clock; under READ COMMITTED a renewal that waited on the row lock of a
    // writer checks these again on the row the writer left, so it never extends a lease a claim
    // took over. RETURNING runs after the row is written, past any wait for its lock: a renewal
    // that waited so long that the lease it wrote (from the statement's start) has passed already
    // answers false, as the lease it extended is gone
    this.renew = "UPDATE " + t
        + " SET expires_at = now() + CAST(? AS bigint) * interval '1 microsecond'\n"
        + "WHERE key = ? AND token = ? AND state = 'in_progress' AND expires_at > now()\n"
        + "RETURNING expires_at > clock_timestamp()";
    // the poll of every record this store's parked waiters wait on: one primary-key lookup per key,
    // no lock; a key it does not return has changed (completed, released, or its lease passed)
    this.inProgress = "SELECT key, token FROM " + t + "\n"
        + "  WHERE key = ANY (CAST(? AS text[])) AND state = 'in_progress' AND expires_at > now()";
    // SKIP LOCKED: rows a claim is taking over right now are left for the next sweep, so a sweep
    // never waits on a claim, and a claim waits at most for one batch. The locks are taken on the
    // newest row versions with the condition checked again, so a row taken over since the
    // statement's snapshot is not deleted.
    this.sweep = "DELETE FROM " + t + " WHERE ctid = ANY (ARRAY(\n"
        + "  SELECT ctid FROM " + t + " WHERE expires_at <= now()\n"
        + "  LIMIT ? FOR UPDATE SKIP LOCKED))\n"
        + "AND expires_at <= now()";
    this.inspect = "SELECT state, status, replayable,\n"
        + "  coalesce(octet_length(headers), 0) + coalesce(octet_length(body), 0),\n"
        + "  expires_at, now(), created_at\n"
        + "  FROM " + t + "\n"
        + "  WHERE key = ? AND expires_at > now()";
    // `found` reads the statement's snapshot; the DELETE waits for the row lock of a concurrent
    // writer and, under READ COMMITTED, checks its condition again on the row that writer left:
    // a completion that committed first is deleted as a completed record, a row released or
    // deleted meanwhile is not there to delete, and a forced deletion that locked the row first
    // leaves a completion nothing to update
    this.delete = "WITH found AS MATERIALIZED (\n"
        + "  SELECT state FROM " + t + " WHERE key = ? AND expires_at > now()\n"
        + "), deleted AS (\n"
        + "  DELETE FROM " + t + " WHERE key = ? AND expires_at > now()\n"
        + "    AND (state = 'completed' OR CAST(? AS boolean))\n"
        + "  RETURNING state\n"
        + ")\n"
        + "SELECT (SELECT state FROM found), (SELECT state FROM deleted)";
    this.ping = "SELECT 1 FROM " + t + " LIMIT 0";
    this.exists = "SELECT EXISTS (SELECT FROM pg_attribute\n"
        + "  WHERE attrelid = to_regclass(?) AND attname = 'created_at' AND NOT attisdropped)";
    this.createTable = statements(createTableSql(table));
  }

  /**
   * @throws IllegalArgumentException if {@code table} is not a lowercase identifier, optionally
   *     qualified by a schema
   */
  static String checkTableName(String table) {
    if (table == null) {
      throw new NullPointerException("tableName");
    }
    String[] parts = table.split("\\.", -1);
    boolean valid = parts.length <= 2;
    for (String part : parts) {
      valid &= IDENTIFIER.matcher(part).matches();
    }
    if (!valid) {
      throw new IllegalArgumentException("tableName must be a lowercase SQL identifier"
          + " ([a-z_][a-z0-9_]*, at most 63 characters), optionally schema-qualified"
          + " (schema.table), but was \"" + table + "\"");
    }
    return table;
  }

  /** The DDL for {@code table}: the shipped resource, with the table and index renamed. */
  static String createTableSql(String table) {
    checkTableName(table);
    String unqualified = table.substring(table.lastIndexOf('.') + 1);
    String index = unqualified + "_expires_at";
    if (index.length() > 63) {
      index = unqualified.substring(0, Math.min(unqualified.length(), 63 - "_expires".length()))
          + "_expires";
    }
    String sql = resource("postgresql.sql");
    // the index name contains the table name, so it is replaced first, through a marker
    return sql.replace(DEFAULT_INDEX, "\u0000index\u0000")
        .replace(DEFAULT_TABLE, quote(table))
        .replace("\u0000index\u0000", quote(index));
  }

  private static String quote(String table) {
    return '"' + table.replace(".", "\".\"") + '"';
  }

  private static String prefixed(String prefix, String[] columns) {
    StringBuilder joined = new StringBuilder();
    for (String column : columns) {
      joined.append(joined.length() == 0 ? "" : ", ").append(prefix).append(column);
    }
    return joined.toString();
  }

  private static List<String> statements(String script) {
    List<String> statements = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : script.split("\n")) {
      if (line.startsWith("--") || line.isBlank()) {
        continue;
      }
      current.append(line).append('\n');
      if (line.endsWith(";")) {
        statements.add(current.substring(0, current.length() - 2));
        current.setLength(0);
      }
    }
    return List.copyOf(statements);
  }

  private static String resource(String name) {
    try (InputStream in = PostgresStatements.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("the resource dev/once/jdbc/" + name + " is missing");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
