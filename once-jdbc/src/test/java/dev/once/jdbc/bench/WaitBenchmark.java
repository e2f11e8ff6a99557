package dev.once.jdbc.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.once.Fingerprint;
import dev.once.jdbc.JdbcStore;
import dev.once.spi.Claim;
import dev.once.spi.Token;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * How a duplicate told to wait is woken, measured three ways against the same PostgreSQL: by the
 * store's own completion (owner and waiters on one {@code JdbcStore}), by its shared poll (the
 * owner
 * completes through another instance), and by a {@code LISTEN/NOTIFY} prototype written here only
 * to be measured (one listening connection and thread, a {@code pg_notify} in the completing
 * statement). For each: the wake latency (from the owner's {@code complete} call to each waiter
 * having read the completed record, as the engine's wait does with {@code awaitChangeAsync} then
 * {@code peekAsync}), the statements the waiting side ran per waiting duplicate, and what it holds
 * while nobody completes. Then what a {@code NOTIFY} costs every completion, waiters or not:
 * claim+complete throughput with and without it.
 *
 * <p>Run it from the repository root:
 *
 * <pre>
 * mvn -B -ntp -q -pl once-jdbc -am -Pbench -Dbench.main=dev.once.jdbc.bench.WaitBenchmark
 * process-test-classes
 * </pre>
 *
 * Options, as system properties of that command: {@code bench.waiters} (waiting duplicates on
 * one key, default 300), {@code bench.trials} (keys waited on, one after another, default 30),
 * {@code bench.callers} (threads of the completion throughput runs, default 8), {@code
 * bench.measure} (seconds per throughput run, default 5) and {@code bench.runs} (runs of each kind,
 * alternating, default 3). It starts an embedded PostgreSQL, or uses
 * {@code ONCE_TEST_JDBC_URL}; the embedded one runs with zonky's {@code fsync=off} and {@code
 * synchronous_commit=off} unless {@code -Dbench.durable=true} turns both on.
 */
public final class WaitBenchmark {
  private static final Duration LEASE = Duration.ofMinutes(5);
  private static final Fingerprint FINGERPRINT =
      Fingerprint.of("POST", "/payments", null, "{}".getBytes(StandardCharsets.UTF_8));
  /** A completed record's columns: status 201, no headers (format 1, count 0), a short body. */
  private static final String COMPLETE = "UPDATE %s SET state = 'completed', status = 201,"
      + " headers = '\\x0100'::bytea, body = '\\x7b7d'::bytea, replayable = true,"
      + " expires_at = now() + interval '1 hour'"
      + " WHERE key = ? AND token = ? AND state = 'in_progress' AND expires_at > now()";
  private static final String COMPLETE_AND_NOTIFY = "WITH done AS (" + COMPLETE
      + " RETURNING key) SELECT pg_notify(?, key) FROM done";

  private WaitBenchmark() {}

