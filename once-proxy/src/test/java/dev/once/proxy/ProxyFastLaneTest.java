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
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The fast lane ({@link UpstreamHandler}): a request idempotency passes through (no key, or a
 * method not covered) is forwarded without the servlet layer, and the upstream and the client see
 * exactly what the proxy servlet gives them (the plain proxy, the servlet alone, is the measure);
 * its failures get the same problems, the engine counts what it counted, and a request with a key
 * still goes through the filter.
 */
class ProxyFastLaneTest {
  private Upstream upstream;
  private TestProxy proxy;
  private TestProxy servlet;

  @BeforeEach
  void start() throws Exception {
    upstream = Upstream.start().handle("/pay", Upstream.json(201));
    upstream.handle("/echo", (exchange, run) -> {
      exchange.getResponseHeaders().add("X-Upstream-Header", "kept");
      exchange.getResponseHeaders().add("X-Multi", "a");
      exchange.getResponseHeaders().add("X-Multi", "b");
      exchange.getResponseHeaders().add("Server", "upstream/1");
      Upstream.respond(exchange, 202, "{\"method\":\"" + exchange.getRequestMethod()
          + "\",\"uri\":\"" + exchange.getRequestURI() + "\"}");
    });
    proxy = TestProxy.start("--upstream", upstream.uri().toString(), "--upstream-timeout", "10s");
    servlet = TestProxy.startPlain("--upstream", upstream.uri().toString(),
        "--upstream-timeout", "10s");
  }

  @AfterEach
  void stop() {
    proxy.close();
    servlet.close();
    upstream.close();
  }

  @Test
  void aRequestWithoutAKeyOrWithAnUncoveredMethodIsForwardedAsTheProxyServletForwardsIt()
      throws Exception {
    for (String method : List.of("POST", "post", "PATCH", "GET", "PUT", "DELETE", "OPTIONS")) {
      HttpResponse<String> fast = send(proxy, method);
      Upstream.Seen fastSeen = upstream.next();
      HttpResponse<String> slow = send(servlet, method);
      Upstream.Seen slowSeen = upstream.next();

      assertThat(fast.statusCode()).as(method).isEqualTo(202).isEqualTo(slow.statusCode());
      assertThat(fast.body()).as(method).isEqualTo(slow.body())
          .isEqualTo("{\"method\":\"" + method + "\",\"uri\":\"/echo/items/7?q=a%20b&x=1\"}");
      assertThat(withoutDate(fast.headers().map())).as(method)
          .isEqualTo(withoutDate(slow.headers().map()))
          .containsEntry("x-multi", List.of("a", "b"))
          .containsEntry("server", List.of("upstream/1"));
      assertThat(fastSeen.method).isEqualTo(slowSeen.method).isEqualTo(method);
      assertThat(fastSeen.uri).isEqualTo(slowSeen.uri);
      assertThat(fastSeen.body()).isEqualTo(slowSeen.body()).isEqualTo("{\"name\":\"seven\"}");
      assertThat(fastSeen.header("X-forwarded-host")).isEqualTo("127.0.0.1:" + proxy.port());
      assertThat(slowSeen.header("X-forwarded-host")).isEqualTo("127.0.0.1:" + servlet.port());
      Map<String, List<String>> fastHeaders = new TreeMap<>(fastSeen.headers);
      Map<String, List<String>> slowHeaders = new TreeMap<>(slowSeen.headers);
      fastHeaders.remove("X-forwarded-host");
      slowHeaders.remove("X-forwarded-host");
      assertThat(fastHeaders).as(method).isEqualTo(slowHeaders)
          .containsEntry("X-forwarded-for", List.of("203.0.113.9, 127.0.0.1"))
          .containsEntry("X-forwarded-proto", List.of("http"))
          .containsEntry("Via", List.of("1.1 once-proxy"))
          .containsEntry("Host", List.of("127.0.0.1:" + upstream.port()));
    }
  }

