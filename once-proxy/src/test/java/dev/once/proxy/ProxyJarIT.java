package dev.once.proxy;

import static dev.once.suite.Http.assertProblem;
import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.post;
import static dev.once.suite.Http.postKeyed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.ProblemType;
import dev.once.suite.Http;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ListAssert;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The packaged jar, run as a process the way the README runs it. */
class ProxyJarIT {
  private final List<ProxyJar> jars = new ArrayList<>();

  @AfterEach
  void killLeftovers() {
    jars.forEach(ProxyJar::close);
  }

  private ProxyJar jar(String... args) throws IOException {
    ProxyJar jar = ProxyJar.start(args);
    jars.add(jar);
    return jar;
  }

  @Test
  void withoutAnUpstreamItServesTheDemoAndTheReadmeSessionHoldsThenSigtermExits0()
      throws Exception {
    ProxyJar jar = jar("--listen", "127.0.0.1:0");
    int port = jar.awaitReady();
    URI payments = URI.create("http://127.0.0.1:" + port + "/payments");

    HttpResponse<String> first = postKeyed(payments, "unique-request-id", "{\"amount\": 100}");
    HttpResponse<String> retry = postKeyed(payments, "unique-request-id", "{\"amount\": 100}");
    HttpResponse<String> changed = postKeyed(payments, "unique-request-id", "{\"amount\": 500}");
    HttpResponse<String> count = Http.send(HttpRequest.newBuilder(payments).GET());
    HttpResponse<String> health = Http.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + port + "/_once/health")).GET());

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body().trim())
        .isEqualTo("{\"id\":\"pay_1\",\"status\":\"created\",\"executions\":1}");
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body());
    assertProblem(changed, 422, ProblemType.KEY_REUSED.uri());
    assertThat(count.body().trim()).isEqualTo("{\"executions\":1}");
    assertThat(health.statusCode()).isEqualTo(200);

    jar.sigterm();
    assertThat(jar.awaitExit()).isZero();
    assertThat(jar.out).as("stdout").hasSize(1);
    assertThat(jar.err).containsExactly(
        "once-proxy: no --upstream given: forwarding to the built-in demo upstream"
            + " (POST /payments)",
        "once-proxy: SIGTERM: no new connections; finishing the requests in flight",
        "once-proxy: stopped");
  }

  @Test
  void sigtermRefusesNewConnectionsAndLetsTheRequestInFlightFinishThenExits0() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (Upstream upstream = Upstream.start().handle("/slow", Upstream.jsonAfter(release, 201))) {
      ProxyJar jar = jar("--listen", "127.0.0.1:0", "--upstream", upstream.uri().toString(),
          "--upstream-timeout", "20s");
      int port = jar.awaitReady();
      CompletableFuture<HttpResponse<String>> inFlight = Http.CLIENT.sendAsync(
          post(URI.create("http://127.0.0.1:" + port + "/slow"), newKey(), "{}").build(),
          BodyHandlers.ofString());
      for (int i = 0; i < 2000 && upstream.hits("/slow") == 0; i++) {
        Thread.sleep(10);
      }
      assertThat(upstream.hits("/slow")).isEqualTo(1);

      jar.sigterm();
      ProxyKeyedCallTest.RawClient.awaitConnectionRefused(port, 10, "SIGTERM");
      assertThat(jar.process.isAlive()).as("still finishing the request in flight").isTrue();
      release.countDown();

      HttpResponse<String> response = inFlight.get(30, TimeUnit.SECONDS);
      assertThat(response.statusCode()).isEqualTo(201);
      assertThat(response.body()).isEqualTo("{\"run\":1}");
      assertThat(jar.awaitExit()).isZero();
      assertThat(jar.err).containsExactly(
          "once-proxy: SIGTERM: no new connections; finishing the requests in flight",
          "once-proxy: stopped");
    } finally {
      release.countDown();
    }
  }

  @Test
  void theLauncherRunsTheProxyWithSidecarSettingsThatJavaOptsOverride() throws Exception {
    ProxyJar sidecar = ProxyJar.launched(Map.of(), "--listen", "127.0.0.1:0");
    jars.add(sidecar);
    int port = sidecar.awaitReady();
    ProxyJar raised = ProxyJar.launched(Map.of("JAVA_OPTS", "-Xmx200m -XX:+UseParallelGC"),
        "--listen", "127.0.0.1:0");
    jars.add(raised);
    raised.awaitReady();

    assertThat(sidecar.vmFlags()).contains("-XX:+UseSerialGC", "-XX:MaxHeapSize=402653184",
        "-XX:InitialHeapSize=33554432", "-XX:+ExitOnOutOfMemoryError");
    assertThat(raised.vmFlags()).contains("-XX:+UseParallelGC", "-XX:MaxHeapSize=209715200")
        .doesNotContain("-XX:+UseSerialGC");
    HttpResponse<String> paid = postKeyed(
        URI.create("http://127.0.0.1:" + port + "/payments"), newKey(), "{\"amount\": 1}");
    assertThat(paid.statusCode()).isEqualTo(201);
  }

  @Test
  void aBadFlagExitsNonZeroWithOneLineOnStandardError() throws Exception {
    ProxyJar jar = jar("--ttl", "5x");

    assertExitedWithoutOutput(jar, 2).containsExactly("once-proxy: --ttl: \"5x\" is not a"
        + " duration (use 500ms, 30s, 5m, 24h, 1h30m or ISO-8601 like PT30S)");
  }

  /** Every value is held to what the engine accepts before the proxy opens its store. */
  @Test
  void aValueBeyondWhatTheEngineAcceptsStopsTheProxyAtStartWithOneLineAndStatus2()
      throws Exception {
    Map<List<String>, String> refused = new LinkedHashMap<>();
    refused.put(List.of("--ttl", "200000d"), "once-proxy: --ttl 200000d: ttl must be at most"
        + " 36500 days (100 years), but was PT4800000H");
    refused.put(List.of("--max-wait", "200000000000d"), "once-proxy: --max-wait 200000000000d:"
        + " maxWait must be at most 36500 days (100 years), but was PT4800000000000H");
    refused.put(List.of("--lease", "1ms"), "once-proxy: --lease 1ms: lease must be at least 3"
        + " milliseconds (it is renewed every third), but was PT0.001S");
    refused.put(List.of("--max-body", "4GiB"), "once-proxy: --max-body 4GiB: maxBodyBytes must be"
        + " between 0 and 2147483639, but was 4294967296");
    refused.put(List.of("--max-response", "2GiB"), "once-proxy: --max-response 2GiB:"
        + " maxResponseBytes must be between 0 and 2147483639, but was 2147483648");
    refused.put(List.of("--ttl", "0s"), "once-proxy: --ttl 0s: ttl must be positive, but was"
        + " PT0S");
    refused.put(List.of("--upstream-timeout", "36501d"), "once-proxy: --upstream-timeout 36501d:"
        + " upstream-timeout must be at most 36500 days (100 years), but was PT876024H");
    refused.put(List.of("--unknown-outcome", "sometimes"), "once-proxy: --unknown-outcome:"
        + " \"sometimes\" is not retry or keep");
    refused.put(List.of("--body-timeout", "0s"), "once-proxy: --body-timeout 0s: bodyTimeout"
        + " must be positive, but was PT0S");
    refused.put(List.of("--memory-max-records", "0"), "once-proxy: --memory-max-records 0:"
        + " maximumRecords must be positive, but was 0");
    // refused before the store is opened: nothing listens there
    refused.put(List.of("--store", "redis://127.0.0.1:1", "--memory-max-bytes", "1GiB"),
        "once-proxy: --memory-max-bytes: applies only to --store memory, but the store is"
            + " redis://127.0.0.1:1");
    Map<List<String>, ProxyJar> started = new LinkedHashMap<>();
    for (List<String> args : refused.keySet()) {
      List<String> line = new ArrayList<>(List.of("--listen", "127.0.0.1:0"));
      line.addAll(args);
      started.put(args, jar(line.toArray(new String[0])));
    }
    ProxyJar fromEnvironment = ProxyJar.start(Map.of("ONCE_UPSTREAM_DEADLINE", "0"),
        "--listen", "127.0.0.1:0");
    jars.add(fromEnvironment);

    for (Map.Entry<List<String>, ProxyJar> run : started.entrySet()) {
      assertExitedWithoutOutput(run.getValue(), 2).as("%s", run.getKey())
          .containsExactly(refused.get(run.getKey()));
    }
    assertThat(fromEnvironment.awaitExit()).isEqualTo(2);
    assertThat(fromEnvironment.err).containsExactly("once-proxy: ONCE_UPSTREAM_DEADLINE=0:"
        + " upstream-deadline must be at least 1 millisecond, but was PT0S");
  }

  @Test
  void aStoreThisBuildLacksExitsNonZeroWithOneLineOnStandardError() throws Exception {
    ProxyJar jar = jar("--listen", "127.0.0.1:0", "--store", "nosuchstore://:secret@db:1");

    assertExitedWithoutOutput(jar, 2).singleElement().asString()
        .startsWith("once-proxy: --store nosuchstore://***@db:1: the nosuchstore store is not"
            + " available in this build (available: jdbc:postgresql, memory, redis, redis-cluster,"
            + " redis-sentinel, rediss, rediss-cluster, rediss-sentinel)");
        // the shaded jar kept every store module's service registration
  }

  @Test
  void anUnreachableSharedStoreExitsNonZeroWithOneLineOnStandardError() throws Exception {
    ProxyJar redis = jar("--listen", "127.0.0.1:0", "--store", "redis://:secret@127.0.0.1:1");
    ProxyJar postgres = jar("--listen", "127.0.0.1:0", "--store",
        "jdbc:postgresql://127.0.0.1:1/db?user=once&password=secret");

    for (ProxyJar jar : List.of(redis, postgres)) {
      assertExitedWithoutOutput(jar, 1).singleElement().asString()
          .startsWith("once-proxy: ").contains("127.0.0.1:1").doesNotContain("secret");
    }
  }

  @Test
  void helpListsTheFlagsAndExits0() throws Exception {
    ProxyJar jar = jar("--help");

    assertThat(jar.awaitExit()).isZero();
    assertThat(String.join("\n", jar.out)).isEqualTo(ProxyOptions.help().stripTrailing());
    assertThat(jar.err).isEmpty();
  }

  /**
   * Asserts that {@code jar} exited with {@code status} having written nothing to standard output.
   *
   * @return an assertion on what it wrote to standard error
   */
  private static ListAssert<String> assertExitedWithoutOutput(ProxyJar jar, int status)
      throws Exception {
    assertThat(jar.awaitExit()).as("the exit status, after %s", jar.err).isEqualTo(status);
    assertThat(jar.out).as("the standard output, beside %s", jar.err).isEmpty();
    return assertThat(jar.err);
  }
}
