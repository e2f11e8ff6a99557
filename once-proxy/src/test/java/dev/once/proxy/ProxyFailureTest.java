package dev.once.proxy;

import static dev.once.suite.Http.assertProblem;
import static dev.once.suite.Http.assertReplayed;
import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.postKeyed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.once.MemoryStore;
import dev.once.ProblemType;
import dev.once.suite.Http;
import dev.once.testing.FailingStore;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** What the proxy answers when the upstream or the store fails, and what becomes of the key. */
class ProxyFailureTest {

  @Test
  void anUpstreamThatRefusesGets502AndTheKeyIsReleasedForWhenItIsBack() throws Exception {
    int port = freePort();
    String key = newKey();
    try (TestProxy proxy = TestProxy.start("--upstream", "http://127.0.0.1:" + port)) {
      HttpResponse<String> refused = postKeyed(proxy.uri("/payments"), key, "{}");

      assertProblem(refused, 502, UpstreamServlet.UPSTREAM_UNAVAILABLE);
      assertThat(refused.body()).contains("refused the connection");
      assertThat(refused.headers().firstValue("Cache-Control")).hasValue("no-store");

      try (Upstream back = Upstream.startOn(port).handle("/payments", Upstream.json(201))) {
        HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{}");
        HttpResponse<String> again = postKeyed(proxy.uri("/payments"), key, "{}");

        assertThat(retry.statusCode()).isEqualTo(201);
        assertThat(retry.body()).isEqualTo("{\"run\":1}");
        assertThat(retry.headers().firstValue("Idempotent-Replayed")).isEmpty();
        assertThat(again.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(back.hits("/payments")).isEqualTo(1);
      }
    }
  }

  @Test
  void anUpstreamThatResetsAfterTheRequestWasSentGets502OutcomeUnknownAndTheKeyStaysHeld()
      throws Exception {
    try (RawUpstream upstream = new RawUpstream(RawUpstream::reset);
        TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString())) {
      String key = newKey();

      HttpResponse<String> first = postKeyed(proxy.uri("/payments"), key, "{}");
      HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{}");

      assertProblem(first, 502, ProblemType.OUTCOME_UNKNOWN.uri());
      assertThat(first.body()).contains("whether it was done is unknown")
          .contains("gets 409 until the key's lease (30s) has passed");
      assertProblem(retry, 409, ProblemType.REQUEST_IN_PROGRESS.uri());
      assertThat(upstream.requests()).isEqualTo(1);
    }
  }