  /**
   * Runs both measurements and prints their tables.
   *
   * @param args unused; see the class comment for the options
   * @throws Exception if the database fails
   */
  public static void main(String[] args) throws Exception {
    int waiters = Integer.getInteger("bench.waiters", 300);
    int trials = Integer.getInteger("bench.trials", 30);
    int callers = Integer.getInteger("bench.callers", 8);
    int seconds = Integer.getInteger("bench.measure", 5);
    int runs = Integer.getInteger("bench.runs", 3);
    Map<String, String> settings = new HashMap<>(Map.of("max_connections", "100"));
    if (Boolean.getBoolean("bench.durable")) {
      // as a production server commits: a NOTIFY's lock is then held through the WAL flush
      settings.putAll(Map.of("fsync", "on", "synchronous_commit", "on"));
    }
    String table = "bench_wait_" + UUID.randomUUID().toString().substring(0, 8);
    String channel = table + "_changes";
    try (BenchDatabase database = BenchDatabase.open(settings);
        HikariDataSource pool = pool(database.url(), callers + 8)) {
      String url = database.url();
      System.out.println("load before: " + JdbcStoreBenchmark.loadAverage());
      System.out.println("server: " + JdbcStoreBenchmark.describeServer(url));
      JdbcStore owner = JdbcStore.builder(pool).tableName(table).createTable(true)
          .sweepInterval(Duration.ZERO).build();
      Counting counting = new Counting(pool);
      JdbcStore waiting = JdbcStore.builder(counting.dataSource()).tableName(table)
          .sweepInterval(Duration.ZERO).build();
      List<String> rows = new ArrayList<>();
      try (Listener listener = new Listener(url, channel)) {
        dev.once.StoredResponse response =
            dev.once.StoredResponse.of(201, List.of(), "{}".getBytes(StandardCharsets.UTF_8));
        for (int round = 0; round < 2; round++) {
          // the first round warms all up; the second is reported
          Result local = trials(round, "local", waiters, trials, owner, waiting, counting,
              waiting::awaitChangeAsync,
              (key, token) -> waiting.complete(key, token, response, Duration.ofHours(1)));
          Result poll = trials(round, "poll", waiters, trials, owner, waiting, counting,
              waiting::awaitChangeAsync,
              (key, token) -> owner.complete(key, token, response, Duration.ofHours(1)));
          Result notify = trials(round, "notify", waiters, trials, owner, waiting, counting,
              (key, timeout) -> listener.await(key, timeout),
              (key, token) -> complete(pool, COMPLETE_AND_NOTIFY, table, key, token, channel));
          if (round == 1) {
            rows.add(local.row("same instance", "0", "0"));
            rows.add(poll.row("poll, 25 ms", "0", "0"));
            rows.add(notify.row("LISTEN/NOTIFY", "1", "1"));
          }
        }
        System.out.println();
        System.out.printf(Locale.ROOT, "%-17s %8s %7s %12s %10s %10s %11s %9s %8s%n",
            "waiting by", "waiters", "trials", "wake median", "wake p90", "wake max",
            "stmts/waiter", "held conn", "threads");
        rows.forEach(System.out::println);
        System.out.println("(wake: from the owner's complete call to a waiter having read the"
            + " completed record, in ms, over every waiter of every trial; stmts/waiter: statements"
            + " the waiting side ran, polls and peeks, per waiting duplicate; held: while nobody"
            + " completes)");

        System.out.println();
        System.out.println("claim+complete, " + callers + " callers, " + seconds
            + " s per run, runs alternating (completions per second):");
        List<Double> plain = new ArrayList<>();
        List<Double> notifying = new ArrayList<>();
        for (int run = 0; run < 2 * runs; run++) {
          boolean withNotify = run % 2 == 1;
          double rate = throughput(owner, pool, table, channel, callers, seconds, withNotify);
          (withNotify ? notifying : plain).add(rate);
        }
        System.out.printf(Locale.ROOT, "%-24s median %,8.0f   runs %s%n", "complete",
            median(plain), rates(plain));
        System.out.printf(Locale.ROOT, "%-24s median %,8.0f   runs %s%n", "complete + pg_notify",
            median(notifying), rates(notifying));
        System.out.println("load after: " + JdbcStoreBenchmark.loadAverage());
      } finally {
        waiting.close();
        try (Connection connection = pool.getConnection();
            Statement statement = connection.createStatement()) {
          statement.execute("DROP TABLE " + table);
        }
        owner.close();
      }
    }
  }

