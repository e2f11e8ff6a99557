package dev.once.jdbc.internal;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool.PoolInitializationException;
import dev.once.jdbc.JdbcStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import dev.once.spi.StoreProvider;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Opens {@code jdbc:postgresql://host:port/database?user=...} store URLs: a {@link JdbcStore} over
 * a HikariCP pool of its own, which the store closes. Every parameter is the PostgreSQL driver's,
 * except these, which are taken out of the URL before it reaches the driver:
 *
 * <ul>
 *   <li>{@code once.table}: the table name (default {@code once_records});
 *   <li>{@code once.createTable}: {@code true} (the default) creates the table when it is missing;
 *   <li>{@code once.poolSize}: the most connections in the pool (default 10);
 *   <li>{@code once.queryTimeout}: the longest a statement may run, and a connection may be waited
 *       for, in seconds (default 5);
 *   <li>{@code once.asyncThreads}: the threads of the store's asynchronous operations, each using
 *       a connection of the pool while its statement runs (default 4, or the pool size if it is
 *       smaller; at most the pool size);
 *   <li>{@code once.asyncQueueCapacity}: how many asynchronous operations may wait for one of those
 *       threads before more are refused (default 1000).
 * </ul>
 *
 * Unless the URL sets them, the driver's {@code connectTimeout} is 5 seconds and its {@code
 * socketTimeout} 30 (or the query timeout and 10 more), so that a database that vanishes mid-statement (rather than refusing
 * connections) still fails the operation instead of holding the thread.
 *
 * <p>Public only because {@link java.util.ServiceLoader} needs it; not part of the API.
 */
public final class JdbcStoreProvider implements StoreProvider {
  private static final String PREFIX = "jdbc:postgresql:";
  private static final Pattern PASSWORD = Pattern.compile("(?i)(password=)[^&]*");
  private static final List<String> OPTIONS = List.of("once.table", "once.createTable",
      "once.poolSize", "once.queryTimeout", "once.asyncThreads", "once.asyncQueueCapacity");

  /** For {@link java.util.ServiceLoader}. */
  public JdbcStoreProvider() {}

  @Override
  public boolean accepts(String url) {
    return url.startsWith(PREFIX); // as the driver does: the scheme is lowercase
  }

  @Override
  public String schemes() {
    return "jdbc:postgresql://";
  }

  @Override
  public IdempotencyStore open(String url) {
    StoreUrl parsed = StoreUrl.parse(url);
    HikariDataSource pool;
    try {
      pool = new HikariDataSource(parsed.poolConfig());
    } catch (PoolInitializationException e) {
      throw new StoreException("cannot connect to " + redact(parsed.jdbcUrl) + ": "
          + rootMessage(e), null, e);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("cannot open a pool for " + redact(parsed.jdbcUrl) + ": "
          + rootMessage(e) + " (is org.postgresql:postgresql on the class path?)", e);
    }
    try {
      JdbcStore store = JdbcStore.builder(pool)
          .tableName(parsed.table)
          .createTable(parsed.createTable)
          .queryTimeout(parsed.queryTimeout)
          .asyncThreads(parsed.asyncThreads())
          .asyncQueueCapacity(parsed.asyncQueueCapacity)
          .build();
      store.ping();
      return new PooledStore(store, pool);
    } catch (RuntimeException e) {
      pool.close();
      throw e;
    }
  }

  /** The URL with its password, if any, replaced by {@code ***}, for messages. */
  static String redact(String url) {
    return PASSWORD.matcher(url).replaceAll("$1***");
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    return message.replace('\n', ' ');
  }

  /** A store URL taken apart: the driver's URL and once's own options. */
  static final class StoreUrl {
    final String jdbcUrl;
    String table = JdbcStore.DEFAULT_TABLE_NAME;
    boolean createTable = true;
    int poolSize = 10;
    Duration queryTimeout = JdbcStore.DEFAULT_QUERY_TIMEOUT;
    /** Zero until the URL sets it: then the default, within the pool size. */
    int asyncThreads;
    int asyncQueueCapacity = JdbcStore.DEFAULT_ASYNC_QUEUE_CAPACITY;
    private final boolean hasConnectTimeout;
    private final boolean hasSocketTimeout;

    private StoreUrl(String jdbcUrl, boolean hasConnectTimeout, boolean hasSocketTimeout) {
      this.jdbcUrl = jdbcUrl;
      this.hasConnectTimeout = hasConnectTimeout;
      this.hasSocketTimeout = hasSocketTimeout;
    }

