package dev.once.proxy;

import static dev.once.proxy.ProxyMetricsTest.value;
import static dev.once.suite.Http.assertProblem;
import static dev.once.suite.Http.assertReplayed;
import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.postKeyed;
import static dev.once.suite.Http.postKeyedUntilNot409;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.once.ProblemType;
import dev.once.proxy.ProxyKeyedCallTest.RawClient;
import dev.once.proxy.ProxyKeyedCallTest.RawClient.Answer;
import dev.once.suite.Http;
import dev.once.testing.Closing;
import dev.once.testing.Concurrently;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A keyed request {@link KeyedLane} decided to run is run on Jetty's core ({@link CoreClient}
 * under the same {@link KeyedCall} as the servlet's), not through the servlet context: counted in
 * {@code once_proxy_upstream_calls_total{lane="core"}}. It answers as the servlet context does,
 * shares its keys with it, and holds up under what clients and upstreams do to it.
 */
class ProxyCoreRunTest {
  private static final String BODY = "{\"amount\":42}";
  private static final String CORE = "once_proxy_upstream_calls_total{lane=\"core\"}";
  private static final String SERVLET = "once_proxy_upstream_calls_total{lane=\"servlet\"}";

  @RegisterExtension final Closing closing = new Closing();
  private final CountDownLatch release = closing.latch();

  /** A proxy in front of {@code upstream}; both are closed after the test. */
  private TestProxy proxyTo(Upstream upstream, String... flags) {
    closing.add(upstream);
    String[] args = Stream.concat(Stream.of("--upstream", upstream.uri().toString()),
        Stream.of(flags)).toArray(String[]::new);
    TestProxy proxy = TestProxy.start(args);
    closing.first(proxy);
    return proxy;
  }

  private static double calls(TestProxy proxy, String lane) throws Exception {
    String metrics = Http.send(HttpRequest.newBuilder(proxy.uri("/_once/metrics"))).body();
    return value(metrics, lane);
  }

  /** A keyed POST without a declared length: sent chunked, so the filter reads and runs it. */
  private static HttpResponse<String> chunked(TestProxy proxy, String path, String key,
      String body) throws Exception {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    return Http.send(HttpRequest.newBuilder(proxy.uri(path))
        .header("Idempotency-Key", key)
        .header("Content-Type", "application/json")
        .POST(BodyPublishers.ofInputStream(() -> (InputStream) new ByteArrayInputStream(bytes))));
  }

  private static Upstream.Handler created() {
    return (exchange, run) -> {
      exchange.getResponseHeaders().add("X-Multi", "a");
      exchange.getResponseHeaders().add("X-Multi", "b");
      exchange.getResponseHeaders().add("Cache-Control", "no-store, private");
      exchange.getResponseHeaders().add("Idempotent-Replayed", "yes, by the upstream");
      exchange.getResponseHeaders().add("Location", "/pay/" + run);
      Upstream.respond(exchange, 201, "{\"run\":" + run + "}");
    };
  }

  @Test
  void aKeyedRequestWhoseBodyIsInRunsOnTheCoreAndAChunkedOneThroughTheFilter() throws Exception {
    Upstream upstream = Upstream.start().handle("/pay", created());
    TestProxy proxy = proxyTo(upstream);

    Answer core = RawClient.exchange(proxy.port(), "/pay", newKey(), BODY);
    assertThat(calls(proxy, CORE)).isEqualTo(1);
    assertThat(calls(proxy, SERVLET)).isZero();
    HttpResponse<String> servlet = chunked(proxy, "/pay", newKey(), BODY);

    assertThat(calls(proxy, CORE)).isEqualTo(1);
    assertThat(calls(proxy, SERVLET)).isEqualTo(1);
    assertThat(core.status()).isEqualTo(201);
    assertThat(core.body()).isEqualTo("{\"run\":1}");
    assertThat(servlet.body()).isEqualTo("{\"run\":2}");
    assertThat(core.header("Idempotent-Replayed")).isEmpty();
    Map<String, List<String>> fromCore = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    fromCore.putAll(core.headers());
    Map<String, List<String>> fromServlet = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    fromServlet.putAll(servlet.headers().map());
    for (String differs : List.of("date", "location")) {
      fromCore.remove(differs);
      fromServlet.remove(differs);
    }
    assertThat(fromCore).isEqualTo(fromServlet);
  }

