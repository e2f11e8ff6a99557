package dev.once.jdbc;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import java.lang.System.Logger.Level;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Duration;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;

/**
 * An {@link IdempotencyStore} in one PostgreSQL table, over any {@link DataSource}: the record
 * lives next to the application's data, and every instance of the application shares it.
 *
 * <p>Design. One row per scoped key (see {@link #createTableSql(String)} for the table): its state,
 * owner token, fingerprint, response, and {@code expires_at}, which is the lease deadline while the
 * request is in progress and the end of the ttl once it is completed; a row whose {@code expires_at}
 * has passed is absent to every operation. Each operation is exactly one SQL statement in its own
 * auto-commit transaction, so no transaction and no row lock is held while a handler runs (the
 * lease does that job):
 *
 * <ul>
 *   <li>{@code claim} is one {@code INSERT ... ON CONFLICT (key) DO UPDATE ... RETURNING} inside a
 *       statement that also reads the live row, so it acquires a new key, takes over a dead row, or
 *       returns the live row, in one round trip. A fresh insert is arbitrated by the primary key
 *       and a takeover by the row lock of {@code ON CONFLICT}, so among any number of concurrent
 *       claims of a key, in any number of processes, exactly one acquires. A duplicate or a replay
 *       is a read that takes no lock.
 *   <li>{@code complete} and {@code release} are one {@code UPDATE} and one {@code DELETE}
 *       conditional on the owner token, the in-progress state and the lease: an owner whose lease
 *       passed changes nothing, whether or not someone took over.
 *   <li>{@code peek} is one {@code SELECT} of the live row: the same read a claim starts with,
 *       without the write.
 *   <li>Every time is the database's ({@code now()}), so instances with skewed clocks agree.
 * </ul>
 *
 * <p>A sweeper thread deletes expired rows every {@link Builder#sweepInterval sweepInterval}, in
 * batches of {@link Builder#sweepBatchSize sweepBatchSize}, skipping rows that a claim has locked,
 * so it never makes a claim wait for more than one batch. It is a daemon thread, stopped by {@link
 * #close()}.
 *
 * <p>Every failure (the database is unreachable, a statement outlives the {@link
 * Builder#queryTimeout queryTimeout}, the pool has no connection to give) is a {@link
 * StoreException}, which the engine answers with 503 or, if configured, by failing open: never by
 * running the handler a second time.
 *
 * <p>The statements need PostgreSQL 12 or newer and READ COMMITTED, the default isolation; a
 * connection at a stricter level may fail a statement with a serialization error, which is retried a
 * few times (it had no effect). A connection that is not in auto-commit mode is switched to it for
 * the statement and back, so the {@code DataSource} must hand out connections of their own, as a
 * pool does: never one bound to the caller's transaction.
 *
 * <p>Thread-safe.
 */
public final class JdbcStore implements IdempotencyStore {
  /** The default table name: {@value}. */
  public static final String DEFAULT_TABLE_NAME = "once_records";
  /** The default time between two sweeps: one minute. */
  public static final Duration DEFAULT_SWEEP_INTERVAL = Duration.ofMinutes(1);
  /** The default number of rows one sweep statement deletes at most: {@value}. */
  public static final int DEFAULT_SWEEP_BATCH_SIZE = 1000;
  /** The default limit on one statement's time: five seconds. */
  public static final Duration DEFAULT_QUERY_TIMEOUT = Duration.ofSeconds(5);

  private static final System.Logger LOGGER = System.getLogger(JdbcStore.class.getName());
  /** Durations are capped here, well inside what {@code timestamptz} can hold: about a century. */
  private static final long MAX_SECONDS = 100L * 366 * 24 * 3600;
  private static final int MAX_ATTEMPTS = 5;

  private final DataSource dataSource;
  private final PostgresStatements sql;
  private final int queryTimeoutSeconds;
  private final int sweepBatchSize;
  private final Duration sweepInterval;
  private final ScheduledExecutorService sweeper;
  private volatile boolean closed;