    /**
     * @throws IllegalArgumentException if an option of once's is unknown or has a bad value
     */
    static StoreUrl parse(String url) {
      int question = url.indexOf('?');
      String base = question < 0 ? url : url.substring(0, question);
      if (base.length() <= PREFIX.length()) {
        throw new IllegalArgumentException("the store URL names no database: use"
            + " jdbc:postgresql://host:port/database?user=..., but was \"" + redact(url) + "\"");
      }
      List<String> kept = new ArrayList<>();
      List<String[]> options = new ArrayList<>();
      boolean connectTimeout = false;
      boolean socketTimeout = false;
      if (question >= 0) {
        for (String parameter : url.substring(question + 1).split("&")) {
          if (parameter.isEmpty()) {
            continue;
          }
          int equals = parameter.indexOf('=');
          String name = equals < 0 ? parameter : parameter.substring(0, equals);
          if (name.startsWith("once.")) {
            options.add(new String[] {name, equals < 0 ? "" : parameter.substring(equals + 1)});
          } else {
            connectTimeout |= name.equalsIgnoreCase("connectTimeout");
            socketTimeout |= name.equalsIgnoreCase("socketTimeout");
            kept.add(parameter);
          }
        }
      }
      StoreUrl parsed = new StoreUrl(
          kept.isEmpty() ? base : base + "?" + String.join("&", kept), connectTimeout,
          socketTimeout);
      for (String[] option : options) {
        parsed.set(option[0], option[1]);
      }
      if (parsed.asyncThreads > parsed.poolSize) {
        throw new IllegalArgumentException("once.asyncThreads (" + parsed.asyncThreads
            + ") must not exceed once.poolSize (" + parsed.poolSize + "): each thread runs its"
            + " statement on a connection of the pool");
      }
      return parsed;
    }

    /** @return the threads of the store's executor: as set, or the default within the pool */
    int asyncThreads() {
      return asyncThreads > 0 ? asyncThreads
          : Math.min(JdbcStore.DEFAULT_ASYNC_THREADS, poolSize);
    }

    private void set(String name, String value) {
      switch (name) {
        case "once.table":
          table = value;
          JdbcStore.createTableSql(value); // checks the name now, with the builder's message
          break;
        case "once.createTable":
          String lower = value.toLowerCase(Locale.ROOT);
          if (!lower.equals("true") && !lower.equals("false")) {
            throw new IllegalArgumentException(
                "once.createTable must be true or false, but was \"" + value + "\"");
          }
          createTable = lower.equals("true");
          break;
        case "once.poolSize":
          poolSize = positive(name, value, 1000);
          break;
        case "once.queryTimeout":
          queryTimeout = Duration.ofSeconds(positive(name, value, 3600));
          break;
        case "once.asyncThreads":
          asyncThreads = positive(name, value, 1000);
          break;
        case "once.asyncQueueCapacity":
          asyncQueueCapacity = positive(name, value, 1_000_000);
          break;
        default:
          throw new IllegalArgumentException("unknown store URL option " + name + " (known: "
              + String.join(", ", OPTIONS) + ")");
      }
    }

    private static int positive(String name, String value, int max) {
      int number;
      try {
        number = Integer.parseInt(value);
      } catch (NumberFormatException e) {
        number = -1;
      }
      if (number < 1 || number > max) {
        throw new IllegalArgumentException(
            name + " must be a whole number from 1 to " + max + ", but was \"" + value + "\"");
      }
      return number;
    }

    HikariConfig poolConfig() {
      HikariConfig config = new HikariConfig();
      config.setJdbcUrl(jdbcUrl);
      config.setPoolName("once-jdbc");
      config.setMaximumPoolSize(poolSize);
      config.setMinimumIdle(Math.min(2, poolSize));
      config.setConnectionTimeout(queryTimeout.toMillis());
      config.setValidationTimeout(Math.min(queryTimeout.toMillis(), 5000));
      config.setAutoCommit(true);
      if (!hasConnectTimeout) {
        config.addDataSourceProperty("connectTimeout", "5");
      }
      if (!hasSocketTimeout) {
        long socketTimeout = Math.max(30, queryTimeout.toSeconds() + 10);
        config.addDataSourceProperty("socketTimeout", Long.toString(socketTimeout));
      }
      config.addDataSourceProperty("ApplicationName", "once");
      return config;
    }
  }
}