  @Test
  void aKeyRunOnEitherLaneIsReplayedOnTheOtherAndRunsOnce() throws Exception {
    Upstream upstream = Upstream.start().handle("/pay", created());
    TestProxy proxy = proxyTo(upstream);
    String onCore = newKey();
    String onServlet = newKey();

    Answer first = RawClient.exchange(proxy.port(), "/pay", onCore, BODY);
    HttpResponse<String> replayedByFilter = chunked(proxy, "/pay", onCore, BODY);
    HttpResponse<String> changedBody = chunked(proxy, "/pay", onCore, "{}");
    HttpResponse<String> second = chunked(proxy, "/pay", onServlet, BODY);
    HttpResponse<String> replayedOnCore = postKeyed(proxy.uri("/pay"), onServlet, BODY);

    assertThat(first.status()).isEqualTo(201);
    assertReplayed(replayedByFilter, 201, "{\"run\":1}");
    assertProblem(changedBody, 422, ProblemType.KEY_REUSED.uri());
    assertThat(second.body()).isEqualTo("{\"run\":2}");
    assertReplayed(replayedOnCore, 201, "{\"run\":2}");
    assertThat(upstream.hits("/pay")).isEqualTo(2);
    assertThat(calls(proxy, CORE)).isEqualTo(1);
    assertThat(calls(proxy, SERVLET)).isEqualTo(1);
  }

  @Test
  void twoHundredClientsWithOneKeyRunTheUpstreamExactlyOnceOnTheCore() throws Exception {
    Upstream upstream = Upstream.start().handle("/pay", (exchange, run) -> {
      Thread.sleep(100); // in flight while the others arrive
      Upstream.respond(exchange, 201, "{\"run\":" + run + "}");
    });
    TestProxy proxy = proxyTo(upstream, "--max-wait", "30s");
    String key = newKey();

    List<Answer> answers =
        Concurrently.run(200, i -> RawClient.exchange(proxy.port(), "/pay", key, BODY));

    assertThat(answers).allSatisfy(answer -> {
      assertThat(answer.status()).isEqualTo(201);
      assertThat(answer.body()).isEqualTo("{\"run\":1}");
    });
    assertThat(answers).filteredOn(answer -> answer.header("Idempotent-Replayed").isEmpty())
        .hasSize(1);
    assertThat(upstream.hits("/pay")).isEqualTo(1);
    assertThat(calls(proxy, CORE)).isEqualTo(1);
    assertThat(calls(proxy, SERVLET)).isZero();
  }

  @Test
  void aClientThatHangsUpMidResponseGetsTheWholeAnswerOnRetryAndTheUpstreamRanOnce()
      throws Exception {
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 40; i++) {
      expected.append((char) ('a' + i % 26));
    }
    Upstream upstream = Upstream.start().handle("/pay", (exchange, run) -> {
      exchange.sendResponseHeaders(201, 40);
      OutputStream out = exchange.getResponseBody();
      for (int i = 0; i < 40; i++) {
        out.write('a' + i % 26);
        out.flush();
        Thread.sleep(50);
      }
    });
    TestProxy proxy = proxyTo(upstream, "--max-wait", "30s");
    String key = newKey();

    try (Socket client = new Socket("127.0.0.1", proxy.port())) {
      client.setSoTimeout(30_000);
      // head and body in one write: the body is in when the head is read, so the core runs it
      client.getOutputStream().write(("POST /pay HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          + "Idempotency-Key: " + key + "\r\nContent-Type: application/json\r\n"
          + "Content-Length: 2\r\n\r\n{}").getBytes(StandardCharsets.US_ASCII));
      assertThat(RawClient.readUntil(client.getInputStream(), "abc")).startsWith("HTTP/1.1 201");
      client.setSoLinger(true, 0);
    }
    HttpResponse<String> retry = postKeyed(proxy.uri("/pay"), key, "{}");

