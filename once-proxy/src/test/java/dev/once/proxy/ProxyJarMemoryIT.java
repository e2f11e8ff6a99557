package dev.once.proxy;

import static dev.once.suite.Http.assertProblem;
import static dev.once.suite.Http.newKey;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.ProblemType;
import dev.once.testing.Closing;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Attacks on the memory store of the packaged jar, run as a process, from outside as a hostile
 * client would make them: a flood of keys past the direct memory the JVM is given, many clients
 * on a few keys with responses at {@code --max-response} while an operator deletes their records,
 * and more keys than {@code --memory-max-records}. The upstream counts its runs by path; each case
 * asserts counts, none a duration.
 */
class ProxyJarMemoryIT {
  private static final Pattern ADMIN = Pattern.compile("admin API on (http://[^/]+)/");

  @RegisterExtension final Closing closing = new Closing();
  private final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
  private final HttpClient client = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(30))
      .build();

  /**
   * An upstream that counts its runs by path, fails the test if two runs of one path ever
   * overlap, and answers 201 with {@code size.apply(path)} bytes that start with the path and the
   * run's number (so a replay of another key's response, or of a cut one, shows). A request with
   * {@code Authorization: Bearer WHO} is counted, and answered, as the path {@code PATH@WHO}.
   */
  private Upstream upstream(java.util.function.ToIntFunction<String> size, AtomicBoolean overlap)
      throws Exception {
    Map<String, AtomicInteger> running = new ConcurrentHashMap<>();
    Upstream upstream = Upstream.start().handle("/", (exchange, unused) -> {
      String who = exchange.getRequestHeaders().getFirst("Authorization");
      String path = exchange.getRequestURI().getPath()
          + (who == null ? "" : "@" + who.substring("Bearer ".length()));
      AtomicInteger now = running.computeIfAbsent(path, p -> new AtomicInteger());
      if (now.incrementAndGet() > 1) {
        overlap.set(true);
      }
      try {
        int run = runs.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
        byte[] body = body(path, run, size.applyAsInt(exchange.getRequestURI().getPath()));
        exchange.getResponseHeaders().add("Content-Type", "application/octet-stream");
        exchange.sendResponseHeaders(201, body.length);
        exchange.getResponseBody().write(body);
      } finally {
        now.decrementAndGet();
      }
    });
    closing.add(upstream);
    return upstream;
  }

  private static byte[] body(String path, int run, int size) {
    byte[] head = (path + " run " + run + " ").getBytes(StandardCharsets.US_ASCII);
    byte[] body = new byte[Math.max(size, head.length)];
    Arrays.fill(body, (byte) 'x');
    System.arraycopy(head, 0, body, 0, head.length);
    return body;
  }

  private static String bodyText(String path, int run, int size) {
    return new String(body(path, run, size), StandardCharsets.US_ASCII);
  }

  private int runs(String path) {
    AtomicInteger count = runs.get(path);
    return count == null ? 0 : count.get();
  }

  private HttpResponse<String> post(URI uri, String key) throws Exception {
    return post(uri, key, null);
  }

  /** Posts as {@code who} ({@code Authorization: Bearer WHO}), or as nobody if null. */
  private HttpResponse<String> post(URI uri, String key, String who) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri)
        .timeout(Duration.ofSeconds(120))
        .header("Idempotency-Key", key)
        .POST(BodyPublishers.ofString("{\"amount\":1}"));
    if (who != null) {
      request.header("Authorization", "Bearer " + who);
    }
    return client.send(request.build(), BodyHandlers.ofString(StandardCharsets.US_ASCII));
  }

  private HttpResponse<String> get(URI uri) throws Exception {
    return client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60)).build(),
        BodyHandlers.ofString());
  }

  private static boolean replayed(HttpResponse<?> response) {
    return response.headers().firstValue("Idempotent-Replayed").orElse("").equals("true");
  }

  private static boolean notReplayable(HttpResponse<String> response) {
    return response.statusCode() == 409
        && response.headers().firstValue("Content-Type").orElse("")
            .equals("application/problem+json")
        && response.body().contains(
            "\"type\":\"" + ProblemType.RESPONSE_NOT_REPLAYABLE.uri() + "\"");
  }

  /**
   * Asserts a key's first answer (the upstream's, {@code expected}), its retry (a whole replay or
   * 409 {@code response-not-replayable}) and that the upstream ran it once.
   *
   * @return whether the retry was replayed
   */
  private boolean ranOnceAndRetryWasReplayed(String path, String expected,
      HttpResponse<String> answer, HttpResponse<String> again) {
    assertThat(answer.statusCode()).as("%s first: %s", path, answer.body()).isEqualTo(201);
    assertThat(replayed(answer)).as("%s first is no replay", path).isFalse();
    assertThat(answer.body()).as("%s first", path).isEqualTo(expected);
    assertThat(runs(path)).as("%s ran once", path).isEqualTo(1);
    if (notReplayable(again)) {
      assertProblem(again, 409, ProblemType.RESPONSE_NOT_REPLAYABLE.uri());
      return false;
    }
    assertThat(again.statusCode()).as("%s retry: %s", path, again.body()).isEqualTo(201);
    assertThat(replayed(again)).as("%s retry is a replay", path).isTrue();
    assertThat(again.body()).as("%s retry", path).isEqualTo(expected);
    return true;
  }

  private <T> List<T> onThreads(int threads, List<Callable<T>> tasks) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    closing.add(pool::shutdownNow);
    List<Future<T>> futures = pool.invokeAll(tasks, 240, TimeUnit.SECONDS);
    List<T> results = new ArrayList<>();
    for (Future<T> future : futures) {
      results.add(future.get());
    }
    return results;
  }

  private void assertStillAnswers(ProxyJar jar) throws Exception {
    HttpResponse<String> health = get(jar.uri("/_once/health"));
    HttpResponse<String> metrics = get(jar.uri("/_once/metrics"));
    assertThat(health.statusCode()).as("health: %s", health.body()).isEqualTo(200);
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.body()).contains("once_store_records");
    assertThat(jar.process.isAlive()).as("the proxy still runs").isTrue();
  }

  /**
   * 3,000 unique keys from 32 clients, each answered with 3 KiB, to a proxy whose JVM may take 2
   * MiB of direct memory (where the store keeps its records and responses): every first request
   * gets the upstream's answer and runs once, and the retry of every key is replayed whole or
   * told 409 {@code response-not-replayable}, never run again, never a 5xx.
   */
  @Test
  void aFloodOfKeysPastTheDirectMemoryLimitRunsEachOnceAndEveryRetryIsReplayedOrTold409()
      throws Exception {
    int keys = 3000;
    int size = 3 * 1024;
    AtomicBoolean overlap = new AtomicBoolean();
    Upstream upstream = upstream(path -> size, overlap);
    ProxyJar jar = ProxyJar.launched(Map.of("JAVA_OPTS", "-XX:MaxDirectMemorySize=2m"),
        "--listen", "127.0.0.1:0", "--upstream", upstream.uri().toString());
    closing.first(jar);
    jar.awaitReady();
    List<String> keyOf = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      keyOf.add(newKey());
    }

    List<Callable<HttpResponse<String>>> firsts = new ArrayList<>();
    List<Callable<HttpResponse<String>>> retries = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      URI uri = jar.uri("/flood/" + i);
      String key = keyOf.get(i);
      firsts.add(() -> post(uri, key));
      retries.add(() -> post(uri, key));
    }
    List<HttpResponse<String>> first = onThreads(32, firsts);
    List<HttpResponse<String>> retry = onThreads(32, retries);

    int replays = 0;
    int refusals = 0;
    for (int i = 0; i < keys; i++) {
      String path = "/flood/" + i;
      String expected = bodyText(path, 1, size);
      if (ranOnceAndRetryWasReplayed(path, expected, first.get(i), retry.get(i))) {
        replays++;
      } else {
        refusals++;
      }
    }
    assertThat(replays + refusals).isEqualTo(keys);
    assertThat(runs).hasSize(keys);
    assertThat(overlap).isFalse();
    assertStillAnswers(jar);
    System.out.printf("direct memory flood: %d keys, %d replayed, %d 409 not replayable%n",
        keys, replays, refusals);
  }

  /**
   * 1,000 keys of 255 characters (the longest a key may be, kept in slabs of their own outside the
   * slot, and scoped, so longer still in the store), each sent by two clients whose {@code
   * Authorization} differs, from 32 threads, to a proxy at 2 MiB of direct memory: each key runs
   * once in each scope, and every answer, first or retry, is that scope's own response (or, on a
   * retry, 409 {@code response-not-replayable}), never the other scope's.
   *
   * <p>It failed 7 runs of 8 while the store took direct memory to the JVM's limit (its key slabs
   * and segments grow in small steps): Jetty's own buffers were then refused, an upstream's 201 was
   * answered 502 {@code outcome-unknown} (a retry after the lease would run it again) or {@code
   * upstream-unavailable}, and connections, the health check's too, closed unanswered. The store
   * now leaves a quarter of the limit to the rest of the JVM.
   */
  @Test
  void longScopedKeysPastTheDirectMemoryLimitRunOnceInEachScopeAndNeverCrossScopes()
      throws Exception {
    int keys = 1000;
    int size = 2 * 1024;
    List<String> scopes = List.of("alice", "bob");
    AtomicBoolean overlap = new AtomicBoolean();
    Upstream upstream = upstream(path -> size, overlap);
    ProxyJar jar = ProxyJar.launched(Map.of("JAVA_OPTS", "-XX:MaxDirectMemorySize=2m"),
        "--listen", "127.0.0.1:0", "--upstream", upstream.uri().toString(),
        "--scope-header", "Authorization");
    closing.first(jar);
    jar.awaitReady();
    List<String> keyOf = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      String key = newKey();
      keyOf.add(key + "-".repeat(255 - key.length()));
    }

    List<Callable<HttpResponse<String>>> firsts = new ArrayList<>();
    List<Callable<HttpResponse<String>>> retries = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      for (String who : scopes) {
        URI uri = jar.uri("/long/" + i);
        String key = keyOf.get(i);
        firsts.add(() -> post(uri, key, who));
        retries.add(() -> post(uri, key, who));
      }
    }
    List<HttpResponse<String>> first = onThreads(32, firsts);
    List<HttpResponse<String>> retry = onThreads(32, retries);

    int replays = 0;
    int refusals = 0;
    for (int r = 0; r < first.size(); r++) {
      String path = "/long/" + r / scopes.size() + "@" + scopes.get(r % scopes.size());
      String expected = bodyText(path, 1, size);
      if (ranOnceAndRetryWasReplayed(path, expected, first.get(r), retry.get(r))) {
        replays++;
      } else {
        refusals++;
      }
    }
    assertThat(runs).hasSize(keys * scopes.size());
    assertThat(overlap).isFalse();
    assertStillAnswers(jar);
    System.out.printf("long scoped keys: %d records, %d replayed, %d 409 not replayable%n",
        first.size(), replays, refusals);
  }

  /**
   * 1,500 keys of 255 characters with a ttl of 4 s, at 2 MiB of direct memory (so records and
   * keys spill onto the heap), sent three times from 32 threads with one key polled between the
   * rounds until its record has expired: every answer is the key's own response (fresh, replayed,
   * or 409 {@code response-not-replayable}), and each key ran exactly as many times as it got a
   * fresh answer, once per record: expired records, wherever they were kept, let their keys run
   * once again, and no other does.
   */
  @Test
  void longKeysPastTheDirectMemoryLimitExpireAndRunOnceMorePerRecord() throws Exception {
    int keys = 1500;
    int size = 2 * 1024;
    AtomicBoolean overlap = new AtomicBoolean();
    Upstream upstream = upstream(path -> size, overlap);
    ProxyJar jar = ProxyJar.launched(Map.of("JAVA_OPTS", "-XX:MaxDirectMemorySize=2m"),
        "--listen", "127.0.0.1:0", "--upstream", upstream.uri().toString(), "--ttl", "4s");
    closing.first(jar);
    jar.awaitReady();
    List<String> keyOf = new ArrayList<>();
    List<Callable<HttpResponse<String>>> round = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      String key = newKey();
      keyOf.add(key + "=".repeat(255 - key.length()));
      URI uri = jar.uri("/expiring/" + i);
      String padded = keyOf.get(i);
      round.add(() -> post(uri, padded));
    }
    int[] fresh = new int[keys];
    int[] replays = new int[keys];
    int[] refusals = new int[keys];

    for (int r = 0; r < 3; r++) {
      List<HttpResponse<String>> answers = onThreads(32, round);
      for (int i = 0; i < keys; i++) {
        String path = "/expiring/" + i;
        HttpResponse<String> answer = answers.get(i);
        if (r > 0 && notReplayable(answer)) {
          refusals[i]++;
          continue;
        }
        assertThat(answer.statusCode()).as("%s round %d: %s", path, r, answer.body())
            .isEqualTo(201);
        assertThat(answer.body()).as(path).hasSize(size).startsWith(path + " run ");
        if (r > 0 && replayed(answer)) {
          replays[i]++;
        } else {
          fresh[i]++;
          assertThat(answer.body()).startsWith(path + " run " + fresh[i] + " ");
        }
      }
      // the first key runs again once its record has expired
      for (int n = 0; n < 1000 && runs("/expiring/0") == fresh[0]; n++) {
        Thread.sleep(20);
        assertThat(post(jar.uri("/expiring/0"), keyOf.get(0)).statusCode()).isIn(201, 409);
      }
      fresh[0] = runs("/expiring/0");
    }

    for (int i = 1; i < keys; i++) {
      assertThat(runs("/expiring/" + i)).as("key %d ran once per fresh answer", i)
          .isEqualTo(fresh[i]);
      assertThat(fresh[i]).as("key %d, sent three times", i).isBetween(1, 3);
    }
    assertThat(overlap).isFalse();
    assertStillAnswers(jar);
    System.out.printf("expiring long keys: %d runs, %d replays, %d 409 not replayable%n",
        Arrays.stream(fresh).sum(), Arrays.stream(replays).sum(), Arrays.stream(refusals).sum());
  }

  /**
   * 1,000 unique keys from 64 clients at once at {@code --memory-max-records 200}: no more than
   * the bound are admitted, and the rest get 503 {@code store-full} and never run.
   */
  @Test
  void sixtyFourClientsRacingForTheLastRecordsAdmitNoMoreThanTheBound() throws Exception {
    int bound = 200;
    int keys = 1000;
    AtomicBoolean overlap = new AtomicBoolean();
    Upstream upstream = upstream(path -> 64, overlap);
    ProxyJar jar = ProxyJar.listening(upstream.uri(), "--memory-max-records",
        Integer.toString(bound));
    closing.first(jar);
    List<Callable<HttpResponse<String>>> requests = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      String key = newKey();
      URI uri = jar.uri("/race/" + i);
      requests.add(() -> post(uri, key));
    }

    List<HttpResponse<String>> answers = onThreads(64, requests);

    int admitted = 0;
    for (int i = 0; i < keys; i++) {
      HttpResponse<String> answer = answers.get(i);
      if (answer.statusCode() == 503) {
        assertProblem(answer, 503, ProblemType.STORE_FULL.uri());
        assertThat(runs("/race/" + i)).isZero();
      } else {
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(201);
        assertThat(runs("/race/" + i)).isEqualTo(1);
        admitted++;
      }
    }
    System.out.printf("record race: %d of %d admitted at a bound of %d%n", admitted, keys, bound);
    assertThat(admitted).isEqualTo(bound);
  }

  /**
   * 32 clients send 384 requests on six keys whose responses are at {@code --max-response} (one
   * byte under, at, and one over it), four times the store's 1 MiB of responses, with {@code
   * --max-wait}: each key runs exactly once, never beside itself, and every other answer is a
   * whole replay of that key or 409 {@code response-not-replayable}.
   */
  @Test
  void manyClientsOnFewKeysWithResponsesAtTheBoundRunEachKeyExactlyOnce() throws Exception {
    FewKeys few = fewKeys(false);

    for (int i = 0; i < few.sizes.length; i++) {
      assertThat(few.fresh[i]).as("key %d ran once", i).isEqualTo(1);
      assertThat(few.gone[i]).as("key %d's waiters found its record", i).isZero();
    }
  }

  /**
   * The same while an operator deletes the six keys' records through the admin API, without
   * forcing, as fast as it is answered: a key runs again only after one of its records was
   * deleted, never beside its own run, and the upstream's runs of each key are exactly the answers
   * that were not replays. A duplicate that waited for a record deleted before it looked is told
   * to send it again (409 {@code request-in-progress}), as when the first request failed.
   */
  @Test
  void manyClientsOnFewKeysWhileAnOperatorDeletesTheirRecordsRunAKeyAgainOnlyAfterADelete()
      throws Exception {
    FewKeys few = fewKeys(true);

    for (int i = 0; i < few.sizes.length; i++) {
      int deletes = few.deleted.getOrDefault(i, new AtomicInteger()).get();
      assertThat(few.fresh[i]).as("key %d ran once, then at most once after each delete", i)
          .isBetween(1, 1 + deletes);
      if (deletes == 0) {
        assertThat(few.gone[i]).as("key %d's waiters found its record", i).isZero();
      }
    }
  }

  /** What {@link #fewKeys} saw, by key. */
  private static final class FewKeys {
    final int[] sizes;
    final int[] fresh;
    final int[] replays;
    final int[] refusals;
    final int[] gone;
    final Map<Integer, AtomicInteger> deleted;

    FewKeys(int[] sizes, Map<Integer, AtomicInteger> deleted) {
      this.sizes = sizes;
      this.fresh = new int[sizes.length];
      this.replays = new int[sizes.length];
      this.refusals = new int[sizes.length];
      this.gone = new int[sizes.length];
      this.deleted = deleted;
    }
  }

  /**
   * Runs the few keys' attack, with an operator deleting their records if {@code deleting}, and
   * asserts what holds either way: each answer is the key's whole response (fresh or replayed),
   * 409 {@code response-not-replayable}, or, only for a record deleted, 409 {@code
   * request-in-progress}; the upstream's runs of a key are its fresh answers and never overlap; a
   * response over the bound is never replayed; the proxy still answers its health check.
   */
  private FewKeys fewKeys(boolean deleting) throws Exception {
    int bound = 256 * 1024;
    int[] sizes = {bound - 1, bound, bound + 1, bound, bound - 1, bound + 1};
    int keys = sizes.length;
    AtomicBoolean overlap = new AtomicBoolean();
    Upstream upstream = upstream(
        path -> sizes[Integer.parseInt(path.substring("/few/".length()))], overlap);
    ProxyJar jar = ProxyJar.listening(upstream.uri(), "--max-response", "256KiB",
        "--memory-max-bytes", "1MiB", "--max-wait", "60s", "--admin-listen", "127.0.0.1:0");
    closing.first(jar);
    String admin = adminUri(jar);
    List<String> keyOf = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      keyOf.add(newKey());
    }

    CountDownLatch clientsDone = new CountDownLatch(1);
    FewKeys few = new FewKeys(sizes, new ConcurrentHashMap<>());
    ConcurrentLinkedQueue<String> badDeletes = new ConcurrentLinkedQueue<>();
    ExecutorService operators = Executors.newSingleThreadExecutor();
    closing.add(operators::shutdownNow);
    Future<?> operator = operators.submit(() -> {
      for (int round = 0; deleting && clientsDone.getCount() > 0; round++) {
        int i = round % keys;
        HttpResponse<String> answer = client.send(HttpRequest.newBuilder(
            URI.create(admin + "/_once/keys/" + keyOf.get(i))).DELETE()
            .timeout(Duration.ofSeconds(60)).build(), BodyHandlers.ofString());
        if (answer.statusCode() == 204) {
          few.deleted.computeIfAbsent(i, k -> new AtomicInteger()).incrementAndGet();
        } else if (answer.statusCode() != 404 && answer.statusCode() != 409) {
          badDeletes.add(answer.statusCode() + " " + answer.body());
        }
        Thread.sleep(5);
      }
      return null;
    });

    List<Callable<HttpResponse<String>>> requests = new ArrayList<>();
    List<Integer> keyOfRequest = new ArrayList<>();
    for (int thread = 0; thread < 32; thread++) {
      for (int n = 0; n < 12; n++) {
        int i = (thread + n) % keys;
        keyOfRequest.add(i);
        URI uri = jar.uri("/few/" + i);
        String key = keyOf.get(i);
        requests.add(() -> post(uri, key));
      }
    }
    List<HttpResponse<String>> answers;
    try {
      answers = onThreads(32, requests);
    } finally {
      clientsDone.countDown();
    }
    operator.get(60, TimeUnit.SECONDS);

    for (int r = 0; r < answers.size(); r++) {
      int i = keyOfRequest.get(r);
      String path = "/few/" + i;
      HttpResponse<String> answer = answers.get(r);
      if (notReplayable(answer)) {
        few.refusals[i]++;
        continue;
      }
      if (answer.statusCode() == 409 && answer.body().contains("ended without a response")) {
        assertProblem(answer, 409, ProblemType.REQUEST_IN_PROGRESS.uri());
        few.gone[i]++;
        continue;
      }
      assertThat(answer.statusCode()).as("%s: %s", path, answer.body()).isEqualTo(201);
      assertThat(answer.body()).as("%s's body", path).hasSize(sizes[i])
          .startsWith(path + " run ");
      if (replayed(answer)) {
        few.replays[i]++;
      } else {
        few.fresh[i]++;
      }
    }
    System.out.printf("few keys%s: fresh %s, replayed %s, 409 not replayable %s,"
        + " 409 gone %s, deleted %s%n", deleting ? " with deletes" : "",
        Arrays.toString(few.fresh), Arrays.toString(few.replays),
        Arrays.toString(few.refusals), Arrays.toString(few.gone), few.deleted);
    assertThat(badDeletes).isEmpty();
    assertThat(overlap).as("two runs of one key overlapped").isFalse();
    for (int i = 0; i < keys; i++) {
      assertThat(runs("/few/" + i)).as("key %d's runs are its fresh answers", i)
          .isEqualTo(few.fresh[i]);
      if (sizes[i] > bound) {
        assertThat(few.replays[i]).as("key %d's response is over the bound", i).isZero();
      }
    }
    assertStillAnswers(jar);
    return few;
  }

  private static String adminUri(ProxyJar jar) throws Exception {
    for (int i = 0; i < 6000; i++) {
      for (String line : jar.err()) {
        Matcher admin = ADMIN.matcher(line);
        if (admin.find()) {
          return admin.group(1);
        }
      }
      Thread.sleep(10);
    }
    throw new AssertionError("no admin line on stderr: " + jar.err());
  }

  /**
   * With {@code --memory-max-records 40}, 100 unique keys from 16 clients at once: the store
   * admits its bound, the rest get 503 {@code store-full} with {@code Retry-After} and never run.
   * As the admitted records' ttl passes, every refused key, retried, is accepted and runs once.
   */
  @Test
  void moreKeysThanTheRecordBoundGet503StoreFullNeverRunAndAreAcceptedOnceTheTtlHasPassed()
      throws Exception {
    int bound = 40;
    int keys = 100;
    AtomicBoolean overlap = new AtomicBoolean();
    Upstream upstream = upstream(path -> 64, overlap);
    ProxyJar jar = ProxyJar.listening(upstream.uri(), "--memory-max-records",
        Integer.toString(bound), "--ttl", "2s");
    closing.first(jar);
    List<String> keyOf = new ArrayList<>();
    List<Callable<HttpResponse<String>>> requests = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      String key = newKey();
      keyOf.add(key);
      URI uri = jar.uri("/full/" + i);
      requests.add(() -> post(uri, key));
    }

    List<HttpResponse<String>> answers = onThreads(16, requests);

    List<Integer> refused = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      HttpResponse<String> answer = answers.get(i);
      String path = "/full/" + i;
      if (answer.statusCode() == 503) {
        assertProblem(answer, 503, ProblemType.STORE_FULL.uri());
        assertThat(answer.headers().firstValue("Retry-After")).as(path).hasValueSatisfying(
            seconds -> assertThat(Integer.parseInt(seconds)).isPositive());
        assertThat(runs(path)).as("%s was refused and never ran", path).isZero();
        refused.add(i);
      } else {
        assertThat(answer.statusCode()).as("%s: %s", path, answer.body()).isEqualTo(201);
        assertThat(runs(path)).as("%s ran once", path).isEqualTo(1);
      }
    }
    System.out.printf("store full: %d of %d admitted at a bound of %d%n", keys - refused.size(),
        keys, bound);
    assertThat(keys - refused.size()).as("admitted").isEqualTo(bound);

    // the admitted records expire 2 s after they were stored: each refused key is then let in
    List<Callable<HttpResponse<String>>> later = new ArrayList<>();
    for (int i : refused) {
      URI uri = jar.uri("/full/" + i);
      String key = keyOf.get(i);
      later.add(() -> {
        HttpResponse<String> answer = post(uri, key);
        for (int n = 0; n < 1000 && answer.statusCode() == 503; n++) {
          Thread.sleep(20);
          answer = post(uri, key);
        }
        return answer;
      });
    }
    List<HttpResponse<String>> laterAnswers = onThreads(16, later);
    for (int r = 0; r < refused.size(); r++) {
      HttpResponse<String> answer = laterAnswers.get(r);
      String path = "/full/" + refused.get(r);
      assertThat(answer.statusCode()).as("%s later: %s", path, answer.body()).isEqualTo(201);
      assertThat(replayed(answer)).isFalse();
      assertThat(runs(path)).as("%s ran once", path).isEqualTo(1);
    }
    assertThat(runs).hasSize(keys);
    assertThat(overlap).isFalse();
    assertStillAnswers(jar);
  }
}