  @Test
  void anUpstreamSilentPastTheTimeoutGets504AndItsLateAnswerIsKeptForTheRetry()
      throws Exception {
    CountDownLatch answer = new CountDownLatch(1);
    try (Upstream upstream = Upstream.start().handle("/payments", Upstream.jsonAfter(answer, 201));
        TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString(),
            "--upstream-timeout", "1s", "--max-wait", "30s")) {
      String key = newKey();

      HttpResponse<String> first = postKeyed(proxy.uri("/payments"), key, "{}");
      HttpResponse<String> during = Http.send(Http.post(proxy.uri("/payments"), key, "{}")
          .header("Prefer", "wait=0"));
      answer.countDown();
      HttpResponse<String> after = postKeyed(proxy.uri("/payments"), key, "{}");

      assertProblem(first, 504, UpstreamServlet.UPSTREAM_TIMEOUT);
      assertThat(first.body()).contains("sent nothing for 1s")
          .contains("goes on listening to it for up to 5m");
      assertProblem(during, 409, ProblemType.REQUEST_IN_PROGRESS.uri());
      assertReplayed(after, 201, "{\"run\":1}");
      assertThat(upstream.hits("/payments")).isEqualTo(1);
    } finally {
      answer.countDown();
    }
  }

  /** A request without a key is Jetty's proxy as it is: 504, and nothing listens after it. */
  @Test
  void aRequestWithoutAKeyWhoseUpstreamIsSilentGets504() throws Exception {
    CountDownLatch answer = new CountDownLatch(1);
    try (Upstream upstream = Upstream.start().handle("/payments", Upstream.jsonAfter(answer, 201));
        TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString(),
            "--upstream-timeout", "500ms")) {

      HttpResponse<String> silent = postKeyed(proxy.uri("/payments"), null, "{}");

      assertProblem(silent, 504, UpstreamServlet.UPSTREAM_TIMEOUT);
      assertThat(silent.body()).contains("the upstream sent nothing for 500ms");
    } finally {
      answer.countDown();
    }
  }

  @Test
  void anUpstream500IsPassedOnButNotKeptSoTheRetryRunsAgain() throws Exception {
    try (Upstream upstream = Upstream.start().handle("/payments", (exchange, run) ->
        Upstream.respond(exchange, run == 1 ? 500 : 201, "{\"run\":" + run + "}"));
        TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString())) {
      String key = newKey();

      HttpResponse<String> failed = postKeyed(proxy.uri("/payments"), key, "{}");
      HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{}");
      HttpResponse<String> again = postKeyed(proxy.uri("/payments"), key, "{}");

      assertThat(failed.statusCode()).isEqualTo(500);
      assertThat(failed.body()).isEqualTo("{\"run\":1}");
      assertThat(retry.statusCode()).isEqualTo(201);
      assertThat(retry.body()).isEqualTo("{\"run\":2}");
      assertReplayed(again, 201, "{\"run\":2}");
      assertThat(upstream.hits("/payments")).isEqualTo(2);
    }
  }

  @Test
  void anUpstreamThatBreaksOffMidBodyCutsTheResponseAndIsNeverReplayedHalfOrRunTwice()
      throws Exception {
    // more than the sockets between them hold, so the proxy has relayed part of it when the
    // upstream's writes return and it resets; kept whole (--max-response) if it were kept at all
    String head = "HTTP/1.1 201 Created\r\nContent-Type: application/octet-stream\r\n"
        + "Content-Length: " + (32 << 20) + "\r\n\r\n";
    try (RawUpstream upstream = new RawUpstream(RawUpstream.breakOffAfter(head, 16 << 20));
        TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString(),
            "--max-response", "64MiB")) {
      String key = newKey();
      HttpRequest request = Http.post(proxy.uri("/payments"), key, "{}").build();

      Throwable cut = catchThrowable(() -> Http.CLIENT.send(request, BodyHandlers.ofByteArray()));
      HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{}");

      assertThat(cut).as("the client must see the response was cut")
          .isInstanceOf(IOException.class);
      assertProblem(retry, 409, ProblemType.RESPONSE_NOT_REPLAYABLE.uri());
      assertThat(retry.body()).contains("status 201");
      assertThat(upstream.requests()).isEqualTo(1);
    }
  }

  /**
   * The upstream sent its status line and headers, so it did the request, then broke off before
   * any of its body (which would have gone on to the client at once): the client gets 502, and the
   * retry is told the response was not kept instead of running again.
   */
  @Test
  void anUpstreamThatBreaksOffAfterItsHeadersGets502AndIsNeverRunTwice()
      throws Exception {
    String head = "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n";
    BrokenOff sent = BrokenOff.postTwice(head);

    assertProblem(sent.first(), 502, UpstreamServlet.UPSTREAM_UNAVAILABLE);
    assertThat(sent.first().body()).contains("broke off its response (status 201)");
    assertThat(sent.first().headers().firstValue("Content-Length")).hasValue(
        Integer.toString(sent.first().body().getBytes(StandardCharsets.UTF_8).length));
    assertProblem(sent.retry(), 409, ProblemType.RESPONSE_NOT_REPLAYABLE.uri());
    assertThat(sent.upstreamRequests()).isEqualTo(1);
  }

  @Test
  void aNonCacheableStatusThatBreaksOffReleasesTheKey() throws Exception {
    String head = "HTTP/1.1 500 Server Error\r\nContent-Type: text/plain\r\nContent-Length: 100"
        + "\r\n\r\n";
    BrokenOff sent = BrokenOff.postTwice(head);

    assertProblem(sent.first(), 502, UpstreamServlet.UPSTREAM_UNAVAILABLE);
    assertThat(sent.first().body()).contains("a retry runs it again");
    assertProblem(sent.retry(), 502, UpstreamServlet.UPSTREAM_UNAVAILABLE);
    assertThat(sent.upstreamRequests()).isEqualTo(2);
  }

  @Test
  void healthIs200WhileTheStoreAnswersAnd503WhenItDoesNot() throws Exception {
    FailingStore store = new FailingStore(MemoryStore.create());
    try (Upstream upstream = Upstream.start();
        TestProxy proxy = TestProxy.start(store, "--upstream", upstream.uri().toString())) {
      URI health = proxy.uri("/_once/health");

      HttpResponse<String> up = Http.send(HttpRequest.newBuilder(health).GET());
      store.failing(true);
      HttpResponse<String> down = Http.send(HttpRequest.newBuilder(health).GET());
      store.failing(false);
      HttpResponse<String> back = Http.send(HttpRequest.newBuilder(health).GET());

      assertThat(up.statusCode()).isEqualTo(200);
      assertThat(up.headers().firstValue("Content-Type")).hasValue("application/json");
      assertThat(up.body().trim())
          .isEqualTo("{\"status\":\"up\",\"store\":{\"type\":\"memory\",\"state\":\"up\"}}");
      assertThat(down.statusCode()).isEqualTo(503);
      assertThat(down.body().trim())
          .isEqualTo("{\"status\":\"down\",\"store\":{\"type\":\"memory\",\"state\":\"down\"}}");
      assertThat(back.statusCode()).isEqualTo(200);
      assertThat(upstream.hits("/")).isZero();
    } finally {
      store.close();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  /**
   * A keyed request and its retry through a proxy in front of an upstream that sends {@code head}
   * and then breaks off.
   *
   * @param upstreamRequests how many requests reached the upstream
   */
  private record BrokenOff(
      HttpResponse<String> first, HttpResponse<String> retry, int upstreamRequests) {
    static BrokenOff postTwice(String head) throws Exception {
      try (RawUpstream upstream = new RawUpstream(RawUpstream.breakOffAfter(head, 0));
          TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString())) {
        String key = newKey();
        HttpResponse<String> first = postKeyed(proxy.uri("/payments"), key, "{}");
        HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{}");
        return new BrokenOff(first, retry, upstream.requests());
      }
    }
  }
}
