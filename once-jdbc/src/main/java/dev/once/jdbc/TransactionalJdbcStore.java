package dev.once.jdbc;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.ForwardingIdempotencyStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import dev.once.spi.WorkUndoneException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * The transactional mode of {@link JdbcStore}: the record of a keyed request is written in the
 * same PostgreSQL transaction as the handler's own writes, so the completed record and the
 * business writes commit together, or neither does.
 *
 * <p>Design. A record has the states of {@link JdbcStore}'s rows, but an owner's row is never
 * committed while the owner runs: the {@code in_progress} row lives only inside the owner's open
 * transaction, and what other requests see of it is an advisory lock on the key.
 *
 * <ul>
 *   <li>{@code claim}, on the thread that decides the request (the one that then runs the handler,
 *       for a servlet), begins a transaction ({@link JdbcTransactions#begin()}) and tries {@code
 *       pg_try_advisory_xact_lock(h)}, with {@code h} 64 bits of SHA-256 of the table and the key.
 *       Taken: it runs {@link JdbcStore}'s claim statement in the transaction. If that acquires,
 *       the transaction stays open, bound to the thread ({@link #connection()}) and to the owner
 *       token; if it finds a completed record, the transaction is rolled back and the record
 *       returned (a replay, or 422). Not taken: another transaction owns the key now; one {@code
 *       SELECT} of the committed row tells a completed record (replay, 422) from one in progress
 *       (409, or a parked wait), and the transaction is rolled back. Either way a duplicate holds
 *       its connection for two or three short statements and never waits on a lock.
 *   <li>{@code complete} runs {@link JdbcStore}'s complete statement in the owner's transaction
 *       and commits it: the business writes and the completed record become visible at one
 *       instant. The engine's adapters report the end of a response before its last bytes reach
 *       the client, and wait for this, so a client never sees a whole answer whose writes are not
 *       committed. A statement or commit that fails here (a deferred constraint, the connection
 *       lost) has undone the writes with the record: a {@link WorkUndoneException}, on which the
 *       engine finishes the exchange as {@code WORK_UNDONE} and the filter answers 503 instead of
 *       the handler's answer (or breaks off a response already partly sent).
 *   <li>{@code release} (the handler threw, or answered with a status that is not cacheable) rolls
 *       the transaction back: the row and every business write go, and the key is free at once. The
 *       writes of an answer that is not stored go too, because the retry it invites runs the
 *       handler again: kept, they would be made twice.
 *   <li>{@code renew} touches nothing: an open transaction needs no lease, its advisory lock is
 *       held until it ends. If the process dies, PostgreSQL rolls the transaction back when the
 *       connection drops, which frees the lock with it: nothing of the request is left, and the
 *       retry runs at once.
 *   <li>{@code peek} (a parked waiter looking again) reads {@code pg_locks} for the key's advisory
 *       lock (a read that takes no lock), then, if it is free, the committed row.
 * </ul>
 *
 * <p>Why an advisory lock tried first, rather than the claim statement under {@code SET LOCAL
 * lock_timeout}. The owner's {@code INSERT} of the key is uncommitted for the whole handler, and a
 * second {@code INSERT} of the same key waits on it; a lock timeout would bound that wait, but each
 * duplicate would still hold a connection for the timeout, and the timeout must be short enough
 * for the pool and long enough for a slow statement at once. {@code pg_try_advisory_xact_lock}
 * answers at once, without touching the row, and is freed by the same commit or rollback that ends
 * the owner's transaction, crash included. Two keys whose hashes collide (one chance in 2^64 per
 * pair) only see each other as in progress for a moment.
 *
 * <p>Limits. Every instance sharing the table must use this mode: {@link JdbcStore}'s claim of a
 * key held here waits on the uncommitted row (up to its query timeout). The handler's writes must
 * go through the transaction ({@link #connection()}, or the Spring starter's transaction manager),
 * on the same database. The transaction is open while the handler runs, holding one pooled
 * connection and row locks of the handler's writes; a handler that answers from another thread
 * (an async servlet) cannot use this mode. A waiter looks again every 25 ms.
 *
 * <p>Thread-safe.
 */
public final class TransactionalJdbcStore extends ForwardingIdempotencyStore {
  private static final Duration LOOK_AGAIN = Duration.ofMillis(25);

  private final JdbcStore records;
  private final DataSource dataSource;
  private final JdbcTransactions transactions;
  private final PostgresStatements sql;
  private final int queryTimeoutSeconds;
  private final String tryLock;
  private final String lockHeld;
  private final ConcurrentHashMap<Token, Owner> owners = new ConcurrentHashMap<>();
  private final ThreadLocal<Owner> current = new ThreadLocal<>();
  private final ThreadPoolExecutor peeks;

  private TransactionalJdbcStore(Builder builder) {
    this.records = builder.records;
    this.dataSource = builder.dataSource;
    this.transactions = builder.transactions == null
        ? JdbcTransactions.of(builder.dataSource) : builder.transactions;
    this.sql = records.statements();
    this.queryTimeoutSeconds = records.queryTimeoutSeconds();
    this.tryLock = "SELECT pg_try_advisory_xact_lock(CAST(? AS bigint))";
    this.lockHeld = "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND granted\n"
        + "  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())\n"
        + "  AND CAST(classid AS bigint) = ? AND CAST(objid AS bigint) = ? AND objsubid = 1)";
    this.peeks = new ThreadPoolExecutor(2, 2, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(1000),
        task -> {
          Thread thread = new Thread(task, "once-jdbc-tx-peek " + sql.table);
          thread.setDaemon(true);
          return thread;
        }, new ThreadPoolExecutor.AbortPolicy());
    peeks.allowCoreThreadTimeOut(true);
  }

  /**
   * A builder of a transactional store keeping its records with {@code records} (its table, query
   * timeout and sweeper), in transactions on {@code dataSource}.
   *
   * @param records the store whose table holds the records; it is closed with this one
   * @param dataSource the database of the records table and of the handler's writes (the pool
   *     {@code records} was built over)
   * @return a new, mutable builder
   * @throws NullPointerException if an argument is null
   */
  public static Builder builder(JdbcStore records, DataSource dataSource) {
    return new Builder(records, dataSource);
  }

  @Override
  protected IdempotencyStore delegate() {
    return records;
  }

  /**
   * The connection of the transaction this thread claimed a key in, for the handler's writes: they
   * commit with the completed record, or roll back with its release. The store commits, rolls back
   * and closes it; the connection handed out refuses {@code commit}, {@code rollback} and {@code
   * setAutoCommit}, and its {@code close} does nothing.
   *
   * @return the transaction's connection
   * @throws IllegalStateException if this thread has no open transaction of a keyed request (the
   *     request had no key, the handler runs on another thread, or the record is finished)
   */
  public Connection connection() {
    Owner owner = current.get();
    if (owner == null || owner.finished) {
      throw new IllegalStateException("no transaction of a keyed request is open on this thread"
          + " (the request has no key, or the record is finished, or the handler runs on a thread"
          + " other than the one that claimed the key)");
    }
    return owner.handedOut;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Begins a transaction and tries the key's advisory lock in it; when taken, runs the claim
   * statement. The transaction of an acquired claim stays open on this thread ({@link
   * #connection()}); any other ends before this returns. Never waits for a lock.
   */
  @Override
  public Claim claim(String key, @Nullable Fingerprint fingerprint, Duration lease) {
    Objects.requireNonNull(key, "key");
    long leaseMicros = JdbcStore.micros("lease", lease);
    JdbcTransactions.Transaction transaction;
    try {
      transaction = transactions.begin();
    } catch (SQLException | RuntimeException e) {
      throw failure("claim", key, e);
    }
    Claim claim;
    Token token = Token.random();
    try {
      claim = claimIn(transaction.connection(), key, fingerprint, leaseMicros, token);
    } catch (SQLException | RuntimeException e) {
      rollbackQuietly(transaction, e);
      throw e instanceof StoreException ? (StoreException) e : failure("claim", key, e);
    }
    if (claim.state() != Claim.State.ACQUIRED) {
      try {
        transaction.rollback();
      } catch (SQLException | RuntimeException e) {
        throw failure("claim", key, e);
      }
      return claim;
    }
    Owner owner = new Owner(key, transaction);
    owners.put(token, owner);
    current.set(owner);
    return claim;
  }

  private Claim claimIn(Connection connection, String key, @Nullable Fingerprint fingerprint,
      long leaseMicros, Token token) throws SQLException {
    try (PreparedStatement lock = connection.prepareStatement(tryLock)) {
      lock.setQueryTimeout(queryTimeoutSeconds);
      lock.setLong(1, lockKey(key));
      try (ResultSet row = lock.executeQuery()) {
        row.next();
        if (!row.getBoolean(1)) {
          return Objects.requireNonNull(committed(connection, key, true), "held");
        }
      }
    }
    UUID mine = new UUID(token.high(), token.low());
    try (PreparedStatement statement = connection.prepareStatement(sql.claim)) {
      statement.setQueryTimeout(queryTimeoutSeconds);
      statement.setString(1, key);
      statement.setString(2, key);
      statement.setObject(3, mine);
      if (fingerprint == null) {
        statement.setNull(4, Types.BINARY);
      } else {
        statement.setBytes(4, fingerprint.toBytes());
      }
      statement.setLong(5, leaseMicros);
      try (ResultSet row = statement.executeQuery()) {
        if (!row.next()) {
          throw new SQLException("the claim statement returned no row");
        }
        return records.claimOf(key, row, mine, token);
      }
    }
  }

  /**
   * The committed record of a key whose lock is held elsewhere (or null if there is none and
   * {@code held} is false).
   */
  private @Nullable Claim committed(Connection connection, String key, boolean held)
      throws SQLException {
    try (PreparedStatement peek = connection.prepareStatement(sql.peek)) {
      peek.setQueryTimeout(queryTimeoutSeconds);
      peek.setString(1, key);
      try (ResultSet row = peek.executeQuery()) {
        if (row.next()) {
          Claim found = records.recordOf(key, row);
          if (found.state() == Claim.State.COMPLETED || !held) {
            return found;
          }
        }
      }
    }
    return held ? Claim.inProgress(null) : null;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Completes the record in the owner's transaction and commits it, with the handler's writes.
   * A statement or a commit that fails keeps nothing (neither the record nor the writes): a {@link
   * WorkUndoneException}, on which the adapter withholds the handler's answer.
   */
  @Override
  public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(response, "response");
    long ttlMicros = JdbcStore.micros("ttl", ttl);
    Owner owner = finish(key, token);
    if (owner == null) {
      return false;
    }
    boolean completed;
    try (PreparedStatement statement =
        owner.transaction.connection().prepareStatement(sql.complete)) {
      statement.setQueryTimeout(queryTimeoutSeconds);
      statement.setInt(1, response.status());
      statement.setBytes(2, HeaderCodec.encode(response));
      statement.setBytes(3, response.body());
      statement.setBoolean(4, response.isReplayable());
      statement.setLong(5, ttlMicros);
      statement.setString(6, key);
      statement.setObject(7, new UUID(token.high(), token.low()));
      completed = statement.executeUpdate() == 1;
    } catch (SQLException | RuntimeException e) {
      // the handler's work goes with the record: a transaction that failed a statement (one of
      // the handler's, say) can only be rolled back
      rollbackQuietly(owner.transaction, e);
      throw undone("complete", key, e);
    }
    try {
      if (completed) {
        owner.transaction.commit();
      } else {
        owner.transaction.rollback();
      }
    } catch (SQLException | RuntimeException e) {
      // a deferred constraint, a serialization failure, a connection lost: nothing was kept
      throw completed ? undone("complete (commit)", key, e) : failure("complete", key, e);
    }
    return completed;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Rolls the owner's transaction back: the record and the handler's writes are undone, and the
   * key is free at once.
   */
  @Override
  public boolean release(String key, Token token) {
    Objects.requireNonNull(key, "key");
    Owner owner = finish(key, token);
    if (owner == null) {
      return false;
    }
    try {
      owner.transaction.rollback();
    } catch (SQLException | RuntimeException e) {
      throw failure("release", key, e);
    }
    return true;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Touches nothing: the owner's open transaction holds the key without a lease. True while the
   * transaction is open.
   */
  @Override
  public boolean renew(String key, Token token, Duration lease) {
    Objects.requireNonNull(key, "key");
    JdbcStore.micros("lease", lease);
    Owner owner = owners.get(Objects.requireNonNull(token, "token"));
    return owner != null && owner.key.equals(key);
  }

  /**
   * {@inheritDoc}
   *
   * <p>In progress while another transaction holds the key's lock (seen in {@code pg_locks},
   * without taking it); otherwise the committed record, or null.
   */
  @Override
  public @Nullable Claim peek(String key) {
    Objects.requireNonNull(key, "key");
    long lock = lockKey(key);
    try (Connection connection = dataSource.getConnection()) {
      boolean held;
      try (PreparedStatement statement = connection.prepareStatement(lockHeld)) {
        statement.setQueryTimeout(queryTimeoutSeconds);
        statement.setLong(1, lock >>> 32);
        statement.setLong(2, lock & 0xffffffffL);
        try (ResultSet row = statement.executeQuery()) {
          row.next();
          held = row.getBoolean(1);
        }
      }
      return committed(connection, key, held);
    } catch (SQLException | RuntimeException e) {
      throw e instanceof StoreException ? (StoreException) e : failure("peek", key, e);
    }
  }

  @Override
  public CompletionStage<Claim> claimAsync(
      String key, @Nullable Fingerprint fingerprint, Duration lease) {
    // on the caller's thread: the transaction is the handler's, and the handler runs here
    return now(() -> claim(key, fingerprint, lease));
  }

  @Override
  public CompletionStage<Boolean> completeAsync(
      String key, Token token, StoredResponse response, Duration ttl) {
    // on the reporting thread: a transaction manager's commit belongs to the thread it began on
    return now(() -> complete(key, token, response, ttl));
  }

  @Override
  public CompletionStage<Boolean> releaseAsync(String key, Token token) {
    return now(() -> release(key, token));
  }

  @Override
  public CompletionStage<Boolean> renewAsync(String key, Token token, Duration lease) {
    return now(() -> renew(key, token, lease));
  }

  @Override
  public CompletionStage<Claim> peekAsync(String key) {
    Objects.requireNonNull(key, "key");
    try {
      return CompletableFuture.supplyAsync(() -> peek(key), peeks);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(new StoreException("the peeks of table " + sql.table
          + " are queued to capacity (1000)", key, e));
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Completes after 25 ms (or the timeout, if shorter), with no thread held: an owner's commit
   * is seen by the next look.
   */
  @Override
  public CompletionStage<Void> awaitChangeAsync(String key, Duration timeout) {
    Objects.requireNonNull(key, "key");
    long nanos = Math.min(timeout.isNegative() ? 0 : nanos(timeout), LOOK_AGAIN.toNanos());
    if (nanos <= 0) {
      return CompletableFuture.completedFuture(null);
    }
    return new CompletableFuture<Void>().completeOnTimeout(null, nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void awaitChange(String key, Duration timeout) throws InterruptedException {
    Objects.requireNonNull(key, "key");
    long millis = Math.min(timeout.toMillis(), LOOK_AGAIN.toMillis());
    if (millis > 0) {
      Thread.sleep(millis);
    }
  }

  /**
   * Rolls back the transactions still open (their requests never finished), stops the peeks'
   * threads, and closes the records store.
   */
  @Override
  public void close() {
    for (Token token : Set.copyOf(owners.keySet())) {
      Owner owner = owners.remove(token);
      if (owner != null) {
        owner.finished = true;
        rollbackQuietly(owner.transaction, null);
      }
    }
    peeks.shutdownNow();
    records.close();
  }

  @Override
  public String toString() {
    return "TransactionalJdbcStore{" + records + "}";
  }

  /** @return the transactions open now, for tests */
  int openTransactions() {
    return owners.size();
  }

  /** Ends the ownership of {@code token}, and unbinds it from this thread if it is bound here. */
  private @Nullable Owner finish(String key, Token token) {
    Objects.requireNonNull(token, "token");
    Owner owner = owners.get(token);
    if (owner == null || !owner.key.equals(key) || !owners.remove(token, owner)) {
      return null;
    }
    owner.finished = true;
    if (current.get() == owner) {
      current.remove();
    }
    return owner;
  }

  /** The key of the advisory lock of {@code key}: 64 bits of SHA-256 of the table and the key. */
  private long lockKey(String key) {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
    digest.update(sql.table.getBytes(StandardCharsets.UTF_8));
    digest.update((byte) 0);
    byte[] hash = digest.digest(key.getBytes(StandardCharsets.UTF_8));
    long value = 0;
    for (int i = 0; i < 8; i++) {
      value = (value << 8) | (hash[i] & 0xff);
    }
    return value;
  }

  private StoreException failure(String operation, String key, Throwable cause) {
    String message = cause instanceof SQLException && ((SQLException) cause).getSQLState() != null
        ? cause.getMessage() + " [SQLState " + ((SQLException) cause).getSQLState() + "]"
        : String.valueOf(cause.getMessage());
    return new StoreException(operation + " on table " + sql.table + " (transactional) failed: "
        + message, key, cause);
  }

  private WorkUndoneException undone(String operation, String key, Throwable cause) {
    StoreException failure = failure(operation, key, cause);
    return new WorkUndoneException(failure.getMessage() + "; the handler's writes were rolled"
        + " back with the record", null, cause);
  }

  private static void rollbackQuietly(
      JdbcTransactions.Transaction transaction, @Nullable Throwable failure) {
    try {
      transaction.rollback();
    } catch (SQLException | RuntimeException e) {
      if (failure != null) {
        failure.addSuppressed(e);
      }
    }
  }

  private static <T> CompletionStage<T> now(Supplier<T> operation) {
    try {
      return CompletableFuture.completedFuture(operation.get());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private static long nanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /** The open transaction of a key this store acquired. */
  private static final class Owner {
    final String key;
    final JdbcTransactions.Transaction transaction;
    final Connection handedOut;
    volatile boolean finished;

    Owner(String key, JdbcTransactions.Transaction transaction) {
      this.key = key;
      this.transaction = transaction;
      this.handedOut = guarded(transaction.connection());
    }
  }

  /**
   * The connection as the handler gets it: {@code close} does nothing, and what would end the
   * transaction is refused.
   */
  private static Connection guarded(Connection connection) {
    InvocationHandler handler = (proxy, method, args) -> {
      String name = method.getName();
      if (name.equals("close")) {
        return null;
      }
      // a rollback to a savepoint is the handler's own affair; the whole transaction is not
      if (name.equals("commit") || name.equals("setAutoCommit")
          || (name.equals("rollback") && (args == null || args.length == 0))) {
        throw new SQLException("the transaction of a keyed request is committed or rolled back"
            + " by once when the record is finished, not by the handler (Connection." + name
            + ")");
      }
      try {
        return method.invoke(connection, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
    };
    return (Connection) Proxy.newProxyInstance(TransactionalJdbcStore.class.getClassLoader(),
        new Class<?>[] {Connection.class}, handler);
  }

  /** Builds a {@link TransactionalJdbcStore}. Mutable and not thread-safe. */
  public static final class Builder {
    private final JdbcStore records;
    private final DataSource dataSource;
    private @Nullable JdbcTransactions transactions;

    private Builder(JdbcStore records, DataSource dataSource) {
      this.records = Objects.requireNonNull(records, "records");
      this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    }

    /**
     * How a keyed request's transaction is begun and ended. Default {@link
     * JdbcTransactions#of(DataSource)} on the builder's {@code DataSource}.
     *
     * @param transactions the transactions, on the database of the records table
     * @return this builder
     * @throws NullPointerException if {@code transactions} is null
     */
    public Builder transactions(JdbcTransactions transactions) {
      this.transactions = Objects.requireNonNull(transactions, "transactions");
      return this;
    }

    /**
     * Builds the store. It starts no thread until a waiter looks at a record.
     *
     * @return a new store; the caller closes it, which closes the records store too
     */
    public TransactionalJdbcStore build() {
      return new TransactionalJdbcStore(this);
    }
  }
}
