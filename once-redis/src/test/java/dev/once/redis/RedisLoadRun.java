package dev.once.redis;

import static dev.once.testing.Decisions.exchange;

import dev.once.Decision;
import dev.once.Exchange;
import dev.once.Fingerprint;
import dev.once.Once;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.Token;
import dev.once.testing.DelegatingStore;
import dev.once.testing.TestRequest;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A load run of {@link RedisStore} against a real Redis (the embedded-redis binary, started here on
 * a free port), printed as a table:
 *
 * <ol>
 *   <li>operations per second at 1, 16 and 64 concurrent callers: a first request (claim then
 *       complete: two round trips), a replay (one claim of a completed key), a replay with the near
 *       cache (no round trip), beside raw {@code SET} and {@code GET} of a value the size of the
 *       record, sent through the same client library to the same server in the same run: the
 *       physical limit the store's figures are a fraction of;
 *   <li>what a duplicate waiting for an in-flight request ({@code maxWait}) costs: the commands it
 *       sends and how long after the owner finishes it gets its replay, with the store's pub/sub
 *       {@code awaitChangeAsync} and with bounded exponential back-off polling (5 ms doubling to
 * 100
 *       ms), for handlers of 200 ms and 2 s.
 * </ol>
 *
 * <p>With {@code -Dload.durable=true} it measures instead what {@code replicas=1} costs: a first
 * request and a replay with and without it, on a primary with one replica, in the same rounds.
 *
 * <p>Run (about five minutes; prints the machine's load first and last, since the figures are only
 * comparable within one run on a quiet machine):
 *
 * <pre>
 *   mvn -B -ntp -pl once-redis -am verify -DskipTests -Pload
 * </pre>
 *
 * Each cell is the median of {@code -Dload.rounds=N} (default 3) rounds of {@code
 * -Dload.seconds=N} (default 3) seconds, the operations of one caller count taking turns.
 */
public final class RedisLoadRun {
  private static final int[] CALLERS = {1, 16, 64};
  private static final List<String> SENT_BY_CLIENTS =
      List.of("evalsha", "eval", "subscribe", "unsubscribe");
  private static final int HOT_KEYS = 1_000;
  private static final Duration LEASE = Duration.ofSeconds(30);
  private static final Duration MAX_WAIT = Duration.ofSeconds(10);
  private static final Duration TTL = Duration.ofMinutes(2);
  private static final Fingerprint FINGERPRINT = Fingerprint.of("POST", "/payments", null,
      "{\"amount\":100,\"currency\":\"EUR\"}".getBytes(StandardCharsets.UTF_8));
  private static final StoredResponse RESPONSE = StoredResponse.of(201, List.of(
      new Header("Content-Type", "application/json"),
      new Header("Location", "/payments/8e03978e-40d5-43e8-bc93-6894a57f9324")),
      "{\"id\":\"8e03978e-40d5-43e8-bc93-6894a57f9324\",\"status\":\"created\"}"
          .getBytes(StandardCharsets.UTF_8));

  private final long measureNanos;
  private final long warmupNanos;
  private final int rounds;
  private final LongAdder failures = new LongAdder();
  private volatile Exception lastFailure;

  private RedisLoadRun(int seconds, int rounds) {
    this.measureNanos = TimeUnit.SECONDS.toNanos(seconds);
    this.warmupNanos = TimeUnit.MILLISECONDS.toNanos(500);
    this.rounds = rounds;
  }

  public static void main(String[] args) {
    int seconds = Integer.getInteger("load.seconds", 3);
    int rounds = Integer.getInteger("load.rounds", 3);
    System.out.println("# RedisStore load run, " + Instant.now());
    System.out.println("# load before: " + uptime());
    System.out.println("# " + Runtime.getRuntime().availableProcessors() + " cores, Java "
        + System.getProperty("java.version") + "; each cell the median of " + rounds
        + " interleaved rounds of " + seconds + " s after 0.5 s of warm-up");
    int status = 0;
    RedisLoadRun run = new RedisLoadRun(seconds, rounds);
    try {
      if (Boolean.getBoolean("load.durable")) {
        try (TestRedis primary = TestRedis.start();
            TestRedis replica = TestRedis.start(
                List.of("--replicaof", "127.0.0.1", Integer.toString(primary.port())))) {
          awaitReplica(replica);
          System.out.println("# a primary and its replica on 127.0.0.1, no persistence");
          run.durability(primary);
        }
      } else {
        try (TestRedis redis = TestRedis.start()) {
          System.out.println("# " + redis.admin().info("server").lines()
              .filter(line -> line.startsWith("redis_version")).findFirst()
              .orElse("redis_version:?")
              + ", one server on 127.0.0.1, no persistence; load generator in this JVM");
          run.run(redis);
        }
      }
    } catch (Exception e) {
      e.printStackTrace();
      status = 1;
    }
    System.out.println("# load after: " + uptime());
    // the run is over, whatever threads a failure left behind
    System.exit(status);
  }

