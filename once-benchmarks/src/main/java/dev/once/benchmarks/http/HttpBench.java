package dev.once.benchmarks.http;

import dev.once.Once;
import dev.once.Stores;
import dev.once.spi.IdempotencyStore;
import java.io.IOException;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The HTTP load harness: what {@code OnceFilter} costs in a real server. It starts one Jetty 12
 * server ({@code --server webflux}: one Spring WebFlux stack on Reactor Netty, with {@code
 * OnceWebFilter}) with a trivial POST handler in several modes at once (bare; behind {@code
 * OnceFilter} on each store given, by default {@code memory} and, when a Redis store provider is
 * on the class path, Redis on an embedded server), and drives each with {@code wrk} when it is
 * installed, else
 * with a built-in Java load generator, for three workloads: no key, cache hit (one key, completed
 * before the run), and a unique key per request. With {@code --server jersey} the same handler is
 * a Jersey 3.1 resource on Grizzly, bare and behind {@code OnceFeature}, a server per mode.
 *
 * <p>After a warm-up of every mode and workload, the runs are interleaved (each round runs every
 * workload against every mode, the order of modes turning from round to round) and repeated; the
 * report gives, per mode and workload, the median requests per second, median p50 and p99 latency,
 * and the ratio to the bare server: the median over rounds of the ratio within the round, so slow
 * drifts of a shared machine cancel out. It is printed as a table and written as JSON.
 *
 * <p>Run (after {@code mvn -B -ntp -pl once-benchmarks -am package -DskipTests}):
 *
 * <pre>
 * java -cp once-benchmarks/target/benchmarks.jar dev.once.benchmarks.http.HttpBench \
 *     [--duration 5] [--warmup 3] [--rounds 3] [--connections 16] [--threads 1] \
 *     [--generator auto|wrk|java] [--server jetty|webflux|jersey] [--store URL]...
 *     [--workloads nokey,hit,unique] [--out FILE]
 * </pre>
 */
public final class HttpBench {
  /** The body every request sends. */
  static final String BODY = "{\"amount\":100,\"currency\":\"USD\",\"recipient\":\"user123\"}";
  /** What {@link #post} returns for a 409; compared by identity. */
  private static final String CONFLICT = new String("409");

  private final Options options;

  private HttpBench(Options options) {
    this.options = options;
  }

