package dev.once.proxy;

import static dev.once.proxy.ProxyMetricsTest.value;
import static dev.once.suite.Http.assertProblem;
import static dev.once.suite.Http.assertReplayed;
import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.postKeyed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.ProblemType;
import dev.once.suite.Http;
import dev.once.testing.Concurrently;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The keyed lane ({@link KeyedLane}): a keyed request whose body is all there is decided on
 * Jetty's core, its replay or refusal written there and its run handed to the filter; every other
 * keyed request (chunked, a body still arriving) goes through the filter as before. Both lanes
 * give the same answers for the same key: the same replay, header by header, the same fingerprint,
 * one execution between them.
 */
class ProxyKeyedLaneTest {
  private static final String BODY = "{\"amount\":42}";

  private Upstream upstream;
  private TestProxy proxy;

  @BeforeEach
  void start() throws Exception {
    upstream = Upstream.start().handle("/pay", (exchange, run) -> {
      exchange.getResponseHeaders().add("X-Multi", "a");
      exchange.getResponseHeaders().add("X-Multi", "b");
      exchange.getResponseHeaders().add("Location", "/pay/" + run);
      Upstream.respond(exchange, 201, "{\"run\":" + run + "}");
    });
    proxy = TestProxy.start("--upstream", upstream.uri().toString(), "--max-wait", "20s");
  }

  @AfterEach
  void stop() {
    proxy.close();
    upstream.close();
  }