  /**
   * Targets with dot segments, escapes, empty parts and parameters, an expectation of {@code 100
   * Continue}, and no {@code Host} at all (HTTP/1.0): the same answer and the same request at the
   * upstream as through the servlet.
   */
  @Test
  void oddTargetsAndHeadsReachTheUpstreamAsThroughTheProxyServlet() throws Exception {
    List<String> heads = List.of(
        "POST /echo/a/../b HTTP/1.1\r\nHost: h\r\n",
        "GET /echo/./a//b/ HTTP/1.1\r\nHost: h\r\n",
        "PUT /echo/%41%2e%20x? HTTP/1.1\r\nHost: h\r\n",
        "DELETE /echo;p=1/x;q?a=b&&c=%2F#frag HTTP/1.1\r\nHost: h\r\n",
        "POST /echo/%2e%2e/x HTTP/1.1\r\nHost: h\r\n",
        "POST /echo/a%2Fb HTTP/1.1\r\nHost: h\r\n",
        "POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n",
        "POST /echo HTTP/1.0\r\n",
        "POST /echo HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nConnection: close, X-Hop\r\n"
            + "X-Hop: gone\r\nTE: trailers\r\nVia: 1.0 far\r\n");
    for (String head : heads) {
      String request = head + "Content-Length: 2\r\nConnection: close\r\n\r\n{}";

      String fast = finalResponse(Http.raw(proxy.port(), request));
      String slow = finalResponse(Http.raw(servlet.port(), request));

      String status = fast.substring(0, fast.indexOf('\r'));
      assertThat(status).as(head).isEqualTo(slow.substring(0, slow.indexOf('\r')));
      if (status.contains(" 202 ")) {
        assertThat(body(fast)).as(head).isEqualTo(body(slow));
        Upstream.Seen fastSeen = upstream.next();
        Upstream.Seen slowSeen = upstream.next();
        assertThat(fastSeen.uri).as(head).isEqualTo(slowSeen.uri);
        Map<String, List<String>> fastHeaders = new TreeMap<>(fastSeen.headers);
        Map<String, List<String>> slowHeaders = new TreeMap<>(slowSeen.headers);
        fastHeaders.remove("X-forwarded-host");
        slowHeaders.remove("X-forwarded-host");
        assertThat(fastHeaders).as(head).isEqualTo(slowHeaders);
      } else {
        assertThat(body(fast)).as(head).isEqualTo(body(slow));
      }
    }
  }

  @Test
  void aRequestWithoutAKeyThatWaitsFor100ContinueIsForwardedWhole() throws Exception {
    for (TestProxy to : List.of(proxy, servlet)) {
      HttpResponse<String> answer = Http.send(HttpRequest.newBuilder(to.uri("/echo/expect"))
          .expectContinue(true).POST(BodyPublishers.ofString("{\"name\":\"seven\"}")));

      assertThat(answer.statusCode()).isEqualTo(202);
      assertThat(upstream.next().body()).isEqualTo("{\"name\":\"seven\"}");
    }
  }

  @Test
  void theEngineCountsARequestWithoutAKeyAsPassedThroughAndNeverSeesAnUncoveredMethod()
      throws Exception {
    for (int i = 0; i < 5; i++) {
      assertThat(send(proxy, "POST").statusCode()).isEqualTo(202);
    }
    for (int i = 0; i < 3; i++) {
      assertThat(send(proxy, "GET").statusCode()).isEqualTo(202);
    }

    String metrics = Http.send(HttpRequest.newBuilder(proxy.uri("/_once/metrics"))).body();
    assertThat(value(metrics, "once_requests_total{outcome=\"passed_through\"}")).isEqualTo(5);
    assertThat(value(metrics, "once_requests_total{outcome=\"executed\"}")).isZero();
  }

