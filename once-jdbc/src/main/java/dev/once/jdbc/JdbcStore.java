package dev.once.jdbc;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.Deletion;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.RecordInfo;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import java.lang.System.Logger.Level;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * An {@link IdempotencyStore} in one PostgreSQL table, over any {@link DataSource}: the record
 * lives next to the application's data, and every instance of the application shares it.
 *
 * <p>Design. One row per scoped key (see {@link #createTableSql(String)} for the table): its state,
 * owner token, fingerprint, response, the time it was claimed ({@code created_at}), and {@code
 * expires_at}, which is the lease deadline while the request is in progress and the end of the ttl
 * once it is completed; a row whose {@code expires_at} has passed is absent to every operation.
 * Each operation is exactly one SQL statement in its own auto-commit transaction, so no transaction
 * and no row lock is held while a handler runs (the lease does that job):
 *
 * <ul>
 *   <li>{@code claim} is one {@code INSERT ... ON CONFLICT (key) DO UPDATE ... RETURNING} inside a
 *       statement that also reads the live row, so it acquires a new key, takes over a dead row, or
 *       returns the live row, in one round trip. A fresh insert is arbitrated by the primary key
 *       and a takeover by the row lock of {@code ON CONFLICT}, so among any number of concurrent
 *       claims of a key, in any number of processes, exactly one acquires. A duplicate or a replay
 *       is a read that takes no lock.
 *   <li>{@code complete}, {@code renew} and {@code release} are two {@code UPDATE}s and one
 *       {@code DELETE} conditional on the owner token, the in-progress state and the lease: an
 *       owner whose lease passed changes nothing, whether or not someone took over. A renewal and
 *       a takeover of the same row are serialized by its row lock, and under READ COMMITTED the
 *       one that waited checks its condition again on the row the other wrote: exactly one wins.
 *   <li>{@code peek} is one {@code SELECT} of the live row: the same read a claim starts with,
 *       without the write; {@code inspect}, for operators, reads the lengths of its response
 *       columns rather than their values.
 *   <li>{@code delete}, for operators, is one {@code DELETE} of the live row, of a completed one
 *       only unless forced, serialized with a concurrent completion by the row lock.
 *   <li>Every time is the database's ({@code now()}), so instances with skewed clocks agree.
 *   <li>A completed row keeps its response in {@code status}, {@code headers}, {@code body} and
 *       {@code replayable}; the record of an unknown outcome is told apart by a flag in the
 *       versioned {@code headers} value ({@link HeaderCodec}), so the table is unchanged.
 * </ul>
 *
 * <p>The blocking operations run their statement on the caller's thread. The asynchronous forms
 * ({@code claimAsync} and the others) hand the same statement to a small executor of the store's
 * own: {@link Builder#asyncThreads asyncThreads} daemon threads (default 4), started on demand and
 * stopped by {@link #close()}, in front of a queue of {@link Builder#asyncQueueCapacity
 * asyncQueueCapacity} operations (default 1000). When the queue is full an asynchronous operation
 * fails at once with a {@link StoreException} rather than queue without bound, so the executor can
 * never hold more than its threads' connections nor grow its memory with the load. Its stages
 * complete on those threads: a caller that blocks in a callback should move to a thread of its
 * own.
 *
 * <p>A waiting duplicate ({@code awaitChangeAsync}) holds no thread and no connection: its future
 * is parked in a {@link ChangePoller}. A completion or release made through this store wakes the
 * waiters it has parked on that key at once, after its statement committed. For the changes other
 * instances make, and for leases that pass (an owner that died), one statement every {@link
 * Builder#changePollInterval changePollInterval} (default 25 ms), while any waiter is parked,
 * reads which of the awaited keys are still in progress under the owner first seen, and wakes the
 * waiters of the others: one primary-key lookup per awaited key, whatever the number of waiters.
 * The woken waiters of a key all look at the record at once, and their peeks, queued together,
 * share one statement. {@code LISTEN/NOTIFY} was measured beside it (docs/JDBC.md): it wakes
 * waiters on other instances sooner (a few milliseconds against half an interval), but holds a
 * connection and a thread per store, needs the driver's own API, has no signal for a passed lease,
 * and puts a {@code NOTIFY} in every completion, waited for or not, whose commits PostgreSQL
 * serializes across the whole server: with durable commits it cut completions to a third.
 *
 * <p>Every failure (the database is unreachable, a statement outlives the {@link
 * Builder#queryTimeout queryTimeout}, the pool has no connection to give) is a {@link
 * StoreException}, which the engine answers with 503 or, if configured, by failing open: never by
 * running the handler a second time.
 *
 * <p>The statements need PostgreSQL 12 or newer and READ COMMITTED, the default isolation; a
 * connection at a stricter level may fail a statement with a serialization error, which is retried
 * a
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
  /** The default number of threads that run the asynchronous operations: {@value}. */
  public static final int DEFAULT_ASYNC_THREADS = 4;
  /** The default number of asynchronous operations that may wait for a thread: {@value}. */
  public static final int DEFAULT_ASYNC_QUEUE_CAPACITY = 1000;
  /** The default time between two looks at the records that parked waiters wait on: 25 ms. */
  public static final Duration DEFAULT_CHANGE_POLL_INTERVAL = Duration.ofMillis(25);

  private static final System.Logger LOGGER = System.getLogger(JdbcStore.class.getName());
  /** Durations are capped here, well inside what {@code timestamptz} can hold: about a century. */
  private static final long MAX_SECONDS = 100L * 366 * 24 * 3600;
  private static final int MAX_ATTEMPTS = 5;

  private final DataSource dataSource;
  private final PostgresStatements sql;
  private final int queryTimeoutSeconds;
  private final int sweepBatchSize;
  private final Duration sweepInterval;
  private final @Nullable ScheduledExecutorService sweeper;
  private final ThreadPoolExecutor async;
  private final int asyncQueueCapacity;
  private final ChangePoller changes;
  /** Peeks handed to the executor and not started yet, by key: a later peek of the key joins. */
  private final ConcurrentHashMap<String, CompletableFuture<Claim>> queuedPeeks =
      new ConcurrentHashMap<>();
  private volatile boolean closed;

  private JdbcStore(Builder builder) {
    this.dataSource = builder.dataSource;
    this.sql = new PostgresStatements(builder.tableName);
    this.queryTimeoutSeconds = seconds(builder.queryTimeout);
    this.sweepBatchSize = builder.sweepBatchSize;
    this.sweepInterval = builder.sweepInterval;
    this.asyncQueueCapacity = builder.asyncQueueCapacity;
    AtomicInteger threads = new AtomicInteger();
    this.async = new ThreadPoolExecutor(builder.asyncThreads, builder.asyncThreads,
        60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(builder.asyncQueueCapacity), task -> {
          Thread thread = new Thread(task,
              "once-jdbc-async " + sql.table + " #" + threads.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        }, new ThreadPoolExecutor.AbortPolicy());
    // a store whose asynchronous forms are idle holds no thread
    async.allowCoreThreadTimeOut(true);
    this.changes = new ChangePoller(
        this::inProgress, async, builder.changePollInterval.toNanos(), sql.table);
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
      // not kept: each sweep logs its own failure, so the schedule goes on, and close() ends it
      // with shutdownNow
      ScheduledFuture<?> unused = sweeper.scheduleWithFixedDelay(this::sweepInBackground,
          millis, millis, TimeUnit.MILLISECONDS);
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
   * once_records} renamed. It is what {@link Builder#createTable createTable(true)} runs. It also
   * upgrades a table an earlier version created, adding its {@code created_at} column ({@code
   * ALTER TABLE ... ADD COLUMN IF NOT EXISTS}); every statement can run again harmlessly.
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
  public Claim claim(String key, @Nullable Fingerprint fingerprint, Duration lease) {
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
   * <p>One conditional {@code UPDATE}; the ttl runs from the database's time of completion. Once
   * it committed, the waiters this store has parked on the key are woken at once.
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
    boolean completed = execute("complete", key, sql.complete, statement -> {
      statement.setInt(1, response.status());
      statement.setBytes(2, headers);
      statement.setBytes(3, body);
      statement.setBoolean(4, response.isReplayable());
      statement.setLong(5, ttlMicros);
      statement.setString(6, key);
      statement.setObject(7, new UUID(token.high(), token.low()));
      return statement.executeUpdate() == 1;
    });
    if (completed) {
      changes.changed(key);
    }
    return completed;
  }

  /**
   * {@inheritDoc}
   *
   * <p>One conditional {@code DELETE}. Once it committed, the waiters this store has parked on the
   * key are woken at once.
   */
  @Override
  public boolean release(String key, Token token) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(token, "token");
    boolean released = execute("release", key, sql.release, statement -> {
      statement.setString(1, key);
      statement.setObject(2, new UUID(token.high(), token.low()));
      return statement.executeUpdate() == 1;
    });
    if (released) {
      changes.changed(key);
    }
    return released;
  }

  /**
   * {@inheritDoc}
   *
   * <p>One conditional {@code UPDATE}, fenced as {@link #complete} is; the new lease runs from the
   * database's time of the statement. A renewal racing a claim that takes the record over is
   * decided by the row's lock: whichever writes first wins, and the other finds the row changed
   * (the renewal a new token, the claim a live lease). A renewal that waited for the row's lock so
   * long that the lease it wrote has passed when it is written answers false.
   *
   * @throws IllegalArgumentException if {@code lease} is not positive
   */
  @Override
  public boolean renew(String key, Token token, Duration lease) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(token, "token");
    long leaseMicros = micros("lease", lease);
    return execute("renew", key, sql.renew, statement -> {
      statement.setLong(1, leaseMicros);
      statement.setString(2, key);
      statement.setObject(3, new UUID(token.high(), token.low()));
      try (ResultSet row = statement.executeQuery()) {
        return row.next() && row.getBoolean(1);
      }
    });
  }

  /**
   * {@inheritDoc}
   *
   * <p>The claim's statement, run by one of the store's {@link Builder#asyncThreads asyncThreads};
   * the stage completes on that thread. When all of them are busy and {@link
   * Builder#asyncQueueCapacity asyncQueueCapacity} operations already wait, the stage fails at once
   * with a {@link StoreException}.
   *
   * @throws IllegalArgumentException if {@code lease} is not positive
   */
  @Override
  public CompletionStage<Claim> claimAsync(
      String key, @Nullable Fingerprint fingerprint, Duration lease) {
    Objects.requireNonNull(key, "key");
    micros("lease", lease);
    return submit("claim", key, () -> claim(key, fingerprint, lease));
  }

  /**
   * {@inheritDoc}
   *
   * <p>On the store's threads, as {@link #claimAsync} is.
   *
   * @throws IllegalArgumentException if {@code ttl} is not positive
   */
  @Override
  public CompletionStage<Boolean> completeAsync(
      String key, Token token, StoredResponse response, Duration ttl) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(token, "token");
    Objects.requireNonNull(response, "response");
    micros("ttl", ttl);
    return submit("complete", key, () -> complete(key, token, response, ttl));
  }

  /** {@inheritDoc} <p>On the store's threads, as {@link #claimAsync} is. */
  @Override
  public CompletionStage<Boolean> releaseAsync(String key, Token token) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(token, "token");
    return submit("release", key, () -> release(key, token));
  }

  /**
   * {@inheritDoc}
   *
   * <p>On the store's threads, as {@link #claimAsync} is, never on the caller's: the engine renews
   * every open exchange from one scheduler thread.
   *
   * @throws IllegalArgumentException if {@code lease} is not positive
   */
  @Override
  public CompletionStage<Boolean> renewAsync(String key, Token token, Duration lease) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(token, "token");
    micros("lease", lease);
    return submit("renew", key, () -> renew(key, token, lease));
  }

  /**
   * {@inheritDoc}
   *
   * <p>On the store's threads, as {@link #claimAsync} is. Peeks of one key that are waiting for a
   * thread are one statement: a peek of a key whose peek is queued and not yet started joins it
   * and gets its answer, which is still read after the later peek was asked for. So the waiters a
   * change wakes together, who all look at the record at once, cost one statement and one place
   * in the queue, not one each.
   */
  @Override
  public CompletionStage<Claim> peekAsync(String key) {
    Objects.requireNonNull(key, "key");
    while (true) {
      CompletableFuture<Claim> queued = queuedPeeks.get(key);
      if (queued != null) {
        return queued.copy();
      }
      CompletableFuture<Claim> fresh = new CompletableFuture<>();
      if (queuedPeeks.putIfAbsent(key, fresh) != null) {
        continue;
      }
      CompletionStage<Claim> started = submit("peek", key, () -> {
        // leaves the queue before its statement starts: a peek asked for from now on reads anew
        queuedPeeks.remove(key, fresh);
        return peek(key);
      });
      started.whenComplete((claim, error) -> {
        queuedPeeks.remove(key, fresh);
        if (error != null) {
          fresh.completeExceptionally(error);
        } else {
          fresh.complete(claim);
        }
      });
      return fresh.copy();
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Parks the waiter with no thread and no connection held. A {@code complete} or {@code
   * release} of the key through this store wakes it as soon as its statement committed. Changes
   * made elsewhere (another instance, the lease passing) are seen by a poll shared by every waiter
   * of this store, which looks every {@link Builder#changePollInterval changePollInterval} at all
   * the records they wait on in one statement and wakes the waiters of each that is no longer in
   * progress under the owner it first saw: within about one interval of the change. If a poll
   * fails, the waiters of its records fail with a {@link StoreException}; when {@code timeout}
   * passes first, the stage completes normally. Completing or cancelling the returned stage's
   * future parks the waiter no more.
   */
  @Override
  public CompletionStage<Void> awaitChangeAsync(String key, Duration timeout) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(timeout, "timeout");
    if (closed) {
      return CompletableFuture.failedFuture(closedException(key));
    }
    return changes.await(key, saturatedNanos(timeout));
  }

  /**
   * {@inheritDoc}
   *
   * <p>Parks the calling thread on {@link #awaitChangeAsync}: it costs this store no statement of
   * its own while it waits.
   */
  @Override
  public void awaitChange(String key, Duration timeout) throws InterruptedException {
    CompletableFuture<Void> waiter = awaitChangeAsync(key, timeout).toCompletableFuture();
    try {
      waiter.get();
    } catch (InterruptedException e) {
      waiter.cancel(false);
      throw e;
    } catch (ExecutionException e) {
      throw storeException("await", key, e.getCause());
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>One {@code SELECT} of the row, which the database returns only while it is live by its own
   * clock ({@code expires_at > now()}): it takes no lock, writes nothing (a dead row is neither
   * taken over nor deleted), and never waits for a claim that holds the row locked.
   */
  @Override
  public @Nullable Claim peek(String key) {
    Objects.requireNonNull(key, "key");
    return execute("peek", key, sql.peek, statement -> {
      statement.setString(1, key);
      try (ResultSet row = statement.executeQuery()) {
        return row.next() ? Optional.of(recordOf(key, row)) : Optional.<Claim>empty();
      }
    }).orElse(null);
  }

  /**
   * {@inheritDoc}
   *
   * <p>One {@code SELECT} of the live row that returns the lengths of its response columns, not
   * their values, and takes no lock. The times are the database's: the creation time is the
   * {@code created_at} the claim wrote ({@link RecordInfo#created()} is empty for a row an earlier
   * version wrote, before the table had the column); the stored bytes are those of the {@code
   * headers} and {@code body} columns.
   */
  @Override
  public Optional<RecordInfo> inspect(String key) {
    Objects.requireNonNull(key, "key");
    return execute("inspect", key, sql.inspect, statement -> {
      statement.setString(1, key);
      try (ResultSet row = statement.executeQuery()) {
        if (!row.next()) {
          return Optional.<RecordInfo>empty();
        }
        Instant expires = row.getObject(5, OffsetDateTime.class).toInstant();
        Duration left =
            Duration.between(row.getObject(6, OffsetDateTime.class).toInstant(), expires);
        OffsetDateTime createdAt = row.getObject(7, OffsetDateTime.class);
        Instant created = createdAt == null ? null : createdAt.toInstant();
        if (!"completed".equals(row.getString(1))) {
          return Optional.of(RecordInfo.inProgress(created, expires, left));
        }
        try {
          return Optional.of(RecordInfo.completed(created, expires, left, row.getInt(2),
              row.getLong(4), row.getBoolean(3)));
        } catch (IllegalArgumentException e) {
          throw new StoreException("stored record is unreadable: " + e.getMessage(), key, null);
        }
      }
    });
  }

  /**
   * {@inheritDoc}
   *
   * <p>One statement: a {@code DELETE} of the live row, conditional on its state unless forced,
   * beside a read of the row that tells a refusal from an absent key. A deletion and a concurrent
   * completion of the row are serialized by its row lock. Parked waiters of this store notice a
   * forced deletion at their next poll, as they notice a release.
   */
  @Override
  public Deletion delete(String key, boolean force) {
    Objects.requireNonNull(key, "key");
    return execute("delete", key, sql.delete, statement -> {
      statement.setString(1, key);
      statement.setString(2, key);
      statement.setBoolean(3, force);
      try (ResultSet row = statement.executeQuery()) {
        row.next();
        String found = row.getString(1);
        String deleted = row.getString(2);
        if (deleted != null) {
          return "completed".equals(deleted) ? Deletion.DELETED : Deletion.FORCED;
        }
        return "in_progress".equals(found) ? Deletion.IN_PROGRESS : Deletion.ABSENT;
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
      return true; // it answered
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
   * Makes later operations fail, fails every parked waiter with a {@link StoreException}, and
   * stops the sweeper and the asynchronous threads: operations still queued for a thread fail
   * with a {@link StoreException}, and statements running (a sweep's, an asynchronous
   * operation's) are waited for, each at most its query timeout. The {@code DataSource} is the
   * caller's and stays open. Closing twice does nothing.
   */
  @Override
  public void close() {
    closed = true;
    changes.close();
    async.shutdown();
    if (sweeper != null) {
      sweeper.shutdownNow();
    }
    try {
      async.awaitTermination(queryTimeoutSeconds + 1L, TimeUnit.SECONDS);
      if (sweeper != null) {
        sweeper.awaitTermination(queryTimeoutSeconds + 1L, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "JdbcStore{table=" + sql.table + ", sweepInterval=" + sweepInterval
        + ", asyncThreads=" + async.getMaximumPoolSize() + "}";
  }

  /** @return the statements of this store's table, for {@link TransactionalJdbcStore} */
  PostgresStatements statements() {
    return sql;
  }

  /** @return the limit on one statement's time, in whole seconds */
  int queryTimeoutSeconds() {
    return queryTimeoutSeconds;
  }

  /** @return the waiters parked on this store now, for tests */
  int parkedWaiters() {
    return changes.waiters();
  }

  /**
   * Runs {@code blocking} on one of the store's threads. The stage fails with a {@link
   * StoreException} when the executor is full or closed, or when the operation fails.
   */
  private <T> CompletionStage<T> submit(String operation, String key, Supplier<T> blocking) {
    CompletableFuture<T> stage = new CompletableFuture<>();
    if (closed) {
      stage.completeExceptionally(closedException(key));
      return stage;
    }
    try {
      async.execute(() -> {
        try {
          stage.complete(blocking.get());
        } catch (RuntimeException e) {
          stage.completeExceptionally(storeException(operation, key, e));
        }
      });
    } catch (RejectedExecutionException e) {
      stage.completeExceptionally(closed ? closedException(key) : new StoreException(operation
          + " on table " + sql.table + " refused: the store's asynchronous threads ("
          + async.getMaximumPoolSize() + ") are busy and its queue (" + asyncQueueCapacity
          + " operations) is full; see JdbcStore.Builder asyncThreads and asyncQueueCapacity",
          key, e));
    }
    return stage;
  }

  /** The poll of {@link ChangePoller}: which keys have a live in-progress record, by owner. */
  private Map<String, UUID> inProgress(List<String> keys) {
    Map<String, UUID> owners = new HashMap<>();
    for (int from = 0; from < keys.size(); from += ChangePoller.KEYS_PER_STATEMENT) {
      Object[] chunk = keys.subList(from,
          Math.min(keys.size(), from + ChangePoller.KEYS_PER_STATEMENT)).toArray();
      execute("await", null, sql.inProgress, statement -> {
        Array array = statement.getConnection().createArrayOf("text", chunk);
        try {
          statement.setArray(1, array);
          try (ResultSet rows = statement.executeQuery()) {
            while (rows.next()) {
              owners.put(rows.getString(1), rows.getObject(2, UUID.class));
            }
          }
        } finally {
          array.free();
        }
        return owners; // filled in place
      });
    }
    return owners;
  }

  private StoreException closedException(@Nullable String key) {
    return new StoreException("the JDBC store on " + sql.table + " is closed", key, null);
  }

  /** {@code error} as a {@link StoreException}: itself if it is one. */
  private StoreException storeException(String operation, String key, @Nullable Throwable error) {
    if (error instanceof StoreException) {
      return (StoreException) error;
    }
    return new StoreException(operation + " on table " + sql.table + " failed: " + error, key,
        error);
  }

  Claim claimOf(String key, ResultSet row, UUID mine, Token token) throws SQLException {
    UUID owner = row.getObject(2, UUID.class);
    if (mine.equals(owner)) {
      return Claim.acquired(token);
    }
    return recordOf(key, row);
  }

  /** The live record a row of the record columns holds: in progress or completed. */
  Claim recordOf(String key, ResultSet row) throws SQLException {
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
          // checked first, so a role that may use the table but not create or alter one can
          // still start
          return false;
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
      return true; // created
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
  private <T> T execute(
      String operation, @Nullable String key, String statementSql, Work<T> work) {
    if (closed) {
      throw closedException(key);
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
    return "23505".equals(state) || "42P07".equals(state) || "42710".equals(state)
        || "42701".equals(state);
  }

  private static String describe(SQLException e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    String described =
        e.getSQLState() == null ? message : message + " [SQLState " + e.getSQLState() + "]";
    if ("42703".equals(e.getSQLState()) && message.contains("created_at")) {
      // undefined column: a table an earlier version created, not yet upgraded
      described += "; the table predates its created_at column: run the DDL of"
          + " JdbcStore.createTableSql (its ALTER TABLE adds the column), or build the store with"
          + " createTable(true)";
    }
    return described;
  }

  private static Duration positive(String name, Duration duration) {
    Objects.requireNonNull(duration, name);
    if (duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, but was " + duration);
    }
    return duration;
  }

  private static int positive(String name, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be positive, but was " + value);
    }
    return value;
  }

  static long micros(String name, Duration duration) {
    positive(name, duration);
    if (duration.getSeconds() >= MAX_SECONDS) {
      return MAX_SECONDS * 1_000_000L;
    }
    // rounded up, so that the shortest positive duration is still a moment of life
    return duration.getSeconds() * 1_000_000L + (duration.getNano() + 999) / 1000;
  }

  /** @return the nanoseconds of {@code duration}, saturated (a negative one stays negative) */
  private static long saturatedNanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return duration.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
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
      return (SQLException) Objects.requireNonNull(super.getCause(), "made with a cause");
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
    private int asyncThreads = DEFAULT_ASYNC_THREADS;
    private int asyncQueueCapacity = DEFAULT_ASYNC_QUEUE_CAPACITY;
    private Duration changePollInterval = DEFAULT_CHANGE_POLL_INTERVAL;

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
     * Whether {@link #build()} creates the table and its index when the table is missing, and
     * adds the {@code created_at} column to a table an earlier version created (with {@link
     * JdbcStore#createTableSql}). Default false: the table is expected to exist with every column
     * (run that DDL before deploying this version over a table an earlier one created). Several
     * instances starting together may all ask for it. A table that has every column is not
     * changed, so a role that may use the table but not alter it can start.
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
      this.sweepBatchSize = positive("sweepBatchSize", sweepBatchSize);
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
      this.queryTimeout = positive("queryTimeout", queryTimeout);
      return this;
    }

    /**
     * How many threads run the asynchronous operations ({@code claimAsync}, {@code completeAsync},
     * {@code releaseAsync}, {@code renewAsync}, {@code peekAsync}) and the poll of parked waiters,
     * each holding one connection of the {@code DataSource} while its statement runs: so this is
     * also the most connections they take at once. The blocking operations run on their caller's
     * thread and do not count. Threads are started when there is work, named {@code
     * once-jdbc-async <table> #<n>}, are daemons, end after a minute without work, and are stopped
     * by {@link JdbcStore#close()}. Keep the pool larger than this plus the threads that call the
     * blocking operations at once. Default {@value JdbcStore#DEFAULT_ASYNC_THREADS}.
     *
     * @param asyncThreads a positive number of threads
     * @return this builder
     * @throws IllegalArgumentException if {@code asyncThreads} is not positive
     */
    public Builder asyncThreads(int asyncThreads) {
      this.asyncThreads = positive("asyncThreads", asyncThreads);
      return this;
    }

    /**
     * How many asynchronous operations may wait for one of the {@link #asyncThreads} at once.
     * When they are all busy and the queue is full, an asynchronous operation fails at once with a
     * {@link StoreException} (the engine answers 503) instead of queueing without bound: a
     * database too slow for the load then costs quick refusals, not memory and ever longer waits.
     * Peeks of one key waiting in the queue share one place. Default {@value
     * JdbcStore#DEFAULT_ASYNC_QUEUE_CAPACITY}.
     *
     * @param asyncQueueCapacity a positive number of operations
     * @return this builder
     * @throws IllegalArgumentException if {@code asyncQueueCapacity} is not positive
     */
    public Builder asyncQueueCapacity(int asyncQueueCapacity) {
      this.asyncQueueCapacity = positive("asyncQueueCapacity", asyncQueueCapacity);
      return this;
    }

    /**
     * How often, while any waiter is parked by {@code awaitChangeAsync} (a duplicate told to wait
     * with {@code maxWait}), the store looks at the records they wait on: one statement per
     * interval for all of them, none while nobody waits. A waiter is woken about this long after
     * the change at most, half of it on average. Default 25 ms.
     *
     * @param changePollInterval from one millisecond to one minute
     * @return this builder
     * @throws IllegalArgumentException if {@code changePollInterval} is under a millisecond or
     *     over a minute
     * @throws NullPointerException if {@code changePollInterval} is null
     */
    public Builder changePollInterval(Duration changePollInterval) {
      Objects.requireNonNull(changePollInterval, "changePollInterval");
      if (changePollInterval.compareTo(Duration.ofMillis(1)) < 0
          || changePollInterval.compareTo(Duration.ofMinutes(1)) > 0) {
        throw new IllegalArgumentException("changePollInterval must be from one millisecond to"
            + " one minute, but was " + changePollInterval);
      }
      this.changePollInterval = changePollInterval;
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