  private JdbcStore(Builder builder) {
    this.dataSource = builder.dataSource;
    this.sql = new PostgresStatements(builder.tableName);
    this.queryTimeoutSeconds = seconds(builder.queryTimeout);
    this.sweepBatchSize = builder.sweepBatchSize;
    this.sweepInterval = builder.sweepInterval;
    if (builder.createTable) {
      createTableIfMissing();
    }
    if (sweepInterval.isZero()) {
      this.sweeper = null;
    } else {
      this.sweeper = Executors.newSingleThreadScheduledExecutor(task -> {
        Thread thread = new Thread(task, "once-jdbc-sweeper " + sql.table);
        thread.setDaemon(true);
        return thread;
      });
      long millis = sweepInterval.toMillis();
      sweeper.scheduleWithFixedDelay(this::sweepInBackground, millis, millis,
          TimeUnit.MILLISECONDS);
    }
  }

  /**
   * A builder of a store over {@code dataSource}, with the defaults documented on each option.
   *
   * @param dataSource where connections come from: a pool (HikariCP, or the application's own)
   * @return a new, mutable builder
   * @throws NullPointerException if {@code dataSource} is null
   */
  public static Builder builder(DataSource dataSource) {
    return new Builder(dataSource);
  }

  /**
   * The DDL that creates the store's table and its sweep index, for migration tools (Flyway,
   * Liquibase) or by hand: the resource {@code dev/once/jdbc/postgresql.sql} with {@code
   * once_records} renamed. It is what {@link Builder#createTable createTable(true)} runs.
   *
   * @param tableName the table name, as {@link Builder#tableName} takes it
   * @return the SQL script, statements separated by semicolons
   * @throws IllegalArgumentException if {@code tableName} is not a valid table name
   */
  public static String createTableSql(String tableName) {
    return PostgresStatements.createTableSql(tableName);
  }

  /**
   * {@inheritDoc}
   *
   * <p>One statement. When the row is live in the statement's snapshot it is a read that takes no
   * lock; otherwise it inserts, or takes over a dead row, under that row's lock, and releases the
   * lock when it returns.
   *
   * @throws IllegalArgumentException if {@code lease} is not positive
   */
  @Override
  public Claim claim(String key, Fingerprint fingerprint, Duration lease) {
    Objects.requireNonNull(key, "key");
    long leaseMicros = micros("lease", lease);
    Token token = Token.random();
    UUID mine = new UUID(token.high(), token.low());
    byte[] fingerprintBytes = fingerprint == null ? null : fingerprint.toBytes();
    return execute("claim", key, sql.claim, statement -> {
      statement.setString(1, key);
      statement.setString(2, key);
      statement.setObject(3, mine);
      if (fingerprintBytes == null) {
        statement.setNull(4, Types.BINARY);
      } else {
        statement.setBytes(4, fingerprintBytes);
      }
      statement.setLong(5, leaseMicros);
      try (ResultSet row = statement.executeQuery()) {
        if (!row.next()) {
          // cannot happen: the statement returns the live row, the inserted one or the updated one
          throw new SQLException("the claim statement returned no row");
        }
        return claimOf(key, row, mine, token);
      }
    });
  }