  private static HikariDataSource pool(String url, int size) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setMaximumPoolSize(size);
    return new HikariDataSource(config);
  }

  private static Result trials(int round, String name, int waiters, int trials, JdbcStore owner,
      JdbcStore waiting, Counting counting, Waiting wait, Completing completing)
      throws Exception {
    List<Long> latencies = new ArrayList<>();
    long statements = 0;
    for (int trial = 0; trial < trials; trial++) {
      String key = name + "-" + round + "-" + trial + "-" + UUID.randomUUID();
      Token token = owner.claim(key, FINGERPRINT, LEASE).token();
      long[] woke = new long[waiters];
      CountDownLatch done = new CountDownLatch(waiters);
      long before = counting.statements.get();
      for (int i = 0; i < waiters; i++) {
        park(i, key, waiting, wait, woke, done);
      }
      // a hold that is not a multiple of the poll's interval, so its phase varies
      Thread.sleep(100 + ThreadLocalRandom.current().nextInt(200));
      long start = System.nanoTime();
      if (!completing.complete(key, token)) {
        throw new IllegalStateException("the owner could not complete " + key);
      }
      if (!done.await(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException(done.getCount() + " waiters never woke on " + key);
      }
      statements += counting.statements.get() - before;
      for (long at : woke) {
        latencies.add(at - start);
      }
    }
    return new Result(waiters, trials, latencies, statements);
  }

  /** One waiting duplicate, as the engine waits: park, look, park again while in progress. */
  private static void park(int index, String key, JdbcStore waiting, Waiting wait, long[] woke,
      CountDownLatch done) {
    wait.await(key, Duration.ofSeconds(60)).toCompletableFuture()
        .thenCompose(changed -> waiting.peekAsync(key))
        .whenComplete((claim, error) -> {
          if (error == null && claim != null && claim.state() == Claim.State.IN_PROGRESS) {
            park(index, key, waiting, wait, woke, done);
            return;
          }
          if (error != null || claim == null || claim.state() != Claim.State.COMPLETED) {
            System.err.println("a waiter found " + (error != null ? error : claim));
          }
          woke[index] = System.nanoTime();
          done.countDown();
        });
  }

  private static double throughput(JdbcStore owner, DataSource pool, String table,
      String channel, int callers, int seconds, boolean notifying) throws Exception {
    AtomicLong completed = new AtomicLong();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    List<CompletableFuture<Void>> threads = new ArrayList<>();
    for (int t = 0; t < callers; t++) {
      threads.add(CompletableFuture.runAsync(() -> {
        String prefix = "throughput-" + UUID.randomUUID() + "-";
        for (long n = 0; System.nanoTime() < end; n++) {
          String key = prefix + n;
          Token token = owner.claim(key, FINGERPRINT, LEASE).token();
          try {
            if (complete(pool, notifying ? COMPLETE_AND_NOTIFY : COMPLETE, table, key, token,
                channel)) {
              completed.incrementAndGet();
            }
          } catch (SQLException e) {
            throw new IllegalStateException(e);
          }
        }
      }, command -> new Thread(command).start()));
    }
    CompletableFuture.allOf(threads.toArray(new CompletableFuture<?>[0])).get();
    return completed.get() / (double) seconds;
  }

  private static double median(List<Double> rates) {
    List<Double> sorted = new ArrayList<>(rates);
    Collections.sort(sorted);
    int middle = sorted.size() / 2;
    return sorted.size() % 2 == 1 ? sorted.get(middle)
        : (sorted.get(middle - 1) + sorted.get(middle)) / 2;
  }

  private static String rates(List<Double> rates) {
    StringBuilder joined = new StringBuilder();
    for (double rate : rates) {
      joined.append(joined.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%,.0f",
          rate));
    }
    return joined.toString();
  }

  private static boolean complete(DataSource pool, String sql, String table, String key,
      Token token, String channel) throws SQLException {
    try (Connection connection = pool.getConnection();
        PreparedStatement statement = connection.prepareStatement(String.format(sql, table))) {
      statement.setString(1, key);
      statement.setObject(2, new UUID(token.high(), token.low()));
      if (sql == COMPLETE) {
        return statement.executeUpdate() == 1;
      }
      statement.setString(3, channel);
      try (var rows = statement.executeQuery()) {
        return rows.next();
      }
    }
  }

  @FunctionalInterface
  private interface Waiting {
    java.util.concurrent.CompletionStage<Void> await(String key, Duration timeout);
  }

  @FunctionalInterface
  private interface Completing {
    boolean complete(String key, Token token) throws Exception;
  }

  /** The latencies and statement count of one mechanism's trials. */
  private record Result(int waiters, int trials, List<Long> latencies, long statements) {
    String row(String name, String heldConnections, String heldThreads) {
      List<Long> sorted = new ArrayList<>(latencies);
      Collections.sort(sorted);
      return String.format(Locale.ROOT, "%-17s %8d %7d %12.1f %10.1f %10.1f %11.2f %9s %8s",
          name, waiters, trials, millis(sorted, 0.5), millis(sorted, 0.9),
          millis(sorted, 1.0), statements / (double) (waiters * trials), heldConnections,
          heldThreads);
    }

    private static double millis(List<Long> sorted, double quantile) {
      int index = (int) Math.min(sorted.size() - 1, Math.ceil(quantile * sorted.size()) - 1);
      return sorted.get(Math.max(0, index)) / 1e6;
    }
  }

  /** A data source whose connections count the statements prepared on them. */
  private static final class Counting {
    final AtomicLong statements = new AtomicLong();
    private final DataSource target;

    Counting(DataSource target) {
      this.target = target;
    }

    DataSource dataSource() {
      ClassLoader loader = WaitBenchmark.class.getClassLoader();
      return (DataSource) Proxy.newProxyInstance(loader, new Class<?>[] {DataSource.class},
          (proxy, method, arguments) -> {
            Object result = invoke(target, method, arguments);
            if (!(result instanceof Connection)) {
              return result;
            }
            Connection connection = (Connection) result;
            return Proxy.newProxyInstance(loader, new Class<?>[] {Connection.class},
                (c, m, a) -> {
                  // the waiting side's statements: polls and peeks (not the completions)
                  if (m.getName().startsWith("prepare") && ((String) a[0]).startsWith("SELECT")) {
                    statements.incrementAndGet();
                  }
                  return invoke(connection, m, a);
                });
          });
    }

    private static Object invoke(Object target, java.lang.reflect.Method method, Object[] args)
        throws Throwable {
      try {
        return method.invoke(target, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
    }
  }

  /**
   * The prototype's waiting side: one connection that {@code LISTEN}s on the channel, and one
   * thread that reads its notifications and wakes the waiters of the key each one names.
   */
  private static final class Listener implements AutoCloseable {
    private final Map<String, List<CompletableFuture<Void>>> waiters = new ConcurrentHashMap<>();
    private final Connection connection;
    private final Thread thread;
    private volatile boolean closed;

    Listener(String url, String channel) throws SQLException {
      connection = DriverManager.getConnection(url);
      try (Statement statement = connection.createStatement()) {
        statement.execute("LISTEN " + channel);
      }
      PGConnection notifications = connection.unwrap(PGConnection.class);
      thread = new Thread(() -> {
        while (!closed) {
          try {
            PGNotification[] received = notifications.getNotifications(100);
            if (received == null) {
              continue;
            }
            for (PGNotification notification : received) {
              List<CompletableFuture<Void>> woken = waiters.remove(notification.getParameter());
              if (woken != null) {
                synchronized (woken) {
                  woken.forEach(waiter -> waiter.complete(null));
                }
              }
            }
          } catch (SQLException e) {
            if (!closed) {
              e.printStackTrace();
            }
            return;
          }
        }
      }, "bench-listener");
      thread.setDaemon(true);
      thread.start();
    }

    CompletableFuture<Void> await(String key, Duration timeout) {
      CompletableFuture<Void> waiter = new CompletableFuture<>();
      List<CompletableFuture<Void>> list =
          waiters.computeIfAbsent(key, k -> Collections.synchronizedList(new ArrayList<>()));
      list.add(waiter);
      return waiter.completeOnTimeout(null, timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public void close() throws Exception {
      closed = true;
      thread.join(5000);
      connection.close();
    }
  }
}
