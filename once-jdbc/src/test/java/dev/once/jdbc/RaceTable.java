package dev.once.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import dev.once.spi.Token;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A fresh table on the test server with a {@link JdbcStore} over it, for a test class that races
 * the store's statements (registered with {@code @RegisterExtension} in a static field: the store
 * is closed after the class), and what such a test does behind the store's back: rows written
 * directly, rows locked by a transaction left open, a statement of the store seen waiting on a
 * lock, a row's owner and what is left of its lease, all by the database's clock.
 */
final class RaceTable implements AfterAllCallback {
  static final Duration LONG = Duration.ofMinutes(5);
  static final Fingerprint FIRST = fingerprint("{\"amount\":100}");
  static final Fingerprint SECOND = fingerprint("{\"amount\":200}");
  static final StoredResponse CREATED = StoredResponse.of(201,
      List.of(new Header("Content-Type", "application/json")),
      "{\"id\":1}".getBytes(StandardCharsets.UTF_8));

  /** The table's name. */
  final String name = Postgres.freshTable();
  /** The store over it; it never sweeps, so expired rows stay for the tests to find. */
  final JdbcStore store = JdbcStore.builder(Postgres.dataSource())
      .tableName(name)
      .createTable(true)
      .sweepInterval(Duration.ZERO)
      .build();

  @Override
  public void afterAll(ExtensionContext context) {
    store.close();
  }

  static String key() {
    return "k-" + UUID.randomUUID();
  }

  static Fingerprint fingerprint(String body) {
    return Fingerprint.of("POST", "/payments", null, body.getBytes(StandardCharsets.UTF_8));
  }

  static UUID uuid(Token token) {
    return new UUID(token.high(), token.low());
  }

  /**
   * @return a connection of another client in a transaction, which holds the locks of what it
   *     writes until it commits or rolls back
   */
  static Connection transaction() throws SQLException {
    Connection connection = Postgres.dataSource().getConnection();
    connection.setAutoCommit(false);
    return connection;
  }

  /**
   * Starts {@code operation} of the store on another thread and returns once the database shows
   * its statement, the one {@code query} matches ({@code LIKE}), waiting on a lock.
   *
   * @param what the operation, for the failure messages
   */
  <T> CompletableFuture<T> waitingOnALock(String what, String query, Supplier<T> operation)
      throws InterruptedException {
    CompletableFuture<T> started = CompletableFuture.supplyAsync(operation);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (Postgres.count("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        + " AND query LIKE '" + query + "'") == 0) {
      assertThat(started).as(what + " should wait for the other transaction").isNotDone();
      assertThat(System.nanoTime()).as(what + " never waited on a lock").isLessThan(deadline);
      Thread.sleep(10);
    }
    return started;
  }

  /**
   * Inserts an in-progress row with a new token.
   *
   * @param connection where to insert it, or null for a connection of its own
   * @param expiresIn its lease, as a PostgreSQL interval ({@code -1 second} for a dead one)
   * @return its token
   */
  UUID insertInProgress(Connection connection, String key, Fingerprint fingerprint,
      String expiresIn) throws SQLException {
    if (connection == null) {
      try (Connection own = Postgres.dataSource().getConnection()) {
        return insertInProgress(own, key, fingerprint, expiresIn);
      }
    }
    UUID token = UUID.randomUUID();
    try (PreparedStatement insert = connection.prepareStatement("INSERT INTO " + name
        + " (key, state, token, fingerprint, expires_at)"
        + " VALUES (?, 'in_progress', ?, ?, now() + interval '" + expiresIn + "')")) {
      insert.setString(1, key);
      insert.setObject(2, token);
      insert.setBytes(3, fingerprint.toBytes());
      insert.executeUpdate();
    }
    return token;
  }

  /** Locks the row of {@code key} in {@code connection}'s transaction. */
  void lockRow(Connection connection, String key) throws SQLException {
    try (PreparedStatement lock = connection.prepareStatement(
        "SELECT 1 FROM " + name + " WHERE key = ? FOR UPDATE")) {
      lock.setString(1, key);
      lock.executeQuery().close();
    }
  }

  /** @return the token of the row of {@code key}, or null when there is none */
  UUID owner(String key) {
    try (Connection connection = Postgres.dataSource().getConnection();
        PreparedStatement query = connection.prepareStatement(
            "SELECT token FROM " + name + " WHERE key = ?")) {
      query.setString(1, key);
      try (ResultSet row = query.executeQuery()) {
        return row.next() ? row.getObject(1, UUID.class) : null;
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** @return the seconds left until the row of {@code key} expires, by the database's clock */
  double secondsToExpiry(String key) {
    try (Connection connection = Postgres.dataSource().getConnection();
        PreparedStatement query = connection.prepareStatement("SELECT extract(epoch FROM"
            + " expires_at - now()) FROM " + name + " WHERE key = ?")) {
      query.setString(1, key);
      try (ResultSet row = query.executeQuery()) {
        row.next();
        return row.getDouble(1);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