  /**
   * Runs the harness.
   *
   * @param args the options (see the class description); {@code --help} prints them
   */
  public static void main(String[] args) throws Exception {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("HttpBench: " + e.getMessage());
      System.err.println(Options.USAGE);
      System.exit(2);
      return;
    }
    if (options.help) {
      System.out.println(Options.USAGE);
      return;
    }
    Map<String, Object> report = new HttpBench(options).run();
    Path out = options.out;
    if (out.getParent() != null) {
      Files.createDirectories(out.getParent());
    }
    Files.writeString(out, Json.write(report), StandardCharsets.UTF_8);
    System.out.println("wrote " + out.toAbsolutePath());
  }

  Map<String, Object> run() throws Exception {
    if (options.pin) {
      pinToFirstCpu();
    }
    LoadGenerator generator = generator();
    if (options.server.equals("springboot")) {
      return runSpringBoot(generator);
    }
    List<String> storeUrls = new ArrayList<>(options.stores);
    EmbeddedRedis redis = null;
    if (storeUrls.isEmpty()) {
      // the record bound raised from 500,000: a unique-key run at 25,000 new keys a second
      // would reach it within 20 s, and every later request would measure a 503 store-full
      storeUrls.add("memory?maximumRecords=" + MEMORY_RECORDS);
      if (EmbeddedRedis.providerPresent()) {
        redis = EmbeddedRedis.start();
        storeUrls.add(redis.url());
        // the same Redis without the near cache (mode redisnocache): every replay a round trip;
        // keys of its own, as each mode's path differs and so does the requests' fingerprint
        storeUrls.add(redis.url() + (redis.url().contains("?") ? "&" : "?")
            + "nearCacheBytes=0&keyPrefix=nocache:");
      } else {
        log("no Redis store provider on the class path: the redis mode is skipped");
      }
    }
    Map<String, IdempotencyStore> stores = new LinkedHashMap<>();
    try {
      for (String url : storeUrls) {
        stores.put(modeName(url, stores.keySet()), Stores.open(url));
      }
      Map<String, Once> engines = new LinkedHashMap<>();
      // records of the unique-key workload must not outlive the run by much
      stores.forEach((mode, store) ->
          engines.put(mode, Once.builder(store).ttl(Duration.ofMinutes(10)).build()));
      try (ModeServer server = startServer(engines)) {
        return measure(server, generator, storeUrls, new ArrayList<>(engines.keySet()));
      }
    } finally {
      for (IdempotencyStore store : stores.values()) {
        store.close();
      }
      if (redis != null) {
        redis.close();
      }
    }
  }

  /**
   * The Spring Boot application in a JVM per mode: the stores are the applications' own, opened
   * from the once starter's properties.
   */
  private Map<String, Object> runSpringBoot(LoadGenerator generator) throws Exception {
    List<String> storeUrls = options.stores.isEmpty()
        ? List.of("memory?maximumRecords=" + MEMORY_RECORDS)
        : options.stores;
    Map<String, List<String>> modes = new LinkedHashMap<>();
    for (String url : storeUrls) {
      modes.put(modeName(url, modes.keySet()), SpringBootBenchServer.starterProperties(url));
    }
    log("server: Spring Boot on Tomcat, one POST /payments controller, the once starter; a JVM"
        + " per mode (" + options.appJavaOptions + ")");
    Path dir = options.out.toAbsolutePath().getParent();
    try (ModeServer server = SpringBootBenchServer.start(modes, options.appJavaOptions, dir)) {
      return measure(server, generator, storeUrls, new ArrayList<>(modes.keySet()));
    }
  }

  /**
   * {@code --pin}: the harness, and so every server it runs or starts, on CPU 0; {@code wrk} on
   * CPU 1 ({@link #generator}), so that the server and the load never share a core.
   */
  private static void pinToFirstCpu() throws IOException, InterruptedException {
    if (Runtime.getRuntime().availableProcessors() < 2) {
      throw new IllegalStateException("--pin needs two CPUs: the servers on one, wrk on the other");
    }
    Process taskset = new ProcessBuilder("taskset", "-a", "-p", "-c", "0",
        Long.toString(ProcessHandle.current().pid())).redirectErrorStream(true).start();
    String output = new String(taskset.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (taskset.waitFor() != 0) {
      throw new IllegalStateException("--pin: taskset failed: " + output.trim());
    }
    log("pinned: the servers to CPU 0, wrk to CPU 1");
  }

  private ModeServer startServer(Map<String, Once> engines) throws Exception {
    switch (options.server) {
      case "webflux":
        log("server: Spring WebFlux on Reactor Netty, OnceWebFilter");
        return WebFluxBenchServer.start(engines);
      case "jersey":
        log("server: Jersey 3.1 on Grizzly, OnceFeature (a server per mode)");
        return JerseyBenchServer.start(engines);
      default:
        log("server: Jetty 12, OnceFilter");
        return BenchServer.start(engines);
    }
  }

  private Map<String, Object> measure(ModeServer server, LoadGenerator generator,
      List<String> storeUrls, List<String> filtered) throws Exception {
    List<String> modes = new ArrayList<>();
    modes.add(BenchServer.BARE);
    modes.addAll(filtered);
    String session = "hb" + Long.toString(System.currentTimeMillis(), 36);
    for (String mode : modes) {
      check(server.uri(mode), mode, session);
    }
    String loadBefore = loadAverage();
    log("generator: " + generator.describe() + "; modes " + modes + "; workloads "
        + options.workloads.stream().map(w -> w.id).toList() + "; load average " + loadBefore);
    for (Workload workload : options.workloads) {
      for (String mode : modes) {
        generator.run(server.uri(mode), workload, keyPrefix(session, workload, "w", mode),
            options.warmup);
      }
    }
    Map<String, List<RunResult>> results = new LinkedHashMap<>();
    // the collections of each run, where each mode has a JVM of its own; the warm-up's are dropped
    Map<String, List<GcPauses>> collections = new LinkedHashMap<>();
    Map<String, List<Double>> cpu = new LinkedHashMap<>();
    for (String mode : modes) {
      server.collectionsSinceLastCall(mode);
      server.cpuMillisSinceLastCall(mode);
    }
    for (int round = 0; round < options.rounds; round++) {
      for (Workload workload : options.workloads) {
        for (int i = 0; i < modes.size(); i++) {
          String mode = modes.get((i + round) % modes.size());
          RunResult result = generator.run(server.uri(mode), workload,
              keyPrefix(session, workload, "r" + round, mode), options.duration);
          results.computeIfAbsent(mode + "/" + workload.id, k -> new ArrayList<>()).add(result);
          double cpuMillis = server.cpuMillisSinceLastCall(mode);
          if (cpuMillis >= 0 && result.requests() > 0) {
            cpu.computeIfAbsent(mode + "/" + workload.id, k -> new ArrayList<>())
                .add(cpuMillis * 1000 / result.requests());
          }
          GcPauses gc = server.collectionsSinceLastCall(mode);
          if (gc != null) {
            collections.computeIfAbsent(mode + "/" + workload.id, k -> new ArrayList<>()).add(gc);
          }
          log(String.format(Locale.ROOT,
              "round %d %-7s %-6s %9.0f req/s  p50 %7.0f us  p99 %7.0f us"
                  + "  errors %d  non-2xx %d", round + 1, workload.id, mode, result.rps(),
              result.p50Micros(), result.p99Micros(), result.errors(), result.unexpectedStatus()));
        }
      }
    }
    String loadAfter = loadAverage();

    List<Object> rows = new ArrayList<>();
    boolean gcs = !collections.isEmpty();
    StringBuilder table = new StringBuilder(gcs
        ? "| workload | mode | req/s | p50 µs | p99 µs | ratio to bare | errors | young GCs"
            + " | young pause ms | longest pause ms | full GCs | CPU µs per request |\n"
            + "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        : "| workload | mode | req/s | p50 µs | p99 µs | ratio to bare | errors |\n"
            + "|---|---|---:|---:|---:|---:|---:|\n");
    for (Workload workload : options.workloads) {
      List<RunResult> bare = results.get(BenchServer.BARE + "/" + workload.id);
      for (String mode : modes) {
        List<RunResult> runs = results.get(mode + "/" + workload.id);
        double[] ratios = new double[runs.size()];
        for (int r = 0; r < runs.size(); r++) {
          ratios[r] = runs.get(r).rps() / bare.get(r).rps();
        }
        double rps = median(runs.stream().mapToDouble(RunResult::rps).toArray());
        double p50 = median(runs.stream().mapToDouble(RunResult::p50Micros).toArray());
        double p99 = median(runs.stream().mapToDouble(RunResult::p99Micros).toArray());
        double ratio = median(ratios);
        long errors = runs.stream().mapToLong(r -> r.errors() + r.unexpectedStatus()).sum();
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("mode", mode);
        row.put("workload", workload.id);
        row.put("rps", round(rps, 0));
        row.put("p50_us", round(p50, 1));
        row.put("p99_us", round(p99, 1));
        row.put("ratio_to_bare", round(ratio, 3));
        row.put("errors", errors);
        List<Object> perRound = new ArrayList<>();
        for (RunResult r : runs) {
          Map<String, Object> one = new LinkedHashMap<>();
          one.put("rps", round(r.rps(), 0));
          one.put("p50_us", round(r.p50Micros(), 1));
          one.put("p99_us", round(r.p99Micros(), 1));
          one.put("requests", r.requests());
          one.put("errors", r.errors());
          one.put("non_2xx", r.unexpectedStatus());
          perRound.add(one);
        }
        row.put("rounds", perRound);
        table.append(String.format(Locale.ROOT, "| %s | %s | %.0f | %.0f | %.0f | %.3f | %d |",
            workload.id, mode, rps, p50, p99, ratio, errors));
        if (gcs) {
          // summed over the rounds: every collection of the mode's JVM while it was measured
          GcPauses gc = collections.get(mode + "/" + workload.id).stream()
              .reduce(GcPauses.NONE, GcPauses::plus);
          Map<String, Object> gcRow = new LinkedHashMap<>();
          gcRow.put("young_collections", gc.young());
          gcRow.put("young_pause_ms", round(gc.youngMillis(), 1));
          gcRow.put("full_collections", gc.full());
          gcRow.put("full_pause_ms", round(gc.fullMillis(), 1));
          gcRow.put("longest_pause_ms", round(gc.maxMillis(), 1));
          row.put("gc_over_rounds", gcRow);
          // the JVM's processor time per request: the median over rounds
          List<Double> perRequest = cpu.getOrDefault(mode + "/" + workload.id, List.of());
          double cpuMicros = median(perRequest.stream().mapToDouble(Double::doubleValue).toArray());
          gcRow.put("cpu_us_per_request", round(cpuMicros, 1));
          table.append(String.format(Locale.ROOT, " %d | %.0f | %.1f | %d | %.1f |", gc.young(),
              gc.youngMillis(), gc.maxMillis(), gc.full(), cpuMicros));
        }
        table.append(System.lineSeparator());
        rows.add(row);
      }
    }
    System.out.print(table);

    Map<String, Object> report = new LinkedHashMap<>();
    report.put("generator", generator.describe());
    Map<String, Object> machine = new LinkedHashMap<>();
    machine.put("cpu", cpuModel());
    machine.put("cores", Runtime.getRuntime().availableProcessors());
    machine.put("java",
        System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    machine.put("load_average_before", loadBefore);
    machine.put("load_average_after", loadAfter);
    report.put("machine", machine);
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("duration_s", options.duration.toSeconds());
    settings.put("warmup_s", options.warmup.toSeconds());
    settings.put("rounds", options.rounds);
    settings.put("connections", options.connections);
    settings.put("wrk_threads", options.threads);
    settings.put("server", options.server);
    settings.put("pinned", options.pin);
    if (options.server.equals("springboot")) {
      settings.put("app_java_options", options.appJavaOptions);
    }
    settings.put("stores", storeUrls);
    settings.put("body", BODY);
    report.put("settings", settings);
    report.put("results", rows);
    return report;
  }

  private LoadGenerator generator() throws IOException {
    if (!options.generator.equals("java")) {
      WrkLoadGenerator wrk = WrkLoadGenerator.findOnPath(options.threads, options.connections,
          options.pin ? List.of("taskset", "-c", "1") : List.of());
      if (wrk != null) {
        return wrk;
      }
      if (options.generator.equals("wrk")) {
        throw new IllegalStateException("--generator wrk, but wrk is not on the PATH"
            + " (apt-get install -y wrk)");
      }
      log("wrk is not installed (apt-get install -y wrk): using the built-in Java load generator");
    }
    if (options.pin) {
      throw new IllegalStateException("--pin needs wrk (apt-get install -y wrk): the built-in"
          + " generator runs in the harness's JVM, which is pinned beside the servers");
    }
    return new JavaLoadGenerator(options.connections);
  }

  /**
   * Sends one request without a key and, for the hit workload, completes its key: fails unless
   * every mode answers as it should, so a broken setup is never measured.
   */
  private static void check(URI uri, String mode, String session)
      throws IOException, InterruptedException {
    post(uri, null, mode);
    String hitKey = Workload.hitKey(session);
    post(uri, hitKey, mode);
    // the client can have the response before the filter has stored it (the body is complete
    // when the handler writes its last byte), so a retry sent at once may still be told 409
    String replayed = null;
    for (int attempt = 0; attempt < 50; attempt++) {
      replayed = post(uri, hitKey, mode);
      if (replayed != CONFLICT) {
        break;
      }
      Thread.sleep(20);
    }
    boolean filtered = !mode.equals(BenchServer.BARE);
    if (filtered != "true".equals(replayed)) {
      throw new IllegalStateException("mode " + mode + ": the second request with key " + hitKey
          + (filtered ? " was not replayed" : " was replayed by the bare server"));
    }
  }

  /**
   * @return the Idempotent-Replayed header of the answer (201), or {@link #CONFLICT} if the answer
   *     was 409
   */
  private static String post(URI uri, String key, String mode) throws IOException {
    HttpURLConnection connection = (HttpURLConnection) uri.toURL().openConnection();
    try {
      connection.setRequestMethod("POST");
      connection.setDoOutput(true);
      connection.setRequestProperty("Content-Type", "application/json");
      if (key != null) {
        connection.setRequestProperty("Idempotency-Key", key);
      }
      try (OutputStream out = connection.getOutputStream()) {
        out.write(BODY.getBytes(StandardCharsets.UTF_8));
      }
      int status = connection.getResponseCode();
      if (status == 409 && key != null) {
        return CONFLICT;
      }
      if (status != 201) {
        throw new IllegalStateException("mode " + mode + ": POST " + uri + " answered " + status
            + ", expected 201");
      }
      connection.getInputStream().readAllBytes();
      return connection.getHeaderField("Idempotent-Replayed");
    } finally {
      connection.disconnect();
    }
  }

  /** The key prefix of one run; the hit workload uses the session's one completed key. */
  private static String keyPrefix(String session, Workload workload, String run, String mode) {
    return workload == Workload.HIT ? session : session + "-" + run + "-" + mode;
  }

  static String modeName(String url, java.util.Collection<String> taken) {
    int end = url.length();
    for (char separator : new char[] {':', '?'}) {
      int at = url.indexOf(separator);
      end = at < 0 ? end : Math.min(end, at);
    }
    String base = url.substring(0, end).toLowerCase(Locale.ROOT)
        .replaceAll("[^a-z0-9]", "");
    if (base.isEmpty() || base.equals(BenchServer.BARE)) {
      base = "store";
    }
    if (url.contains("nearCacheBytes=0")) {
      base += "nocache";
    }
    String name = base;
    for (int i = 2; taken.contains(name); i++) {
      name = base + i;
    }
    return name;
  }

  static double median(double[] values) {
    if (values.length == 0) {
      return Double.NaN;
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int mid = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }

  private static double round(double value, int decimals) {
    double scale = Math.pow(10, decimals);
    return Double.isFinite(value) ? Math.round(value * scale) / scale : -1;
  }

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException e) {
      // not Linux
    }
    return System.getProperty("os.arch");
  }

  private static void log(String message) {
    System.out.println("[http-bench] " + message);
  }

  /** The command line. */
  /** The memory mode's record bound: more than a default run of unique keys writes. */
  static final long MEMORY_RECORDS = 4_000_000;

  static final class Options {
    static final String USAGE = String.join("\n",
        "usage: java -cp once-benchmarks/target/benchmarks.jar dev.once.benchmarks.http.HttpBench"
            + " [options]",
        "  --duration SECONDS     length of each measured run (default 5)",
        "  --warmup SECONDS       length of the warm-up run of each mode and workload (default 3)",
        "  --rounds N             measured rounds; medians are over rounds (default 3)",
        "  --connections N        concurrent connections (default 16)",
        "  --threads N            wrk threads (default 1)",
        "  --generator G          auto (wrk if installed), wrk or java (default auto)",
        "  --server S             jetty (OnceFilter on Jetty 12), webflux (OnceWebFilter in",
        "                         Spring WebFlux on Reactor Netty), jersey (OnceFeature on",
        "                         Jersey 3.1 and Grizzly, a server per mode) or springboot (a",
        "                         Spring Boot application on Tomcat with the once starter, a JVM",
        "                         per mode, memory store only, GC pauses reported) (default jetty)",
        "  --app-java-options O   the springboot JVMs' options (default \""
            + SpringBootBenchServer.DEFAULT_JAVA_OPTIONS + "\")",
        "  --pin                  servers on CPU 0 and wrk on CPU 1 (taskset; needs wrk)",
        "  --store URL            a store to put behind OnceFilter, repeatable (default: memory,"
            + " and Redis",
        "                         on an embedded server, with and without its near cache, when a"
            + " Redis",
        "                         store provider is on the class path)",
        "  --workloads LIST       among nokey,hit,unique (default all three)",
        "  --out FILE             the JSON report (default once-benchmarks/target/http-bench.json,"
            + " or",
        "                         target/http-bench.json when run from the module)");

    Duration duration = Duration.ofSeconds(5);
    Duration warmup = Duration.ofSeconds(3);
    int rounds = 3;
    int connections = 16;
    int threads = 1;
    String generator = "auto";
    String server = "jetty";
    String appJavaOptions = SpringBootBenchServer.DEFAULT_JAVA_OPTIONS;
    boolean pin;
    final List<String> stores = new ArrayList<>();
    List<Workload> workloads = List.of(Workload.values());
    Path out = Files.isDirectory(Path.of("once-benchmarks"))
        ? Path.of("once-benchmarks", "target", "http-bench.json")
        : Path.of("target", "http-bench.json");
    boolean help;

    static Options parse(String[] args) {
      Options options = new Options();
      for (int i = 0; i < args.length; i++) {
        String name = args[i];
        if (name.equals("--help") || name.equals("-h")) {
          options.help = true;
          continue;
        }
        if (name.equals("--pin")) {
          options.pin = true;
          continue;
        }
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(name.startsWith("--")
              ? name + " needs a value"
              : "unknown argument \"" + name + "\"");
        }
        String value = args[++i];
        switch (name) {
          case "--duration":
            options.duration = Duration.ofSeconds(positive(name, value));
            break;
          case "--warmup":
            options.warmup = Duration.ofSeconds(positive(name, value));
            break;
          case "--rounds":
            options.rounds = positive(name, value);
            break;
          case "--connections":
            options.connections = positive(name, value);
            break;
          case "--threads":
            options.threads = positive(name, value);
            break;
          case "--generator":
            options.generator = oneOf(name, value, "auto", "wrk", "java");
            break;
          case "--server":
            options.server = oneOf(name, value, "jetty", "webflux", "jersey", "springboot");
            break;
          case "--app-java-options":
            options.appJavaOptions = value;
            break;
          case "--store":
            options.stores.add(value);
            break;
          case "--workloads":
            options.workloads = workloads(value);
            break;
          case "--out":
            options.out = Path.of(value);
            break;
          default:
            throw new IllegalArgumentException("unknown option \"" + name + "\"");
        }
      }
      if (options.server.equals("springboot")) {
        options.stores.forEach(SpringBootBenchServer::starterProperties);
      }
      if (options.threads > options.connections) {
        throw new IllegalArgumentException("--threads (" + options.threads
            + ") must not exceed --connections (" + options.connections + ")");
      }
      return options;
    }

    private static List<Workload> workloads(String value) {
      List<Workload> chosen = new ArrayList<>();
      for (String id : value.split(",")) {
        Workload found = null;
        for (Workload w : Workload.values()) {
          if (w.id.equals(id.trim())) {
            found = w;
          }
        }
        if (found == null) {
          throw new IllegalArgumentException("--workloads takes nokey, hit and unique, but held \""
              + id + "\"");
        }
        if (!chosen.contains(found)) {
          chosen.add(found);
        }
      }
      return chosen;
    }

    private static String oneOf(String name, String value, String... allowed) {
      List<String> values = List.of(allowed);
      if (!values.contains(value)) {
        throw new IllegalArgumentException(name + " must be "
            + String.join(", ", values.subList(0, values.size() - 1)) + " or "
            + values.get(values.size() - 1) + ", but was \"" + value + "\"");
      }
      return value;
    }

    private static int positive(String name, String value) {
      try {
        int n = Integer.parseInt(value);
        if (n > 0) {
          return n;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new IllegalArgumentException(name + " must be a positive integer, but was \"" + value
          + "\"");
    }
  }
}