  private void run(TestRedis redis) throws Exception {
    RedisClient rawClient = RedisClient.create(redis.url());
    // throughput, not latency, is measured: a stall on a shared machine must not end the run
    try (RedisStore store = RedisStore.open(redis.url() + "?commandTimeout=10s");
        RedisStore cached = RedisStore.builder(rawClient).commandTimeout(Duration.ofSeconds(10))
            .nearCache(64L << 20, Duration.ofMinutes(1)).build();
        StatefulRedisConnection<byte[], byte[]> raw = rawClient.connect(ByteArrayCodec.INSTANCE)) {
      throughput(store, cached, raw.async());
      waiting(store, redis);
    } finally {
      rawClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  private void throughput(RedisStore store, RedisStore cached,
      RedisAsyncCommands<byte[], byte[]> raw) throws Exception {
    byte[] record = completedRecord();
    List<String> hot = completedHotKeys(store);
    for (String key : hot) {
      raw.set(rawKey(key), record).get();
    }
    AtomicLong unique = new AtomicLong();
    Map<String, Operation> operations = new LinkedHashMap<>();
    operations.put("raw SET (" + record.length + " B)",
        i -> raw.set(rawKey("set-" + unique.incrementAndGet()), record).get(10, TimeUnit.SECONDS));
    operations.put("raw GET (" + record.length + " B)",
        i -> raw.get(rawKey(hot.get(i % HOT_KEYS))).get(10, TimeUnit.SECONDS));
    operations.put("first request: claim + complete", firstRequest(store, unique));
    operations.put("replay: claim of a completed key", replay(store, hot));
    operations.put("replay, near cache", replay(cached, hot));

    Map<String, double[]> results = measure(operations);
    print(results);
    double[] set = results.get(operations.keySet().toArray(String[]::new)[0]);
    double[] get = results.get(operations.keySet().toArray(String[]::new)[1]);
    double[] first = results.get("first request: claim + complete");
    double[] replay = results.get("replay: claim of a completed key");
    System.out.printf("%-36s %12.2f %12.2f %12.2f%n", "ratio first request / raw SET",
        first[0] / set[0], first[1] / set[1], first[2] / set[2]);
    System.out.printf("%-36s %12.2f %12.2f %12.2f%n", "ratio replay / raw GET",
        replay[0] / get[0], replay[1] / get[1], replay[2] / get[2]);
    System.out.println("failed operations (not counted): " + failures.sum()
        + (lastFailure == null ? "" : ", the last: " + lastFailure));
  }

  /**
   * The cost of {@code replicas=1} ({@link RedisStore.Builder#replicas}): a first request and a
   * replay on a store without it and on one with it, on the same primary with one replica, in the
   * same rounds.
   */
  private void durability(TestRedis primary) throws Exception {
    String base = primary.url() + "?commandTimeout=10s";
    try (RedisStore plain = RedisStore.open(base);
        RedisStore durable = RedisStore.open(base + "&replicas=1&replicaTimeout=1s")) {
      List<String> hot = completedHotKeys(durable);
      AtomicLong unique = new AtomicLong();
      Map<String, Operation> operations = new LinkedHashMap<>();
      for (RedisStore store : List.of(plain, durable)) {
        String name = store == plain ? "" : ", replicas=1";
        operations.put("first request" + name, firstRequest(store, unique));
        operations.put("replay" + name, replay(store, hot));
      }
      Map<String, double[]> results = measure(operations);
      print(results);
      for (String operation : List.of("first request", "replay")) {
        double[] without = results.get(operation);
        double[] with = results.get(operation + ", replicas=1");
        System.out.printf("%-36s %12.2f %12.2f %12.2f%n", "ratio " + operation + " with / without",
            with[0] / without[0], with[1] / without[1], with[2] / without[2]);
      }
      System.out.println("failed operations (not counted): " + failures.sum()
          + (lastFailure == null ? "" : ", the last: " + lastFailure));
    }
  }

  /** A first request: a claim of a new key, then its completion. */
  private static Operation firstRequest(RedisStore store, AtomicLong unique) {
    return i -> {
      String key = "new-" + unique.incrementAndGet();
      Claim claim = store.claim(key, FINGERPRINT, LEASE);
      store.complete(key, claim.token(), RESPONSE, TTL);
    };
  }

  /** @return the {@code HOT_KEYS} keys completed in {@code store}, for replays to claim */
  private static List<String> completedHotKeys(RedisStore store) {
    List<String> hot = new ArrayList<>();
    for (int i = 0; i < HOT_KEYS; i++) {
      String key = "hot-" + i;
      hot.add(key);
      Token token = store.claim(key, FINGERPRINT, LEASE).token();
      store.complete(key, token, RESPONSE, Duration.ofHours(1));
    }
    return hot;
  }

  /** A replay: a claim of one of the completed {@code hot} keys. */
  private static Operation replay(RedisStore store, List<String> hot) {
    return i -> {
      if (store.claim(hot.get(i % HOT_KEYS), FINGERPRINT, LEASE).state()
          != Claim.State.COMPLETED) {
        throw new IllegalStateException("not a replay");
      }
    };
  }

  private static void print(Map<String, double[]> results) {
    System.out.println();
    System.out.printf("%-36s %12s %12s %12s%n", "operations per second", "1 caller",
        "16 callers", "64 callers");
    results.forEach((name, perCallers) -> System.out.printf("%-36s %12.0f %12.0f %12.0f%n", name,
        perCallers[0], perCallers[1], perCallers[2]));
  }

  private static void awaitReplica(TestRedis replica) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!replica.admin().info("replication").contains("master_link_status:up")) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the replica did not sync within 30 s");
      }
      TestRedis.sleep(50);
    }
  }

  /**
   * @return each operation's median operations per second at each caller count
   */
  private Map<String, double[]> measure(Map<String, Operation> operations) throws Exception {
    // the cells of one caller count are interleaved, round after round, and each reports its
    // median round: a neighbour's burst of load then skews one round of every operation alike
    Map<String, double[]> results = new LinkedHashMap<>();
    operations.keySet().forEach(name -> results.put(name, new double[CALLERS.length]));
    for (int c = 0; c < CALLERS.length; c++) {
      Map<String, double[]> perRound = new LinkedHashMap<>();
      for (int round = 0; round < rounds; round++) {
        for (Map.Entry<String, Operation> operation : operations.entrySet()) {
          perRound.computeIfAbsent(operation.getKey(), name -> new double[rounds])[round] =
              opsPerSecond(operation.getValue(), CALLERS[c]);
        }
      }
      for (Map.Entry<String, double[]> cell : perRound.entrySet()) {
        double[] sorted = cell.getValue().clone();
        Arrays.sort(sorted);
        results.get(cell.getKey())[c] = sorted[rounds / 2];
      }
    }
    return results;
  }

  /** A completed record of {@link #RESPONSE}, byte for byte what a replay reads. */
  private static byte[] completedRecord() {
    return RecordCodecTest.completed(Token.random(), FINGERPRINT, RESPONSE);
  }

  private static byte[] rawKey(String key) {
    return ("raw:" + key).getBytes(StandardCharsets.UTF_8);
  }

  /** One operation; {@code i} counts the caller's calls. */
  @FunctionalInterface
  private interface Operation {
    void run(int i) throws Exception;
  }

  private double opsPerSecond(Operation operation, int callers) throws Exception {
    LongAdder done = new LongAdder();
    ExecutorService pool = Executors.newFixedThreadPool(callers);
    try {
      CountDownLatch start = new CountDownLatch(1);
      long measureFrom = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50) + warmupNanos;
      long end = measureFrom + measureNanos;
      List<Future<?>> workers = new ArrayList<>();
      for (int t = 0; t < callers; t++) {
        int offset = t * 7919;
        workers.add(pool.submit(() -> {
          start.await();
          for (int i = offset; ; i++) {
            long now = System.nanoTime();
            if (now >= end) {
              return null;
            }
            try {
              operation.run(i);
              if (now >= measureFrom) {
                done.increment();
              }
            } catch (Exception e) {
              failures.increment();
              lastFailure = e;
            }
          }
        }));
      }
      start.countDown();
      for (Future<?> worker : workers) {
        worker.get(measureNanos / 1_000_000_000L + 60, TimeUnit.SECONDS);
      }
      return done.sum() / (measureNanos / 1e9);
    } finally {
      pool.shutdownNow();
    }
  }

  private void waiting(RedisStore store, TestRedis redis) throws Exception {
    System.out.println();
    System.out.println("a duplicate waiting for an in-flight request (maxWait 10 s), 16"
        + " duplicates a round, 10 rounds after one of warm-up");
    System.out.printf("%-28s %8s %24s %14s %14s %14s%n", "waiting by", "handler",
        "commands per duplicate", "wake p50 (ms)", "wake p90 (ms)", "wake max (ms)");
    IdempotencyStore polling = new PollingStore(store);
    for (Duration handler : List.of(Duration.ofMillis(200), Duration.ofSeconds(2))) {
      report("pub/sub (RedisStore)", handler, waitingRounds(store, handler, redis));
      report("back-off polling 5..100 ms", handler, waitingRounds(polling, handler, redis));
    }
  }

  private static void report(String name, Duration handler, double[] result) {
    System.out.printf("%-28s %8s %24.1f %14.1f %14.1f %14.1f%n", name,
        handler.toMillis() + " ms", result[0], result[1], result[2], result[3]);
  }

  /** @return commands per duplicate; median, 90th percentile and maximum wake latency in ms */
  private static double[] waitingRounds(IdempotencyStore store, Duration handler, TestRedis redis)
      throws Exception {
    int duplicates = 16;
    int rounds = 10;
    Once once = Once.builder(store).maxWait(MAX_WAIT).build();
    List<Double> wakes = new ArrayList<>();
    long commands = 0;
    // round -1 warms up (the pub/sub connection opens on first use) and is not counted
    for (int round = -1; round < rounds; round++) {
      String key = "wait-" + System.nanoTime();
      CommandStats before = CommandStats.of(redis.admin());
      Decision owner = once.decide(TestRequest.post(key).body("{}"));
      // parked as a non-blocking front end parks them: no thread waits; the stage's time of
      // completion is the duplicate's wake
      List<CompletableFuture<Long>> waiting = new ArrayList<>();
      for (int d = 0; d < duplicates; d++) {
        waiting.add(once.decideAsync(TestRequest.post(key).body("{}")).toCompletableFuture()
            .thenApply(decision -> {
              if (!(decision instanceof Decision.Replay)) {
                throw new IllegalStateException("a duplicate got " + decision);
              }
              return System.nanoTime();
            }));
      }
      Thread.sleep(handler.toMillis());
      long completing = System.nanoTime();
      exchange(owner).handlerReturned(Exchange.Response.of(201, List.of(),
          "{}".getBytes(StandardCharsets.UTF_8))).toCompletableFuture().get(30, TimeUnit.SECONDS);
      List<Double> roundWakes = new ArrayList<>();
      for (CompletableFuture<Long> duplicate : waiting) {
        roundWakes.add((duplicate.get(30, TimeUnit.SECONDS) - completing) / 1e6);
      }
      Map<String, Long> sent = before.until(CommandStats.of(redis.admin()));
      if (round < 0) {
        continue;
      }
      wakes.addAll(roundWakes);
      // what clients sent: scripts run their GET, SET, PTTL, SETRANGE, PUBLISH inside Redis
      commands += sent.entrySet().stream()
          .filter(e -> SENT_BY_CLIENTS.contains(e.getKey()))
          .mapToLong(Map.Entry::getValue).sum() - 2;
    }
    wakes.sort(null);
    return new double[] {
        (double) commands / (duplicates * rounds), wakes.get(wakes.size() / 2),
        wakes.get(wakes.size() * 9 / 10), wakes.get(wakes.size() - 1)};
  }

  private static String uptime() {
    try {
      Process process = new ProcessBuilder("uptime").redirectErrorStream(true).start();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      process.waitFor(5, TimeUnit.SECONDS);
      return out.trim();
    } catch (IOException | InterruptedException e) {
      try {
        return "loadavg " + Files.readString(Path.of("/proc/loadavg")).trim();
      } catch (IOException unreadable) {
        return "unknown";
      }
    }
  }

  /**
   * The alternative to pub/sub measured beside it: the store's operations, but a waiter is
   * parked on a timer and the engine looks again, the wait doubling from 5 ms to at most 100 ms
   * (5, 10, 20, 40, 80, 100, ...: each wait is the time waited so far plus 5 ms, which the
   * remaining
   * part of {@link #MAX_WAIT} tells).
   */
  private static final class PollingStore extends DelegatingStore {
    PollingStore(IdempotencyStore store) {
      super(store);
    }

    @Override
    public void awaitChange(String key, Duration timeout) throws InterruptedException {
      Thread.sleep(backOffMillis(timeout));
    }

    @Override
    public CompletionStage<Void> awaitChangeAsync(String key, Duration timeout) {
      return new CompletableFuture<Void>()
          .completeOnTimeout(null, backOffMillis(timeout), TimeUnit.MILLISECONDS);
    }

    private static long backOffMillis(Duration timeout) {
      long waited = MAX_WAIT.minus(timeout).toMillis();
      return Math.max(1, Math.min(Math.min(100, waited + 5), timeout.toMillis()));
    }
  }
}
