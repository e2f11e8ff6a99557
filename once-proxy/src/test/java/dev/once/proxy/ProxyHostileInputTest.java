package dev.once.proxy;

import static dev.once.suite.Http.assertProblem;
import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.postKeyed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.ProblemType;
import dev.once.suite.Http;
import dev.once.testing.Closing;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a hostile client (or a misbehaving upstream) gets from the proxy, in this JVM against a real
 * upstream (issue 12): a method spelled in another case is still covered and forwarded as sent,
 * an upstream's own replay marker is not passed on, a body that does not arrive in time takes no
 * key, malformed requests and upstream failures are answered without the proxy's insides, and the
 * memory store's bounds never let a request run twice.
 */
class ProxyHostileInputTest {
  @RegisterExtension final Closing closing = new Closing();
  private final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();

  /** An upstream that counts its runs by method and path, and answers 201 naming the run. */
  private Upstream upstream() throws Exception {
    Upstream upstream = Upstream.start().handle("/", (exchange, run) -> {
      String what = exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath();
      int count = runs.computeIfAbsent(what, w -> new AtomicInteger()).incrementAndGet();
      Upstream.respond(exchange, 201, "{\"method\":\"" + exchange.getRequestMethod()
          + "\",\"run\":" + count + "}");
    });
    closing.add(upstream);
    return upstream;
  }

  private TestProxy proxy(String... flags) {
    TestProxy proxy = TestProxy.start(flags);
    closing.first(proxy);
    return proxy;
  }

  private int runs(String method, String path) {
    AtomicInteger count = runs.get(method + " " + path);
    return count == null ? 0 : count.get();
  }

