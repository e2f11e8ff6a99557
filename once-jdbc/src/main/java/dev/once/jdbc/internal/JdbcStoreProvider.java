package dev.once.jdbc.internal;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool.PoolInitializationException;
import dev.once.config.ConfigText;
import dev.once.jdbc.JdbcStore;
import dev.once.spi.ForwardingIdempotencyStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import dev.once.spi.StoreProvider;
import dev.once.spi.StoreUrl;
import java.time.Duration;
import java.util.List;
import java.util.Set;

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
 *       for, from {@code 1s} to {@code 1h} (default {@code 5s}); a bare number is read as seconds,
 *       as it was before durations were written with their unit;
 *   <li>{@code once.asyncThreads}: the threads of the store's asynchronous operations, each using
 *       a connection of the pool while its statement runs (default 4, or the pool size if it is
 *       smaller; at most the pool size);
 *   <li>{@code once.asyncQueueCapacity}: how many asynchronous operations may wait for one of those
 *       threads before more are refused (default 1000).
 * </ul>
 *
 * Durations and sizes are read with the grammar of {@link dev.once.config.ConfigText}; a
 * parameter {@code once.} that is none of these is refused.
 *
 * <p>Unless the URL sets them, the driver's {@code connectTimeout} is 5 seconds and its {@code
 * socketTimeout} 30 (or the query timeout and 10 more), so that a database that vanishes
 * mid-statement (rather than refusing
 * connections) still fails the operation instead of holding the thread.
 *
 * <p>Public only because {@link java.util.ServiceLoader} needs it; not part of the API.
 */
public final class JdbcStoreProvider implements StoreProvider {
  private static final String PREFIX = "jdbc:postgresql:";
  private static final List<String> OPTIONS = List.of("once.table", "once.createTable",
      "once.poolSize", "once.queryTimeout", "once.asyncThreads", "once.asyncQueueCapacity");

  @Override
  public Set<String> schemes() {
    return Set.of("jdbc:postgresql");
  }

  @Override
  public IdempotencyStore open(StoreUrl url) {
    JdbcUrl parsed = JdbcUrl.parse(url);
    HikariDataSource pool;
    try {
      pool = new HikariDataSource(parsed.poolConfig());
    } catch (PoolInitializationException e) {
      throw new StoreException("cannot connect to " + url.redacted() + ": "
          + url.hideSecrets(rootMessage(e)), null, e);
    } catch (RuntimeException e) {
      throw url.malformed("no pool could be opened (is org.postgresql:postgresql on the class"
          + " path?): " + rootMessage(e));
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
      return owningItsPool(store, pool);
    } catch (RuntimeException e) {
      pool.close();
      throw e;
    }
  }

  /** @return the store, which closes its pool as it closes, as a store opened from a URL does */
  private static IdempotencyStore owningItsPool(JdbcStore store, HikariDataSource pool) {
    return new ForwardingIdempotencyStore() {
      @Override
      protected IdempotencyStore delegate() {
        return store;
      }

      @Override
      public void close() {
        try {
          store.close();
        } finally {
          pool.close();
        }
      }

      @Override
      public String toString() {
        return store + " on pool " + pool.getPoolName();
      }
    };
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message =
        root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    return message.replace('\n', ' ');
  }

  /** A store URL taken apart: the driver's URL and once's own options. */
  static final class JdbcUrl {
    final StoreUrl url;
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

    private JdbcUrl(StoreUrl url, String jdbcUrl) {
      this.url = url;
      this.jdbcUrl = jdbcUrl;
      this.hasConnectTimeout = has(url, "connectTimeout");
      this.hasSocketTimeout = has(url, "socketTimeout");
    }

    /**
     * @throws dev.once.spi.MalformedStoreUrlException if the URL names no database, or an option
     *     of once's is unknown or has a bad value
     */
    static JdbcUrl parse(StoreUrl url) {
      String text = url.text();
      int question = text.indexOf('?');
      String base = question < 0 ? text : text.substring(0, question);
      if (!base.startsWith(PREFIX)) {
        throw url.malformed("the driver reads only jdbc:postgresql: in lower case");
      }
      if (base.length() <= PREFIX.length()) {
        throw url.malformed("no database: use jdbc:postgresql://host:port/database?user=...");
      }
      url.refuseUnknownParameters(OPTIONS, name -> !name.startsWith("once."), null);
      String driverQuery = url.query(name -> !name.startsWith("once."));
      JdbcUrl parsed = new JdbcUrl(url, driverQuery.isEmpty() ? base : base + "?" + driverQuery);
      url.bindString("once.table", name -> {
        JdbcStore.createTableSql(name); // checks the name now, with the builder's message
        parsed.table = name;
      });
      url.bindBoolean("once.createTable", create -> parsed.createTable = create);
      url.bindInt("once.poolSize", size -> parsed.poolSize = within("once.poolSize", size, 1000));
      url.bind("once.queryTimeout", JdbcUrl::seconds, timeout -> {
        if (timeout.compareTo(Duration.ofSeconds(1)) < 0
            || timeout.compareTo(Duration.ofHours(1)) > 0) {
          throw new IllegalArgumentException(
              "once.queryTimeout must be from 1s to 1h, but was " + ConfigText.format(timeout));
        }
        parsed.queryTimeout = timeout;
      });
      url.bindInt("once.asyncThreads",
          threads -> parsed.asyncThreads = within("once.asyncThreads", threads, 1000));
      url.bindInt("once.asyncQueueCapacity", capacity -> parsed.asyncQueueCapacity =
          within("once.asyncQueueCapacity", capacity, 1_000_000));
      if (parsed.asyncThreads > parsed.poolSize) {
        throw url.malformed("once.asyncThreads (" + parsed.asyncThreads + ") must not exceed"
            + " once.poolSize (" + parsed.poolSize + "): each thread runs its statement on a"
            + " connection of the pool");
      }
      return parsed;
    }

    /** @return the threads of the store's executor: as set, or the default within the pool */
    int asyncThreads() {
      return asyncThreads > 0 ? asyncThreads
          : Math.min(JdbcStore.DEFAULT_ASYNC_THREADS, poolSize);
    }

    private static boolean has(StoreUrl url, String driverParameter) {
      return url.parameterNames().stream().anyMatch(driverParameter::equalsIgnoreCase);
    }

    private static int within(String name, int value, int max) {
      if (value < 1 || value > max) {
        throw new IllegalArgumentException(
            name + " must be from 1 to " + max + ", but was " + value);
      }
      return value;
    }

    /** A duration in the one grammar, or a bare whole number of seconds (the older form). */
    private static Duration seconds(String value) {
      if (!value.isBlank() && value.trim().chars().allMatch(c -> c >= '0' && c <= '9')) {
        try {
          return Duration.ofSeconds(Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("\"" + value + "\" is too long a duration");
        }
      }
      return ConfigText.duration(value);
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