  @Test
  void aKeyedRequestStillGoesThroughTheFilterAndIsReplayedWhileOneWithoutAKeyRunsEachTime()
      throws Exception {
    String key = newKey();

    HttpResponse<String> first = postKeyed(proxy.uri("/pay"), key, "{}");
    HttpResponse<String> unkeyed = postKeyed(proxy.uri("/pay"), null, "{}");
    HttpResponse<String> retry = postKeyed(proxy.uri("/pay"), key, "{}");
    HttpResponse<String> invalid = Http.send(Http.post(proxy.uri("/pay"), "bad key", "{}"));

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).isEqualTo("{\"run\":1}");
    assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(unkeyed.body()).isEqualTo("{\"run\":2}");
    assertReplayed(retry, 201, "{\"run\":1}");
    assertProblem(invalid, ProblemType.KEY_INVALID);
    assertThat(upstream.hits("/pay")).isEqualTo(2);
  }

  /**
   * Two hundred clients at once, half without a key (the fast lane) and half with one key (the
   * filter), and a client that hangs up half-way through its body on the fast lane: every request
   * without a key reaches the upstream once, the keyed ones run it exactly once, and the proxy
   * keeps answering.
   */
  @Test
  void twoHundredClientsAtOnceAcrossBothLanesAndOneThatHangsUpLeaveEveryGuaranteeStanding()
      throws Exception {
    String key = newKey();
    try (Socket gone = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
      gone.getOutputStream().write(("POST /pay HTTP/1.1\r\nHost: x\r\nContent-Type:"
          + " application/json\r\nContent-Length: 100\r\n\r\n{\"amount\"")
          .getBytes(StandardCharsets.US_ASCII));
      gone.getOutputStream().flush();
    }

    List<HttpResponse<String>> responses = Concurrently.run(200,
        i -> postKeyed(proxy.uri("/pay"), i % 2 == 0 ? null : key, "{}"));
    HttpResponse<String> after = postKeyed(proxy.uri("/pay"), null, "{}");

    List<HttpResponse<String>> unkeyed = new ArrayList<>();
    List<HttpResponse<String>> keyed = new ArrayList<>();
    for (int i = 0; i < responses.size(); i++) {
      (i % 2 == 0 ? unkeyed : keyed).add(responses.get(i));
    }
    assertThat(unkeyed).allSatisfy(r -> {
      assertThat(r.statusCode()).isEqualTo(201);
      assertThat(r.headers().firstValue("Idempotent-Replayed")).isEmpty();
    });
    assertThat(keyed).filteredOn(r -> r.statusCode() == 201
        && r.headers().firstValue("Idempotent-Replayed").isEmpty()).hasSize(1);
    assertThat(keyed).allSatisfy(r -> assertThat(r.statusCode()).isIn(201, 409));
    assertThat(after.statusCode()).isEqualTo(201);
    // the hung-up request may or may not have reached the upstream before it was cut
    assertThat(upstream.hits("/pay")).isBetween(100 + 1 + 1, 100 + 1 + 1 + 1);
  }

  @Test
  void withRequireKeyARequestWithoutAKeyIsRefusedAndAnUncoveredMethodStillPasses()
      throws Exception {
    try (TestProxy required = TestProxy.start("--upstream", upstream.uri().toString(),
        "--require-key")) {
      HttpResponse<String> unkeyed = postKeyed(required.uri("/echo"), null, "{}");
      HttpResponse<String> get = Http.send(HttpRequest.newBuilder(required.uri("/echo")));

      assertProblem(unkeyed, ProblemType.KEY_MISSING);
      assertThat(get.statusCode()).isEqualTo(202);
      assertThat(upstream.hits("/echo")).isEqualTo(1);
    }
  }

  @Test
  void aRequestWithoutAKeyToAnUpstreamThatRefusesGets502AsAProblem() throws Exception {
    try (TestProxy refused = TestProxy.start("--upstream", "http://127.0.0.1:" + freePort())) {
      for (String method : List.of("POST", "GET")) {
        HttpResponse<String> answer = Http.send(HttpRequest.newBuilder(refused.uri("/echo"))
            .method(method, BodyPublishers.ofString("{}")));

        assertProblem(answer, 502, UpstreamServlet.UPSTREAM_UNAVAILABLE);
        assertThat(answer.body()).contains("the upstream refused the connection");
        assertThat(answer.headers().firstValue("Cache-Control")).hasValue("no-store");
      }
    }
  }

  @Test
  void aGetWhoseUpstreamIsSilentPastTheTimeoutGets504AsAProblem() throws Exception {
    CountDownLatch answer = new CountDownLatch(1);
    try (Upstream silent = Upstream.start().handle("/slow", Upstream.jsonAfter(answer, 200));
        TestProxy timing = TestProxy.start("--upstream", silent.uri().toString(),
            "--upstream-timeout", "500ms")) {
      HttpResponse<String> get = Http.send(HttpRequest.newBuilder(timing.uri("/slow")));

      assertProblem(get, 504, UpstreamServlet.UPSTREAM_TIMEOUT);
      assertThat(get.body()).contains("the upstream sent nothing for 500ms");
    } finally {
      answer.countDown();
    }
  }

  @Test
  void aTargetTheUpstreamUriCannotHoldIs400ForARequestWithoutAKey() throws Exception {
    for (String method : List.of("POST", "GET")) {
      String answer = Http.raw(proxy.port(), method + " /echo?a=%zz HTTP/1.1\r\n"
          + "Host: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");

      assertThat(answer).startsWith("HTTP/1.1 400 ")
          .contains("Content-Type: application/problem+json")
          .contains("\"detail\":\"the request's target is not a valid URI");
    }
    assertThat(upstream.hits("/echo")).isZero();
  }

  private static HttpResponse<String> send(TestProxy to, String method) throws Exception {
    return Http.send(HttpRequest.newBuilder(to.uri("/echo/items/7?q=a%20b&x=1"))
        .method(method, BodyPublishers.ofString("{\"name\":\"seven\"}"))
        .header("Content-Type", "application/json")
        .header("X-Custom", "one")
        .header("X-Forwarded-For", "203.0.113.9"));
  }

  /**
   * The response after any {@code 100 Continue}: the servlet sends one to a client that expects
   * it even when the body came with the head, Jetty's core lane does not (RFC 9110 10.1.1 lets a
   * server omit it once it has the content); a client that waits for it gets it from both ({@link
   * #aRequestWithoutAKeyThatWaitsFor100ContinueIsForwardedWhole}).
   */
  private static String finalResponse(String response) {
    String interim = "HTTP/1.1 100 Continue\r\n\r\n";
    return response.startsWith(interim) ? response.substring(interim.length()) : response;
  }

  private static String body(String response) {
    return response.substring(response.indexOf("\r\n\r\n") + 4);
  }

  /** The response's headers but its {@code Date}, which the upstream sets to its clock. */
  private static Map<String, List<String>> withoutDate(Map<String, List<String>> headers) {
    Map<String, List<String>> copy = new TreeMap<>(headers);
    copy.remove("date");
    return copy;
  }


  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
