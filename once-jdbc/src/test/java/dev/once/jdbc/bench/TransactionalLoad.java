package dev.once.jdbc.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.once.Once;
import dev.once.jdbc.JdbcStore;
import dev.once.jdbc.TransactionalJdbcStore;
import dev.once.servlet.OnceFilter;
import dev.once.suite.JettyServer;
import dev.once.suite.RunningServer;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * New keyed requests per second and their 99th percentile over HTTP, with the transactional store
 * beside the ordinary {@link JdbcStore}, in one run on one server: two Jetty servers with {@link
 * OnceFilter}, each handler inserting one payment row (the ordinary one on a pooled connection in
 * auto-commit, the transactional one through {@link TransactionalJdbcStore#connection()}), loaded
 * in turns by {@code wrk} with a fresh key per request. It uses {@code ONCE_TEST_JDBC_URL}, or an
 * embedded PostgreSQL, and needs {@code wrk} on the path.
 *
 * <pre>
 * mvn -B -ntp -q -pl once-jdbc -am -Pbench process-test-classes \
 *   -Dbench.main=dev.once.jdbc.bench.TransactionalLoad -Dbench.callers=16 -Dbench.measure=10
 * </pre>
 *
 * {@code bench.callers}: wrk's connections (default 8); {@code bench.measure}: seconds per turn
 * (default 5); {@code bench.runs}: turns per store, alternated (default 3).
 */
public final class TransactionalLoad {
  private static final Pattern RATE = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
  private static final Pattern P99 = Pattern.compile("\\s99%\\s+([0-9.]+)(us|ms|s)");
  private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");

  private TransactionalLoad() {}

  public static void main(String[] args) throws Exception {
    int callers = Integer.getInteger("bench.callers", 8);
    int seconds = Integer.getInteger("bench.measure", 5);
    int runs = Integer.getInteger("bench.runs", 3);
    try (BenchDatabase database = BenchDatabase.open(Map.of("max_connections", "300"));
        HikariDataSource ordinaryPool = pool(database.url(), callers + 4);
        HikariDataSource transactionalPool = pool(database.url(), callers + 4)) {
      String suffix = Long.toString(System.nanoTime() % 1_000_000_000L);
      JdbcStore ordinary = JdbcStore.builder(ordinaryPool).tableName("load_ordinary_" + suffix)
          .createTable(true).build();
      TransactionalJdbcStore transactional = TransactionalJdbcStore.builder(
          JdbcStore.builder(transactionalPool).tableName("load_tx_" + suffix).createTable(true)
              .build(), transactionalPool).build();
      String payments = "load_payments_" + suffix;
      execute(ordinaryPool, "CREATE TABLE " + payments
          + " (id bigserial PRIMARY KEY, amount int NOT NULL)");
      String insert = "INSERT INTO " + payments + " (amount) VALUES (100)";
      try (RunningServer a = JettyServer.start(new OnceFilter(Once.builder(ordinary).build()),
              Map.of("/payments", (request, response) -> {
                try (Connection connection = ordinaryPool.getConnection()) {
                  insertAndAnswer(connection, insert, response);
                }
              }));
          RunningServer b = JettyServer.start(
              new OnceFilter(Once.builder(transactional).build()),
              Map.of("/payments", (request, response) ->
                  insertAndAnswer(transactional.connection(), insert, response)))) {
        Path script = Files.createTempFile("once-keys", ".lua");
        Files.writeString(script, String.join("\n",
            "local threads = 0",
            "function setup(thread) threads = threads + 1; thread:set('id', threads) end",
            "counter = 0",
            "function request()",
            "  counter = counter + 1",
            "  return wrk.format('POST', '/payments', {['Idempotency-Key'] = prefix .. counter,",
            "    ['Content-Type'] = 'application/json'}, '{\"amount\":100}')",
            "end",
            "function init(args) prefix = tostring(id) .. '-' .. tostring(os.time()) .. '-'"
                + " .. args[1] .. '-' end",
            ""), StandardCharsets.UTF_8);
        wrk(script, a, callers, 3, "warm"); // warm-up, both
        wrk(script, b, callers, 3, "warm");
        List<double[]> ordinaryResults = new ArrayList<>();
        List<double[]> transactionalResults = new ArrayList<>();
        for (int run = 0; run < runs; run++) {
          ordinaryResults.add(wrk(script, a, callers, seconds, "o" + run));
          transactionalResults.add(wrk(script, b, callers, seconds, "t" + run));
        }
        System.out.printf(Locale.ROOT, "%n%d connections, %d s per turn, %d turns each, on %s%n",
            callers, seconds, runs,
            database.origin());
        System.out.printf(Locale.ROOT, "%-14s %12s %12s %10s%n", "store", "requests/s", "p99 ms",
            "non-2xx");
        print("ordinary", ordinaryResults);
        print("transactional", transactionalResults);
        System.out.println("payment rows: " + count(ordinaryPool, payments));
        Files.delete(script);
      } finally {
        transactional.close();
        ordinary.close();
      }
    }
  }

  private static void insertAndAnswer(Connection connection, String insert,
      HttpServletResponse response) throws SQLException, IOException {
    try (PreparedStatement statement = connection.prepareStatement(insert)) {
      statement.executeUpdate();
    }
    response.setStatus(201);
    response.setContentType("application/json");
    response.getWriter().write("{\"paid\":true}");
  }

  /** @return requests per second, p99 in milliseconds, and the count of non-2xx answers */
  private static double[] wrk(Path script, RunningServer server, int callers, int seconds,
      String tag) throws Exception {
    Process process = new ProcessBuilder("wrk", "-t2", "-c" + callers, "-d" + seconds + "s",
        "--latency", "-s", script.toString(), server.uri("/payments").toString(), "--", tag)
        .redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (process.waitFor() != 0) {
      throw new IllegalStateException("wrk failed:\n" + output);
    }
    Matcher rate = RATE.matcher(output);
    Matcher p99 = P99.matcher(output);
    if (!rate.find() || !p99.find()) {
      throw new IllegalStateException("cannot read wrk's output:\n" + output);
    }
    double factor = switch (p99.group(2)) {
      case "us" -> 0.001;
      case "s" -> 1000;
      default -> 1;
    };
    Matcher errors = NON_2XX.matcher(output);
    return new double[] {Double.parseDouble(rate.group(1)),
        Double.parseDouble(p99.group(1)) * factor,
        errors.find() ? Double.parseDouble(errors.group(1)) : 0};
  }

  private static void print(String name, List<double[]> results) {
    StringBuilder rates = new StringBuilder();
    StringBuilder p99s = new StringBuilder();
    double errors = 0;
    for (double[] result : results) {
      rates.append(rates.length() == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.0f",
          result[0]));
      p99s.append(p99s.length() == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.1f",
          result[1]));
      errors += result[2];
    }
    System.out.printf(Locale.ROOT, "%-14s %12s %12s %10.0f%n", name, rates, p99s, errors);
  }

  private static HikariDataSource pool(String url, int size) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setMaximumPoolSize(size);
    config.setConnectionTimeout(Duration.ofSeconds(10).toMillis());
    return new HikariDataSource(config);
  }

  private static void execute(DataSource dataSource, String sql) throws SQLException {
    try (Connection connection = dataSource.getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  private static long count(DataSource dataSource, String table) throws SQLException {
    try (Connection connection = dataSource.getConnection();
        Statement statement = connection.createStatement();
        var row = statement.executeQuery("SELECT count(*) FROM " + table)) {
      row.next();
      return row.getLong(1);
    }
  }
}