  /**
   * {@inheritDoc}
   *
   * <p>One conditional {@code UPDATE}; the ttl runs from the database's time of completion.
   *
   * @throws IllegalArgumentException if {@code ttl} is not positive
   */
  @Override
  public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(token, "token");
    Objects.requireNonNull(response, "response");
    long ttlMicros = micros("ttl", ttl);
    byte[] headers = HeaderCodec.encode(response);
    byte[] body = response.body();
    return execute("complete", key, sql.complete, statement -> {
      statement.setInt(1, response.status());
      statement.setBytes(2, headers);
      statement.setBytes(3, body);
      statement.setBoolean(4, response.isReplayable());
      statement.setLong(5, ttlMicros);
      statement.setString(6, key);
      statement.setObject(7, new UUID(token.high(), token.low()));
      return statement.executeUpdate() == 1;
    });
  }

  /** {@inheritDoc} <p>One conditional {@code DELETE}. */
  @Override
  public boolean release(String key, Token token) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(token, "token");
    return execute("release", key, sql.release, statement -> {
      statement.setString(1, key);
      statement.setObject(2, new UUID(token.high(), token.low()));
      return statement.executeUpdate() == 1;
    });
  }

  /**
   * {@inheritDoc}
   *
   * <p>One {@code SELECT} of the row, which the database returns only while it is live by its own
   * clock ({@code expires_at > now()}): it takes no lock, writes nothing (a dead row is neither
   * taken over nor deleted), and never waits for a claim that holds the row locked.
   */
  @Override
  public Claim peek(String key) {
    Objects.requireNonNull(key, "key");
    return execute("peek", key, sql.peek, statement -> {
      statement.setString(1, key);
      try (ResultSet row = statement.executeQuery()) {
        return row.next() ? recordOf(key, row) : null;
      }
    });
  }

  /**
   * {@inheritDoc}
   *
   * <p>Reads the table ({@code SELECT 1 FROM <table> LIMIT 0}), so it fails when the table is
   * missing or not readable, not only when the database is down.
   */
  @Override
  public void ping() {
    execute("ping", null, sql.ping, statement -> {
      statement.executeQuery().close();
      return null;
    });
  }

  /**
   * Deletes every record whose lease or ttl has passed, now, in statements of at most {@code
   * sweepBatchSize} rows each, each its own transaction. Rows a claim holds locked at that moment
   * are left for the next sweep. The sweeper thread calls this every {@code sweepInterval}; call it
   * yourself when the sweeper is off ({@code sweepInterval(Duration.ZERO)}). Thread-safe.
   *
   * @return the number of rows deleted
   * @throws StoreException if the database fails; the rows deleted by earlier batches stay deleted
   */
  public long sweep() {
    long total = 0;
    int deleted;
    do {
      deleted = execute("sweep", null, sql.sweep, statement -> {
        statement.setInt(1, sweepBatchSize);
        return statement.executeUpdate();
      });
      total += deleted;
    } while (deleted == sweepBatchSize && !closed);
    return total;
  }

  /**
   * Stops the sweeper, waiting for a sweep in progress to finish its statement, and makes later
   * operations fail. The {@code DataSource} is the caller's and stays open. Closing twice does
   * nothing.
   */
  @Override
  public void close() {
    closed = true;
    if (sweeper != null) {
      sweeper.shutdownNow();
      try {
        sweeper.awaitTermination(queryTimeoutSeconds + 1L, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public String toString() {
    return "JdbcStore{table=" + sql.table + ", sweepInterval=" + sweepInterval + "}";
  }

  private Claim claimOf(String key, ResultSet row, UUID mine, Token token) throws SQLException {
    UUID owner = row.getObject(2, UUID.class);
    if (mine.equals(owner)) {
      return Claim.acquired(token);
    }
    return recordOf(key, row);
  }

  /** The live record a row of the record columns holds: in progress or completed. */
  private Claim recordOf(String key, ResultSet row) throws SQLException {
    byte[] fingerprintBytes = row.getBytes(3);
    try {
      Fingerprint fingerprint =
          fingerprintBytes == null ? null : Fingerprint.fromBytes(fingerprintBytes);
      if ("in_progress".equals(row.getString(1))) {
        return Claim.inProgress(fingerprint);
      }
      int status = row.getInt(4);
      byte[] headers = row.getBytes(5);
      byte[] body = row.getBytes(6);
      boolean replayable = row.getBoolean(7);
      if (headers == null) {
        throw new IllegalArgumentException("a completed record has no headers");
      }
      HeaderCodec.Decoded decoded = HeaderCodec.decode(headers);
      StoredResponse response;
      if (decoded.outcomeUnknown()) {
        response = StoredResponse.outcomeUnknown();
      } else if (replayable) {
        response = StoredResponse.of(
            status, decoded.headers(), body == null ? new byte[0] : body);
      } else {
        response = StoredResponse.notReplayable(status, decoded.headers());
      }
      return Claim.completed(fingerprint, response);
    } catch (IllegalArgumentException e) {
      // a corrupt record is a store failure (503), never a reason to run the handler again
      throw new StoreException("the record in table " + sql.table + " cannot be read: "
          + e.getMessage(), key, e);
    }
  }

  private void createTableIfMissing() {
    execute("create table", null, sql.exists, exists -> {
      exists.setString(1, sql.quotedTable);
      try (ResultSet row = exists.executeQuery()) {
        row.next();
        if (row.getBoolean(1)) {
          // checked first, so a role that may use the table but not create one can still start
          return null;
        }
      }
      try (Statement ddl = exists.getConnection().createStatement()) {
        ddl.setQueryTimeout(queryTimeoutSeconds);
        for (String statement : sql.createTable) {
          ddl.execute(statement);
        }
      } catch (SQLException e) {
        // instances starting together race on CREATE TABLE IF NOT EXISTS, and the losers get a
        // duplicate error from the catalog; the table is there, so a second attempt passes
        if (isDuplicateObject(e)) {
          throw new RetryableException(e);
        }
        throw e;
      }
      return null;
    });
  }

  private void sweepInBackground() {
    try {
      long deleted = sweep();
      if (deleted > 0) {
        LOGGER.log(Level.DEBUG, () -> "swept " + deleted + " expired records from " + sql.table);
      }
    } catch (RuntimeException e) {
      if (!closed) {
        LOGGER.log(Level.WARNING, "sweeping expired records from " + sql.table + " failed; the"
            + " next sweep tries again in " + sweepInterval, e);
      }
    }
  }

  /**
   * Runs one statement in auto-commit mode on a connection of its own, with the query timeout, and
   * turns every failure into a {@link StoreException}. A serialization failure (possible only at an
   * isolation level stricter than the default) had no effect, and the statement is run again.
   */
  private <T> T execute(String operation, String key, String statementSql, Work<T> work) {
    if (closed) {
      throw new StoreException("the JDBC store on " + sql.table + " is closed", key, null);
    }
    for (int attempt = 1; ; attempt++) {
      try (Connection connection = dataSource.getConnection()) {
        boolean autoCommit = connection.getAutoCommit();
        if (!autoCommit) {
          connection.setAutoCommit(true);
        }
        try (PreparedStatement statement = connection.prepareStatement(statementSql)) {
          statement.setQueryTimeout(queryTimeoutSeconds);
          return work.run(statement);
        } finally {
          if (!autoCommit) {
            connection.setAutoCommit(false);
          }
        }
      } catch (SQLException | RetryableException e) {
        SQLException cause = e instanceof RetryableException
            ? ((RetryableException) e).getCause() : (SQLException) e;
        boolean retryable = e instanceof RetryableException || isSerializationFailure(cause);
        if (retryable && attempt < MAX_ATTEMPTS && !closed) {
          continue;
        }
        throw new StoreException(operation + " on table " + sql.table + " failed: "
            + describe(cause), key, cause);
      }
    }
  }

  private static boolean isSerializationFailure(SQLException e) {
    String state = e.getSQLState();
    return "40001".equals(state) || "40P01".equals(state);
  }

  private static boolean isDuplicateObject(SQLException e) {
    String state = e.getSQLState();
    return "23505".equals(state) || "42P07".equals(state) || "42710".equals(state);
  }

  private static String describe(SQLException e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return e.getSQLState() == null ? message : message + " [SQLState " + e.getSQLState() + "]";
  }

  private static long micros(String name, Duration duration) {
    Objects.requireNonNull(duration, name);
    if (duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, but was " + duration);
    }
    if (duration.getSeconds() >= MAX_SECONDS) {
      return MAX_SECONDS * 1_000_000L;
    }
    // rounded up, so that the shortest positive duration is still a moment of life
    return duration.getSeconds() * 1_000_000L + (duration.getNano() + 999) / 1000;
  }

  private static int seconds(Duration timeout) {
    long seconds = timeout.getSeconds() + (timeout.getNano() > 0 ? 1 : 0);
    return (int) Math.min(Integer.MAX_VALUE, seconds);
  }

  /** One statement's work, given the prepared statement. */
  @FunctionalInterface
  private interface Work<T> {
    T run(PreparedStatement statement) throws SQLException;
  }

  /** A failure after which the whole statement may be run again. */
  private static final class RetryableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RetryableException(SQLException cause) {
      super(cause);
    }

    @Override
    public synchronized SQLException getCause() {
      return (SQLException) super.getCause();
    }
  }

  /**
   * Builds a {@link JdbcStore}. Mutable and not thread-safe; each option is checked when it is
   * set.
   */
  public static final class Builder {
    private final DataSource dataSource;
    private String tableName = DEFAULT_TABLE_NAME;
    private boolean createTable;
    private Duration sweepInterval = DEFAULT_SWEEP_INTERVAL;
    private int sweepBatchSize = DEFAULT_SWEEP_BATCH_SIZE;
    private Duration queryTimeout = DEFAULT_QUERY_TIMEOUT;

    private Builder(DataSource dataSource) {
      this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    }

    /**
     * The table that holds the records. Default {@value JdbcStore#DEFAULT_TABLE_NAME}.
     *
     * @param tableName a lowercase SQL identifier ({@code [a-z_][a-z0-9_]*}, at most 63
     *     characters), optionally qualified by a schema ({@code once.records})
     * @return this builder
     * @throws IllegalArgumentException if {@code tableName} is not such an identifier
     * @throws NullPointerException if {@code tableName} is null
     */
    public Builder tableName(String tableName) {
      this.tableName = PostgresStatements.checkTableName(tableName);
      return this;
    }

    /**
     * Whether {@link #build()} creates the table and its index when the table is missing (with
     * {@link JdbcStore#createTableSql}). Default false: the table is expected to exist. Several
     * instances starting together may all ask for it.
     *
     * @param createTable true to create a missing table
     * @return this builder
     */
    public Builder createTable(boolean createTable) {
      this.createTable = createTable;
      return this;
    }

    /**
     * How long the sweeper waits between two sweeps of expired records. Default one minute;
     * {@link Duration#ZERO} turns the sweeper off (expired records are still never used; call
     * {@link JdbcStore#sweep()} yourself, or they stay in the table).
     *
     * @param sweepInterval zero, or a positive duration of at least a millisecond
     * @return this builder
     * @throws IllegalArgumentException if {@code sweepInterval} is negative, or positive but under
     *     a millisecond
     * @throws NullPointerException if {@code sweepInterval} is null
     */
    public Builder sweepInterval(Duration sweepInterval) {
      Objects.requireNonNull(sweepInterval, "sweepInterval");
      if (sweepInterval.isNegative() || (!sweepInterval.isZero() && sweepInterval.toMillis() < 1)) {
        throw new IllegalArgumentException("sweepInterval must be zero (no sweeper) or at least"
            + " one millisecond, but was " + sweepInterval);
      }
      this.sweepInterval = sweepInterval;
      return this;
    }

    /**
     * The most rows one sweep statement deletes; a sweep runs such statements until one deletes
     * fewer. Smaller batches hold fewer row locks for less time. Default {@value
     * JdbcStore#DEFAULT_SWEEP_BATCH_SIZE}.
     *
     * @param sweepBatchSize a positive number of rows
     * @return this builder
     * @throws IllegalArgumentException if {@code sweepBatchSize} is not positive
     */
    public Builder sweepBatchSize(int sweepBatchSize) {
      if (sweepBatchSize <= 0) {
        throw new IllegalArgumentException(
            "sweepBatchSize must be positive, but was " + sweepBatchSize);
      }
      this.sweepBatchSize = sweepBatchSize;
      return this;
    }

    /**
     * The longest one statement may run before it is cancelled and the operation fails with a
     * {@link StoreException} (JDBC's {@code setQueryTimeout}, which counts whole seconds: a
     * fraction is rounded up). Default five seconds. Waiting for a pooled connection is bounded by
     * the pool's own timeout, not this one.
     *
     * @param queryTimeout a positive duration
     * @return this builder
     * @throws IllegalArgumentException if {@code queryTimeout} is not positive
     * @throws NullPointerException if {@code queryTimeout} is null
     */
    public Builder queryTimeout(Duration queryTimeout) {
      Objects.requireNonNull(queryTimeout, "queryTimeout");
      if (queryTimeout.isNegative() || queryTimeout.isZero()) {
        throw new IllegalArgumentException(
            "queryTimeout must be positive, but was " + queryTimeout);
      }
      this.queryTimeout = queryTimeout;
      return this;
    }

    /**
     * Builds the store, creating its table first if {@link #createTable} asked for it, and
     * starts its sweeper.
     *
     * @return a new store; the caller closes it
     * @throws StoreException if the table was to be created and the database failed
     */
    public JdbcStore build() {
      return new JdbcStore(this);
    }
  }
}
