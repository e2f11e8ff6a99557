package dev.once.jdbc.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import dev.once.jdbc.JdbcStore;
import dev.once.spi.Claim;
import dev.once.spi.Token;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Operations per second of {@link JdbcStore} against PostgreSQL, beside the plain statements that
 * bound it: a new request ({@code claim} then {@code complete}, two statements) beside a plain
 * single-row {@code INSERT}, and a replay ({@code claim} of a completed key, one statement) beside
 * a plain primary-key {@code SELECT}; at 1, 8 and 32 callers, each with a pooled connection of its
 * own, all in one run. It starts an embedded PostgreSQL (or uses {@code ONCE_TEST_JDBC_URL}) and
 * prints JMH's results and then a table of the ratios.
 *
 * <p>Run it from the repository root:
 *
 * <pre>
 * mvn -B -ntp -q -pl once-jdbc -am -Pbench process-test-classes
 * </pre>
 *
 * Options, as system properties of that command ({@code -Dbench.threads=1,8}): {@code
 * bench.threads} (default 1,8,32), {@code bench.warmup} and {@code bench.measure} (seconds per
 * iteration, default 3 and 5), {@code bench.iterations} (measured iterations, default 3).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class JdbcStoreBenchmark {
  private static final Duration LEASE = Duration.ofMinutes(1);
  private static final Duration TTL = Duration.ofHours(1);
  private static final int KEYS = 1000;
  private static final byte[] BODY =
      "{\"id\":\"ch_3MmlLrLkdIwHu7ix0snN0B15\",\"status\":\"succeeded\",\"amount\":100}"
          .getBytes(StandardCharsets.UTF_8);
  private static final StoredResponse RESPONSE = StoredResponse.of(201, List.of(
      new Header("Content-Type", "application/json"), new Header("Location", "/payments/1")),
      BODY);
  private static final Fingerprint FINGERPRINT = Fingerprint.of("POST", "/payments", null, BODY);

  private HikariDataSource pool;
  private JdbcStore store;
  private String plainTable;
  private String storeTable;
  private final String prefix = UUID.randomUUID().toString();

  @Setup
  public void open() throws SQLException {
    int threads = Integer.getInteger("bench.pool", 32);
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(System.getProperty("bench.url"));
    config.setMaximumPoolSize(threads);
    config.setMinimumIdle(threads);
    pool = new HikariDataSource(config);
    String suffix = prefix.substring(0, 8);
    storeTable = "bench_once_" + suffix;
    plainTable = "bench_plain_" + suffix;
    store = JdbcStore.builder(pool).tableName(storeTable).createTable(true).build();
    try (Connection connection = pool.getConnection();
        Statement statement = connection.createStatement()) {
      // the same key and body columns as the store's table, and nothing else
      statement.execute("CREATE TABLE " + plainTable + " (key text PRIMARY KEY, body bytea)");
    }
    for (int i = 0; i < KEYS; i++) {
      Token token = store.claim("replay-" + i, FINGERPRINT, LEASE).token();
      store.complete("replay-" + i, token, RESPONSE, TTL);
      insert("select-" + i);
    }
  }

  @TearDown
  public void close() throws SQLException {
    try (Connection connection = pool.getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute("DROP TABLE " + plainTable);
      statement.execute("DROP TABLE " + storeTable);
    }
    store.close();
    pool.close();
  }

  /** A new request: claim a new key, then complete it. */
  @Benchmark
  public boolean claimThenComplete(Counter counter) {
    String key = counter.next();
    Claim claim = store.claim(key, FINGERPRINT, LEASE);
    return store.complete(key, claim.token(), RESPONSE, TTL);
  }

  /** A retry of a finished request: one claim that finds the completed record. */
  @Benchmark
  public Claim replay() {
    Claim claim = store.claim("replay-" + ThreadLocalRandom.current().nextInt(KEYS), FINGERPRINT,
        LEASE);
    if (claim.state() != Claim.State.COMPLETED) {
      throw new IllegalStateException("a replay found " + claim);
    }
    return claim;
  }

  /** The bound of one write: a plain single-row INSERT, on a pooled connection. */
  @Benchmark
  public int plainInsert(Counter counter) throws SQLException {
    return insert(counter.next());
  }

  /** The bound of one read: a plain primary-key SELECT, on a pooled connection. */
  @Benchmark
  public byte[] plainSelect() throws SQLException {
    try (Connection connection = pool.getConnection();
        PreparedStatement select =
            connection.prepareStatement("SELECT body FROM " + plainTable + " WHERE key = ?")) {
      select.setString(1, "select-" + ThreadLocalRandom.current().nextInt(KEYS));
      try (ResultSet row = select.executeQuery()) {
        row.next();
        return row.getBytes(1);
      }
    }
  }

  private int insert(String key) throws SQLException {
    try (Connection connection = pool.getConnection();
        PreparedStatement insert = connection.prepareStatement(
            "INSERT INTO " + plainTable + " (key, body) VALUES (?, ?)")) {
      insert.setString(1, key);
      insert.setBytes(2, BODY);
      return insert.executeUpdate();
    }
  }

  /** Keys no other caller uses. */
  @State(Scope.Thread)
  public static class Counter {
    private final String prefix = UUID.randomUUID() + "-";
    private long next;

    String next() {
      return prefix + next++;
    }
  }

  /**
   * Runs the benchmarks at each thread count and prints the ratios.
   *
   * @param args unused; see the class comment for the options
   * @throws Exception if the database or a benchmark fails
   */
  public static void main(String[] args) throws Exception {
    List<Integer> threadCounts = new ArrayList<>();
    for (String count : System.getProperty("bench.threads", "1,8,32").split(",")) {
      threadCounts.add(Integer.parseInt(count.trim()));
    }
    try (BenchDatabase database = BenchDatabase.open(Map.of("max_connections", "100"))) {
      String url = database.url();
      System.out.println("load before: " + loadAverage());
      System.out.println("server: " + describeServer(url));
      Map<String, Map<Integer, Double>> scores = new LinkedHashMap<>();
      for (int threads : threadCounts) {
        OptionsBuilder options = new OptionsBuilder();
        options.include(JdbcStoreBenchmark.class.getName() + "\\.")
            .threads(threads)
            .forks(1)
            .warmupIterations(1)
            .warmupTime(TimeValue.seconds(Integer.getInteger("bench.warmup", 3)))
            .measurementIterations(Integer.getInteger("bench.iterations", 3))
            .measurementTime(TimeValue.seconds(Integer.getInteger("bench.measure", 5)))
            .jvmArgsAppend("-Dbench.url=" + url, "-Dbench.pool=" + threads);
        for (RunResult result : new Runner(options.build()).run()) {
          String name = result.getParams().getBenchmark();
          name = name.substring(name.lastIndexOf('.') + 1);
          scores.computeIfAbsent(name, n -> new LinkedHashMap<>())
              .put(threads, result.getPrimaryResult().getScore());
        }
      }
      System.out.println("load after: " + loadAverage());
      System.out.println();
      System.out.println(table(threadCounts, scores));
    }
  }

  private static String table(List<Integer> threadCounts, Map<String, Map<Integer, Double>> s) {
    StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
        "%-8s %14s %14s %8s %14s %14s %8s%n", "callers", "claim+complete", "plain INSERT",
        "ratio", "replay", "plain SELECT", "ratio"));
    for (int threads : threadCounts) {
      double write = s.get("claimThenComplete").get(threads);
      double insert = s.get("plainInsert").get(threads);
      double replay = s.get("replay").get(threads);
      double select = s.get("plainSelect").get(threads);
      out.append(String.format(Locale.ROOT, "%-8d %14.0f %14.0f %8.2f %14.0f %14.0f %8.2f%n",
          threads, write, insert, write / insert, replay, select, replay / select));
    }
    return out.append("(operations per second; claim+complete is two statements)").toString();
  }

  static String describeServer(String url) throws SQLException {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setMaximumPoolSize(1);
    try (HikariDataSource source = new HikariDataSource(config);
        Connection connection = source.getConnection();
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("SELECT version(),"
            + " current_setting('fsync'), current_setting('synchronous_commit'),"
            + " current_setting('shared_buffers')")) {
      row.next();
      return row.getString(1) + "; fsync=" + row.getString(2) + ", synchronous_commit="
          + row.getString(3) + ", shared_buffers=" + row.getString(4);
    }
  }

  static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim() + " ("
          + Runtime.getRuntime().availableProcessors() + " cores)";
    } catch (java.io.IOException e) {
      return "unknown";
    }
  }
}