  @Test
  void aReplayDecidedOnTheCoreIsTheReplayTheFilterWritesHeaderByHeader() throws Exception {
    String key = newKey();

    HttpResponse<String> first = chunked(key, BODY); // through the filter
    HttpResponse<String> core = postKeyed(proxy.uri("/pay"), key, BODY);
    HttpResponse<String> filter = chunked(key, BODY);

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).isEqualTo("{\"run\":1}");
    assertReplayed(core, 201, "{\"run\":1}");
    assertReplayed(filter, 201, "{\"run\":1}");
    assertThat(withoutDate(core.headers().map())).isEqualTo(withoutDate(filter.headers().map()))
        .containsEntry("x-multi", List.of("a", "b"))
        .containsEntry("location", List.of("/pay/1"))
        .containsEntry("content-length", List.of("9"));
    assertThat(core.headers().firstValue("date")).isPresent();
    assertThat(upstream.hits("/pay")).isEqualTo(1);
  }

  @Test
  void aKeyFirstRunOnTheCoreIsReplayedThroughTheFilterAndAChangedBodyIsRefusedOnBoth()
      throws Exception {
    String key = newKey();

    HttpResponse<String> first = postKeyed(proxy.uri("/pay"), key, BODY);
    HttpResponse<String> filter = chunked(key, BODY);
    HttpResponse<String> changedOnCore = postKeyed(proxy.uri("/pay"), key, "{\"amount\":43}");
    HttpResponse<String> changedOnFilter = chunked(key, "{\"amount\":43}");

    assertThat(first.body()).isEqualTo("{\"run\":1}");
    assertReplayed(filter, 201, "{\"run\":1}");
    assertProblem(changedOnCore, ProblemType.KEY_REUSED);
    assertProblem(changedOnFilter, ProblemType.KEY_REUSED);
    assertThat(changedOnCore.body()).isEqualTo(changedOnFilter.body());
    assertThat(withoutDate(changedOnCore.headers().map()))
        .isEqualTo(withoutDate(changedOnFilter.headers().map()));
    assertThat(upstream.hits("/pay")).isEqualTo(1);
  }

  @Test
  void theUpstreamGetsTheWholeBodyOfARequestDecidedOnTheCore() throws Exception {
    String body = "{\"note\":\"" + "x".repeat(40_000) + "\"}";

    HttpResponse<String> first = postKeyed(proxy.uri("/pay"), newKey(), body);
    HttpResponse<String> empty = postKeyed(proxy.uri("/pay"), newKey(), "");

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(upstream.next().body()).isEqualTo(body);
    assertThat(empty.statusCode()).isEqualTo(201);
    assertThat(upstream.next().body()).isEmpty();
  }

  @Test
  void aBodyStillArrivingIsReadByTheFilterAndTheKeyedRequestRunsOnce() throws Exception {
    String key = newKey();
    String head = "POST /pay HTTP/1.1\r\nHost: localhost\r\nIdempotency-Key: " + key
        + "\r\nContent-Type: application/json\r\nContent-Length: " + BODY.length()
        + "\r\nConnection: close\r\n\r\n";
    String answer;
    try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write((head + BODY.substring(0, 5)).getBytes(StandardCharsets.US_ASCII));
      out.flush();
      Thread.sleep(300); // the proxy has the head and part of the body: it cannot wait here
      out.write(BODY.substring(5).getBytes(StandardCharsets.US_ASCII));
      out.flush();
      answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }
    HttpResponse<String> retry = postKeyed(proxy.uri("/pay"), key, BODY);

    assertThat(answer).startsWith("HTTP/1.1 201 ").endsWith("{\"run\":1}");
    assertThat(upstream.next().body()).isEqualTo(BODY);
    assertReplayed(retry, 201, "{\"run\":1}");
    assertThat(upstream.hits("/pay")).isEqualTo(1);
  }

  @Test
  void aClientThatHangsUpHalfWayThroughItsBodyTakesNoKey() throws Exception {
    String key = newKey();
    try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
      socket.getOutputStream().write(("POST /pay HTTP/1.1\r\nHost: localhost\r\nIdempotency-Key: "
          + key + "\r\nContent-Length: 100\r\n\r\n{\"amount\"")
          .getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
    }

    HttpResponse<String> retry = Http.postKeyedUntilNot409(proxy.uri("/pay"), key, BODY);

    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(upstream.hits("/pay")).isEqualTo(1);
  }

  /**
   * Refusals on the core read the body first, so the connection carries the next request: two
   * requests written at once (a bad key, then a changed body, then a good one) get three answers.
   */
  @Test
  void pipelinedRequestsAfterACoreRefusalAreEachAnsweredOnTheSameConnection() throws Exception {
    String key = newKey();
    assertThat(postKeyed(proxy.uri("/pay"), key, BODY).statusCode()).isEqualTo(201);
    String pipelined = keyedRaw("bad key", BODY, false) + keyedRaw(key, "{\"amount\":1}", false)
        + keyedRaw(key, BODY, true);

    String answers = Http.raw(proxy.port(), pipelined);

    List<String> statuses = statusLines(answers);
    assertThat(statuses).containsExactly("HTTP/1.1 400 Bad Request",
        "HTTP/1.1 422 Unprocessable Entity", "HTTP/1.1 201 Created");
    assertThat(answers).contains("Idempotent-Replayed: true").endsWith("{\"run\":1}");
    assertThat(upstream.hits("/pay")).isEqualTo(1);
  }

  /**
   * A hundred duplicates at once while the first runs, half decided on the core and half through
   * the filter: one execution, and every duplicate waits for it and gets its replay.
   */
  @Test
  void aHundredDuplicatesAcrossBothLanesWaitForTheOneExecutionAndGetItsReplay()
      throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (Upstream slow = Upstream.start().handle("/slow", Upstream.jsonAfter(release, 201));
        TestProxy waiting = TestProxy.start("--upstream", slow.uri().toString(),
            "--max-wait", "60s")) {
      String key = newKey();
      ExecutorService pool = Executors.newSingleThreadExecutor();
      try {
        Future<HttpResponse<String>> first =
            pool.submit(() -> postKeyed(waiting.uri("/slow"), key, BODY));
        while (slow.hits("/slow") < 1) {
          Thread.sleep(5); // the first request has reached the upstream and holds the key
        }
        Thread releaser = new Thread(() -> {
          try {
            Thread.sleep(500); // the duplicates are parked by now, most of them
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          release.countDown();
        });
        releaser.start();

        List<HttpResponse<String>> duplicates = Concurrently.run(100, i -> i % 2 == 0
            ? postKeyed(waiting.uri("/slow"), key, BODY)
            : send(chunkedRequest(waiting, "/slow", key, BODY)));
        releaser.join();

        assertThat(first.get().statusCode()).isEqualTo(201);
        assertThat(first.get().body()).isEqualTo("{\"run\":1}");
        assertThat(duplicates).allSatisfy(r -> assertReplayed(r, 201, "{\"run\":1}"));
        assertThat(slow.hits("/slow")).isEqualTo(1);
      } finally {
        release.countDown();
        pool.shutdownNow();
      }
    }
  }

  @Test
  void oneKeyFromTwoHundredClientsAcrossBothLanesRunsTheUpstreamExactlyOnce() throws Exception {
    String key = newKey();

    List<HttpResponse<String>> answers = Concurrently.run(200,
        i -> i % 2 == 0 ? postKeyed(proxy.uri("/pay"), key, BODY) : chunked(key, BODY));

    assertThat(answers).filteredOn(r -> r.statusCode() == 201
        && r.headers().firstValue("Idempotent-Replayed").isEmpty()).hasSize(1);
    assertThat(answers).allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(201));
    assertThat(upstream.hits("/pay")).isEqualTo(1);
  }

  /**
   * Replays are written on the thread that read the request, without blocking it: thirty clients
   * that ask for a 3 MB replay and never read it leave the proxy answering everyone else.
   */
  @Test
  void clientsThatNeverReadABigReplayLeaveTheProxyAnsweringOthers() throws Exception {
    String big = "x".repeat(3 * 1024 * 1024);
    upstream.handle("/big", (exchange, run) -> Upstream.respond(exchange, 201, big));
    try (TestProxy roomy = TestProxy.start("--upstream", upstream.uri().toString(),
        "--max-response", "8MiB")) {
      String key = newKey();
      assertThat(postKeyed(roomy.uri("/big"), key, BODY).body()).hasSize(big.length());
      List<Socket> stalled = new ArrayList<>();
      try {
        for (int i = 0; i < 30; i++) {
          Socket socket = new Socket("127.0.0.1", roomy.port());
          socket.setReceiveBufferSize(4096);
          socket.getOutputStream().write(keyedRaw(key, BODY, false).replace("/pay", "/big")
              .getBytes(StandardCharsets.US_ASCII));
          socket.getOutputStream().flush();
          stalled.add(socket); // never read
        }

        HttpResponse<String> replay = postKeyed(roomy.uri("/big"), key, BODY);
        HttpResponse<String> other = postKeyed(roomy.uri("/pay"), newKey(), BODY);
        HttpResponse<String> unkeyed = postKeyed(roomy.uri("/pay"), null, BODY);

        assertThat(replay.statusCode()).isEqualTo(201);
        assertThat(replay.body()).hasSize(big.length());
        assertThat(other.statusCode()).isEqualTo(201);
        assertThat(unkeyed.statusCode()).isEqualTo(201);
        assertThat(upstream.hits("/big")).isEqualTo(1);
      } finally {
        for (Socket socket : stalled) {
          socket.close();
        }
      }
    }
  }

  @Test
  void replaysOnTheCoreAreCountedAsReplays() throws Exception {
    String key = newKey();
    postKeyed(proxy.uri("/pay"), key, BODY);
    for (int i = 0; i < 4; i++) {
      assertReplayed(postKeyed(proxy.uri("/pay"), key, BODY), 201, "{\"run\":1}");
    }
    postKeyed(proxy.uri("/pay"), key, "{}");

    String metrics = Http.send(HttpRequest.newBuilder(proxy.uri("/_once/metrics"))).body();

    assertThat(value(metrics, "once_requests_total{outcome=\"executed\"}")).isEqualTo(1);
    assertThat(value(metrics, "once_requests_total{outcome=\"replayed\"}")).isEqualTo(4);
    assertThat(value(metrics, "once_requests_total{outcome=\"mismatch\"}")).isEqualTo(1);
  }

  private HttpResponse<String> chunked(String key, String body) throws Exception {
    return send(chunkedRequest(proxy, "/pay", key, body));
  }

  /** A keyed POST whose body has no declared length: it is sent chunked, so the filter reads it. */
  private static HttpRequest.Builder chunkedRequest(TestProxy to, String path, String key,
      String body) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    return HttpRequest.newBuilder(to.uri(path))
        .header("Idempotency-Key", key)
        .header("Content-Type", "application/json")
        .POST(BodyPublishers.ofInputStream(() -> (InputStream) new ByteArrayInputStream(bytes)));
  }

  private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return Http.send(request);
  }

  private static String keyedRaw(String key, String body, boolean last) {
    return "POST /pay HTTP/1.1\r\nHost: localhost\r\nIdempotency-Key: " + key
        + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n"
        + (last ? "Connection: close\r\n" : "") + "\r\n" + body;
  }

  private static List<String> statusLines(String answers) {
    Matcher status = Pattern.compile("HTTP/1\\.1 \\d{3} [^\r]*").matcher(answers);
    List<String> lines = new ArrayList<>();
    while (status.find()) {
      lines.add(status.group());
    }
    return lines;
  }

  private static Map<String, List<String>> withoutDate(Map<String, List<String>> headers) {
    Map<String, List<String>> copy = new TreeMap<>(headers);
    copy.remove("date");
    return copy;
  }

}