    assertReplayed(retry, 201, expected.toString());
    assertThat(upstream.hits("/pay")).isEqualTo(1);
    assertThat(calls(proxy, CORE)).isEqualTo(1);
  }

  @Test
  void anUpstreamStalledPastTheTimeoutGets504AndTheRetryGetsItsLateAnswer() throws Exception {
    Upstream upstream = Upstream.start().handle("/pay", Upstream.jsonAfter(release, 201));
    TestProxy proxy = proxyTo(upstream, "--upstream-timeout", "300ms", "--max-wait", "0s");
    String key = newKey();

    Answer first = RawClient.exchange(proxy.port(), "/pay", key, BODY);
    HttpResponse<String> during = postKeyed(proxy.uri("/pay"), key, BODY);
    release.countDown();
    HttpResponse<String> retry = postKeyedUntilNot409(proxy.uri("/pay"), key, BODY);

    assertThat(first.status()).isEqualTo(504);
    assertThat(first.header("Content-Type")).hasValueSatisfying(
        type -> assertThat(type).startsWith("application/problem+json"));
    assertThat(first.body()).contains(UpstreamServlet.UPSTREAM_TIMEOUT);
    assertProblem(during, 409, ProblemType.REQUEST_IN_PROGRESS.uri());
    assertReplayed(retry, 201, "{\"run\":1}");
    assertThat(upstream.hits("/pay")).isEqualTo(1);
    assertThat(calls(proxy, CORE)).isEqualTo(1);
  }

  @Test
  void anUpstreamThatDiesMidBodyCutsTheResponseAndIsNeverRunTwice() throws Exception {
    String head = "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n";
    try (RawUpstream upstream = new RawUpstream(RawUpstream.breakOffAfter(head, 10));
        TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString())) {
      String key = newKey();

      Throwable cut =
          catchThrowable(() -> RawClient.exchange(proxy.port(), "/pay", key, BODY));
      HttpResponse<String> retry = postKeyed(proxy.uri("/pay"), key, BODY);

      assertThat(cut).as("the client must see the response was cut")
          .isInstanceOf(IOException.class);
      assertProblem(retry, 409, ProblemType.RESPONSE_NOT_REPLAYABLE.uri());
      assertThat(upstream.requests()).isEqualTo(1);
      assertThat(calls(proxy, CORE)).isEqualTo(1);
    }
  }

  @Test
  void anInterim100ContinueTheUpstreamSendsUnaskedIsNotTheAnswerOnEitherLane() throws Exception {
    String answer = "HTTP/1.1 100 Continue\r\n\r\n"
        + "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
        + "Connection: close\r\n\r\n{\"ok\":true}";
    try (RawUpstream upstream = new RawUpstream((socket, out) -> {
      out.write(answer.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      socket.shutdownOutput();
      socket.setSoTimeout(5_000);
      socket.getInputStream().transferTo(OutputStream.nullOutputStream()); // the body, then EOF
    });
        TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString())) {
      String onCore = newKey();
      String onServlet = newKey();

      Answer core = RawClient.exchange(proxy.port(), "/pay", onCore, BODY);
      HttpResponse<String> servlet = chunked(proxy, "/pay", onServlet, BODY);
      HttpResponse<String> coreRetry = postKeyed(proxy.uri("/pay"), onCore, BODY);
      HttpResponse<String> servletRetry = postKeyed(proxy.uri("/pay"), onServlet, BODY);

      assertThat(core.status()).isEqualTo(201);
      assertThat(core.body()).isEqualTo("{\"ok\":true}");
      assertThat(servlet.statusCode()).isEqualTo(201);
      assertThat(servlet.body()).isEqualTo("{\"ok\":true}");
      assertReplayed(coreRetry, 201, "{\"ok\":true}");
      assertReplayed(servletRetry, 201, "{\"ok\":true}");
      assertThat(upstream.requests()).isEqualTo(2);
      assertThat(calls(proxy, CORE)).isEqualTo(1);
      assertThat(calls(proxy, SERVLET)).isEqualTo(1);
    }
  }
}