  private static HttpResponse<String> send(URI uri, String method, String key, String body)
      throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri)
        .timeout(java.time.Duration.ofSeconds(30))
        .method(method, BodyPublishers.ofString(body));
    if (key != null) {
      request.header("Idempotency-Key", key);
    }
    return Http.send(request);
  }

  /** Nothing of the proxy's insides in an answer: no exception, class, frame, upstream address. */
  private static void assertNoInsides(String response, int upstreamPort) {
    assertThat(response)
        .doesNotContain("Exception")
        .doesNotContain("java.")
        .doesNotContain("org.eclipse")
        .doesNotContain("dev.once")
        .doesNotContain("\tat ")
        .doesNotContain(":" + upstreamPort);
  }

  @Test
  void withRequireKeyEverySpellingOfACoveredMethodWithoutAKeyGets400() throws Exception {
    Upstream upstream = upstream();
    TestProxy proxy = proxy("--upstream", upstream.uri().toString(), "--require-key");

    for (String method : List.of("post", "Post", "pOST", "patch")) {
      HttpResponse<String> response = send(proxy.uri("/payments"), method, null, "{}");

      assertProblem(response, 400, ProblemType.KEY_MISSING.uri());
    }
    assertThat(runs).isEmpty();
  }

  @Test
  void everySpellingOfACoveredMethodRunsOnceIsReplayedAndReachesTheUpstreamAsSent()
      throws Exception {
    Upstream upstream = upstream();
    TestProxy proxy = proxy("--upstream", upstream.uri().toString(), "--require-key");

    for (String method : List.of("post", "Post", "pOST", "patch")) {
      String key = newKey();
      String path = "/payments/" + method;
      HttpResponse<String> first = send(proxy.uri(path), method, key, "{\"amount\":1}");
      HttpResponse<String> retry = send(proxy.uri(path), method, key, "{\"amount\":1}");

      assertThat(first.statusCode()).as(method).isEqualTo(201);
      assertThat(first.body()).isEqualTo("{\"method\":\"" + method + "\",\"run\":1}");
      assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();
      assertThat(retry.statusCode()).as(method).isEqualTo(201);
      assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(retry.body()).isEqualTo(first.body());
      assertThat(runs(method, path)).as("%s reached the upstream as sent, once", method)
          .isEqualTo(1);
    }
    assertThat(runs).hasSize(4);
  }

  /** The first response is the upstream's without its own marker; the replay is the proxy's. */
  @Test
  void anUpstreamsOwnReplayMarkerIsNotPassedOnAndAReplayCarriesAFreshDate() throws Exception {
    RawUpstream upstream = new RawUpstream((socket, out) -> out.write(("HTTP/1.1 201 Created\r\n"
        + "Date: Sat, 01 Jan 2000 00:00:00 GMT\r\nIdempotent-Replayed: true\r\n"
        + "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)));
    closing.add(upstream);
    TestProxy proxy = proxy("--upstream", upstream.uri().toString());
    String key = newKey();
    Instant before = Instant.now().minusSeconds(2);

    HttpResponse<String> first = postKeyed(proxy.uri("/payments"), key, "{}");
    HttpResponse<String> replay = postKeyed(proxy.uri("/payments"), key, "{}");
    HttpResponse<String> unkeyed = postKeyed(proxy.uri("/payments"), null, "{}");

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.headers().allValues("Idempotent-Replayed")).isEmpty();
    assertThat(replay.headers().allValues("Idempotent-Replayed")).containsExactly("true");
    assertThat(replay.headers().allValues("Date")).singleElement().satisfies(date ->
        assertThat(ZonedDateTime.parse(date, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant())
            .isAfter(before));
    assertThat(unkeyed.headers().allValues("Idempotent-Replayed"))
        .as("a request the proxy did not key is passed on as the upstream answered it")
        .containsExactly("true");
    assertThat(upstream.requests()).isEqualTo(2);
  }

  @Test
  void aKeyedBodyThatDoesNotArriveInTimeGets408AndTakesNoKey() throws Exception {
    Upstream upstream = upstream();
    TestProxy proxy = proxy("--upstream", upstream.uri().toString(), "--body-timeout", "500ms");
    String key = newKey();

    String answer = Http.raw(proxy.port(), "POST /payments HTTP/1.1\r\nHost: localhost\r\n"
        + "Idempotency-Key: " + key + "\r\nContent-Length: 100\r\n\r\n{");

    assertThat(answer).startsWith("HTTP/1.1 408 ")
        .contains("Content-Type: application/problem+json")
        .contains("\"type\":\"" + ProblemType.BODY_TIMEOUT.uri() + "\"");
    assertNoInsides(answer, upstream.port());
    assertThat(runs).isEmpty();
    HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{}");
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(runs("POST", "/payments")).isEqualTo(1);
  }

  /**
   * Jetty's server takes a query with a malformed escape that its proxy servlet's {@code
   * URI.create} refuses: that was a 500 whose detail was the exception's text, with the upstream's
   * address in it. It is a 400 now, and a keyed one keeps no record.
   */
  @Test
  void aQueryTheUpstreamUriCannotHoldIs400WithoutTheProxysInsides() throws Exception {
    Upstream upstream = upstream();
    TestProxy proxy = proxy("--upstream", upstream.uri().toString());
    String key = newKey();

    String unkeyed = Http.raw(proxy.port(), "GET /payments?a=%zz HTTP/1.1\r\nHost: localhost\r\n"
        + "Connection: close\r\n\r\n");
    String keyed = keyedMalformed(proxy, key);
    String again = keyedMalformed(proxy, key);

    for (String answer : List.of(unkeyed, keyed, again)) {
      assertThat(answer).startsWith("HTTP/1.1 400 ")
          .contains("Content-Type: application/problem+json")
          .contains("\"detail\":\"the request's target is not a valid URI");
      assertNoInsides(answer, upstream.port());
    }
    assertThat(runs).isEmpty();
  }

  private static String keyedMalformed(TestProxy proxy, String key) throws Exception {
    return Http.raw(proxy.port(), "POST /payments?a=%zz HTTP/1.1\r\nHost: localhost\r\n"
        + "Idempotency-Key: " + key + "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
  }

  /**
   * An upstream that answers bytes that are not HTTP: the 502 says the upstream failed, and names
   * no exception (it named the failure's class before).
   */
  @Test
  void anUpstreamAnsweringGarbageGets502WithoutAnExceptionsName() throws Exception {
    RawUpstream upstream = new RawUpstream((socket, out) -> {
      out.write("HTTP/1.1 2x1 NotAStatus\r\n\r\n"
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      out.flush();
    });
    closing.add(upstream);
    TestProxy proxy = proxy("--upstream", upstream.uri().toString());

    HttpResponse<String> keyed = postKeyed(proxy.uri("/payments"), newKey(), "{}");
    HttpResponse<String> unkeyed = postKeyed(proxy.uri("/payments"), null, "{}");

    assertThat(keyed.statusCode()).isEqualTo(502);
    assertThat(unkeyed.statusCode()).isEqualTo(502);
    for (HttpResponse<String> response : List.of(keyed, unkeyed)) {
      assertThat(response.headers().firstValue("Content-Type"))
          .hasValue("application/problem+json");
      assertNoInsides(response.body(), upstream.uri().getPort());
    }
  }

  /**
   * Framing tricks a request-smuggling attacker tries: each is refused before the upstream sees it,
   * with a problem, and takes no key (the same key, sent well-formed, then runs); a body that never
   * ends is answered at the body deadline.
   */
  @Test
  void framingTricksAreRefusedBeforeTheUpstreamAndTakeNoKey() throws Exception {
    Upstream upstream = upstream();
    TestProxy proxy = proxy("--upstream", upstream.uri().toString(), "--body-timeout", "1s");
    Map<String, String> refused = new java.util.LinkedHashMap<>();
    refused.put("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        "400 about:blank");
    refused.put("Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "400 about:blank");
    refused.put("Content-Length: 2, 2\r\n\r\n{}", "400 about:blank");
    refused.put("Content-Length: +2\r\n\r\n{}", "400 about:blank");
    refused.put("Transfer-Encoding: chunked, identity\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        "400 about:blank");
    refused.put("Transfer-Encoding: xchunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", "400 about:blank");
    refused.put("X-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\n{}", "400 about:blank");
    refused.put("Host: another\r\nContent-Length: 2\r\n\r\n{}", "400 about:blank");
    refused.put("Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
        "400 " + ProblemType.BODY_UNREADABLE.uri());
    refused.put("Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n",
        "408 " + ProblemType.BODY_TIMEOUT.uri());
    List<String> keys = new ArrayList<>();

    for (Map.Entry<String, String> trick : refused.entrySet()) {
      String key = newKey();
      keys.add(key);
      String answer = Http.raw(proxy.port(), "POST /payments HTTP/1.1\r\nHost: localhost\r\n"
          + "Idempotency-Key: " + key + "\r\nConnection: close\r\n" + trick.getKey());
      String[] expected = trick.getValue().split(" ");

      assertThat(answer).as(trick.getKey()).startsWith("HTTP/1.1 " + expected[0] + " ")
          .contains("Content-Type: application/problem+json")
          .contains("\"type\":\"" + expected[1] + "\"");
      assertNoInsides(answer, upstream.port());
    }
    assertThat(runs).isEmpty();
    for (String key : keys) {
      HttpResponse<String> wellFormed = postKeyed(proxy.uri("/payments"), key, "{}");
      assertThat(wellFormed.statusCode()).isEqualTo(201);
      assertThat(wellFormed.headers().firstValue("Idempotent-Replayed")).isEmpty();
    }
    assertThat(runs("POST", "/payments")).isEqualTo(keys.size());
  }

  /** A request hidden after a keyed body is a request of its own, framed as Jetty reads it. */
  @Test
  void aRequestPipelinedBehindAKeyedBodyIsARequestOfItsOwn() throws Exception {
    Upstream upstream = upstream();
    TestProxy proxy = proxy("--upstream", upstream.uri().toString());
    String key = newKey();

    String answer = Http.raw(proxy.port(), "POST /payments HTTP/1.1\r\nHost: localhost\r\n"
        + "Idempotency-Key: " + key + "\r\nContent-Length: 2\r\n\r\n{}"
        + "POST /hidden HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n"
        + "Connection: close\r\n\r\n{}");
    HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{}");

    assertThat(answer.split("HTTP/1\\.1 201 ", -1)).hasSize(3);
    assertThat(runs("POST", "/payments")).isEqualTo(1);
    assertThat(runs("POST", "/hidden")).isEqualTo(1);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
  }

  @Test
  void theHealthEndpointAnswersAnotherMethodWithAProblem() throws Exception {
    Upstream upstream = upstream();
    TestProxy proxy = proxy("--upstream", upstream.uri().toString());

    HttpResponse<String> response = postKeyed(proxy.uri("/_once/health"), null, "{}");

    assertProblem(response, 405, "about:blank");
    assertThat(response.headers().firstValue("Allow")).hasValue("GET, HEAD");
    assertThat(runs).isEmpty();
  }

  /**
   * Past {@code --memory-max-bytes} the responses are dropped, never the records: each retry is
   * replayed or told its response was not kept, and the upstream ran each key once.
   */
  @Test
  void pastTheMemoryByteBoundARetryIsReplayedOrToldItWasNotKeptNeverRunAgain() throws Exception {
    Upstream upstream = Upstream.start().handle("/", (exchange, run) -> {
      String path = exchange.getRequestURI().getPath();
      runs.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
      Upstream.respond(exchange, 201, "x".repeat(4096));
    });
    closing.add(upstream);
    TestProxy proxy = proxy("--upstream", upstream.uri().toString(), "--memory-max-bytes",
        "64KiB");
    int keys = 60;
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      sent.add(newKey());
      assertThat(postKeyed(proxy.uri("/p/" + i), sent.get(i), "{}").statusCode()).isEqualTo(201);
    }

    int notKept = 0;
    for (int round = 0; round < 50 && notKept == 0; round++) {
      for (int i = 0; i < keys; i++) {
        HttpResponse<String> retry = postKeyed(proxy.uri("/p/" + i), sent.get(i), "{}");
        if (retry.statusCode() == 409) {
          assertProblem(retry, 409, ProblemType.RESPONSE_NOT_REPLAYABLE.uri());
          notKept++;
        } else {
          assertThat(retry.statusCode()).isEqualTo(201);
          assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        }
      }
      if (notKept == 0) {
        new CountDownLatch(1).await(50, TimeUnit.MILLISECONDS); // the cache's upkeep is its own
      }
    }

    assertThat(notKept).as("240 KiB of responses over a 64 KiB bound").isPositive();
    assertThat(runs).hasSize(keys).allSatisfy((path, count) -> assertThat(count).hasValue(1));
  }

  /** At {@code --memory-max-records} a new key is refused, never run, and no record forgotten. */
  @Test
  void atTheMemoryRecordBoundANewKeyGets503StoreFullWithRetryAfter() throws Exception {
    Upstream upstream = upstream();
    TestProxy proxy = proxy("--upstream", upstream.uri().toString(), "--memory-max-records", "3");
    List<String> kept = List.of(newKey(), newKey(), newKey());
    for (String key : kept) {
      assertThat(postKeyed(proxy.uri("/payments"), key, "{}").statusCode()).isEqualTo(201);
    }

    HttpResponse<String> full = postKeyed(proxy.uri("/payments"), newKey(), "{}");
    HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), kept.get(0), "{}");
    HttpResponse<String> unkeyed = postKeyed(proxy.uri("/payments"), null, "{}");

    assertProblem(full, 503, ProblemType.STORE_FULL.uri());
    assertThat(full.headers().firstValue("Retry-After")).isPresent();
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(unkeyed.statusCode()).as("a request without a key needs no record").isEqualTo(201);
    assertThat(runs("POST", "/payments")).isEqualTo(4);
  }
}
