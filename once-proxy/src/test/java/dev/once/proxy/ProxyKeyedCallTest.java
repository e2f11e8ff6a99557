package dev.once.proxy;

import static dev.once.suite.Http.assertProblem;
import static dev.once.suite.Http.assertReplayed;
import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.postKeyed;
import static dev.once.suite.Http.postKeyedUntilNot409;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.once.ProblemType;
import dev.once.suite.Http;
import dev.once.testing.Closing;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A keyed request whose client or upstream misbehaves: clients that hang up or read slowly,
 * upstreams that stall, stream for longer than a lease, answer after the client got 504, or never.
 * Every case counts the upstream's runs; none asserts a duration.
 */
class ProxyKeyedCallTest {
  @RegisterExtension final Closing closing = new Closing();
  private final CountDownLatch release = closing.latch();

  private Upstream upstream(String path, Upstream.Handler handler) throws IOException {
    Upstream upstream = Upstream.start().handle(path, handler);
    closing.add(upstream);
    return upstream;
  }

  private TestProxy proxy(Upstream upstream, String... flags) {
    List<String> args = new ArrayList<>(List.of("--upstream", upstream.uri().toString()));
    args.addAll(List.of(flags));
    TestProxy proxy = TestProxy.start(args.toArray(new String[0]));
    closing.first(proxy);
    return proxy;
  }

  /**
   * A keyed request the proxy times out (504), then, once {@code release} let the upstream answer
   * with what cannot be kept, its retry: told so (409), not run again.
   */
  private void timesOutThenTheRetryIsToldTheLateAnswerWasNotKept(URI payments) throws Exception {
    String key = newKey();

    HttpResponse<String> first = postKeyed(payments, key, "{}");
    release.countDown();
    HttpResponse<String> retry = postKeyed(payments, key, "{}");

    assertProblem(first, 504, UpstreamServlet.UPSTREAM_TIMEOUT);
    assertProblem(retry, 409, ProblemType.RESPONSE_NOT_REPLAYABLE.uri());
  }

  /** Answers 201 with a body of {@code length} bytes, one byte every {@code pauseMillis}. */
  private static Upstream.Handler trickle(int length, long pauseMillis) {
    return (exchange, run) -> {
      exchange.sendResponseHeaders(201, length);
      OutputStream out = exchange.getResponseBody();
      for (int i = 0; i < length; i++) {
        out.write('a' + i % 26);
        out.flush();
        Thread.sleep(pauseMillis);
      }
    };
  }

  private static String trickled(int length) {
    StringBuilder body = new StringBuilder();
    for (int i = 0; i < length; i++) {
      body.append((char) ('a' + i % 26));
    }
    return body.toString();
  }

  private static void awaitHits(Upstream upstream, String path, int count) throws Exception {
    for (int i = 0; i < 3000 && upstream.hits(path) < count; i++) {
      Thread.sleep(10);
    }
    assertThat(upstream.hits(path)).as("requests at the upstream").isEqualTo(count);
  }

  @Test
  void aClientThatHangsUpBeforeTheAnswerGetsItOnRetryAndTheUpstreamRanOnce() throws Exception {
    Upstream upstream = upstream("/payments", Upstream.jsonAfter(release, 201));
    TestProxy proxy = proxy(upstream, "--max-wait", "30s");
    String key = newKey();

    try (Socket client = RawClient.post(proxy.port(), "/payments", key, "{}")) {
      awaitHits(upstream, "/payments", 1);
      RawClient.hangUp(client);
    }
    release.countDown();
    HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{}");

    assertReplayed(retry, 201, "{\"run\":1}");
    // the answer came after the client had gone: its headers are kept with it all the same
    assertThat(retry.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(upstream.hits("/payments")).isEqualTo(1);
  }

  @Test
  void aClientThatHangsUpMidBodyGetsTheWholeBodyOnRetryAndTheUpstreamRanOnce() throws Exception {
    Upstream upstream = upstream("/payments", trickle(40, 50));
    TestProxy proxy = proxy(upstream, "--max-wait", "30s");
    String key = newKey();

    try (Socket client = RawClient.post(proxy.port(), "/payments", key, "{}")) {
      assertThat(RawClient.readUntil(client.getInputStream(), "abc")).startsWith("HTTP/1.1 201");
      RawClient.hangUp(client);
    }
    HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{}");

    assertReplayed(retry, 201, trickled(40));
    assertThat(upstream.hits("/payments")).isEqualTo(1);
  }

  @Test
  void aClientThatHangsUpOnAResponseTooLargeToKeepIsToldOnRetryAndNeverRunsTwice()
      throws Exception {
    Upstream upstream = upstream("/payments", trickle(60, 30));
    TestProxy proxy = proxy(upstream, "--max-wait", "30s", "--max-response", "20");
    String key = newKey();

    try (Socket client = RawClient.post(proxy.port(), "/payments", key, "{}")) {
      assertThat(RawClient.readUntil(client.getInputStream(), "ab")).startsWith("HTTP/1.1 201");
      RawClient.hangUp(client);
    }
    HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{}");

    assertProblem(retry, 409, ProblemType.RESPONSE_NOT_REPLAYABLE.uri());
    assertThat(retry.body()).contains("status 201");
    assertThat(upstream.hits("/payments")).isEqualTo(1);
  }

  /** The lease is renewed while the response streams: no retry runs beside it, however long. */
  @Test
  void aResponseStreamingPastManyLeasesRunsOnceAndRetriesMeanwhileGet409() throws Exception {
    Upstream upstream = upstream("/payments", trickle(12, 150));
    TestProxy proxy = proxy(upstream, "--lease", "300ms");

    ProxyScenarios.aResponseStreamingPastLeasesRunsOnceAndRetriesMeanwhileGet409(
        proxy.uri("/payments"), upstream, trickled(12));
  }

  @Test
  void anUpstreamSilentInTheMiddleOfItsBodyCutsTheResponseAndIsNeverRunTwice()
      throws Exception {
    Upstream upstream = upstream("/payments", (exchange, run) -> {
      exchange.sendResponseHeaders(201, 100);
      exchange.getResponseBody().write("abc".getBytes(StandardCharsets.US_ASCII));
      exchange.getResponseBody().flush();
      release.await(60, TimeUnit.SECONDS);
    });
    TestProxy proxy = proxy(upstream, "--upstream-timeout", "1s");
    String key = newKey();

    Throwable cut = catchThrowable(() -> Http.CLIENT.send(
        Http.post(proxy.uri("/payments"), key, "{}").build(), BodyHandlers.ofString()));
    HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{}");

    assertThat(cut).as("the client must see the response was cut").isInstanceOf(IOException.class);
    assertProblem(retry, 409, ProblemType.RESPONSE_NOT_REPLAYABLE.uri());
    assertThat(upstream.hits("/payments")).isEqualTo(1);
  }

  /** A client that reads slowly holds the upstream back; that is not the upstream's silence. */
  @Test
  void aSlowClientIsNotCutOffByTheUpstreamTimeout() throws Exception {
    byte[] large = new byte[8 << 20];
    Arrays.fill(large, (byte) 'x');
    Upstream upstream = upstream("/payments", (exchange, run) -> {
      exchange.sendResponseHeaders(201, large.length);
      exchange.getResponseBody().write(large);
    });
    TestProxy proxy = proxy(upstream, "--upstream-timeout", "500ms", "--max-response", "16MiB");
    String key = newKey();

    HttpResponse<InputStream> first = Http.CLIENT.send(
        Http.post(proxy.uri("/payments"), key, "{}").build(), BodyHandlers.ofInputStream());
    byte[] got;
    try (InputStream in = first.body()) {
      int b = in.read();
      Thread.sleep(2000); // the client stops reading for four upstream timeouts
      got = in.readAllBytes();
      assertThat(b).isEqualTo('x');
    }
    HttpResponse<byte[]> retry = Http.CLIENT.send(
        Http.post(proxy.uri("/payments"), key, "{}").build(), BodyHandlers.ofByteArray());

    assertThat(got.length + 1).isEqualTo(large.length);
    assertThat(retry.body()).isEqualTo(large);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(upstream.hits("/payments")).isEqualTo(1);
  }

  @Test
  void aLateAnswerTooLargeToKeepIsToldOnRetryAndNeverRunsTwice() throws Exception {
    Upstream upstream = upstream("/payments", (exchange, run) -> {
      release.await(60, TimeUnit.SECONDS);
      Upstream.respond(exchange, 201, "x".repeat(100));
    });
    TestProxy proxy = proxy(upstream, "--upstream-timeout", "500ms", "--max-response", "10",
        "--max-wait", "30s");

    timesOutThenTheRetryIsToldTheLateAnswerWasNotKept(proxy.uri("/payments"));

    assertThat(upstream.hits("/payments")).isEqualTo(1);
  }

  @Test
  void aLateAnswerThatIsNotCacheableReleasesTheKeyForTheRetry() throws Exception {
    Upstream upstream = upstream("/payments", (exchange, run) -> {
      if (run == 1) {
        release.await(60, TimeUnit.SECONDS);
      }
      Upstream.respond(exchange, run == 1 ? 500 : 201, "{\"run\":" + run + "}");
    });
    TestProxy proxy = proxy(upstream, "--upstream-timeout", "500ms");
    String key = newKey();

    HttpResponse<String> first = postKeyed(proxy.uri("/payments"), key, "{}");
    HttpResponse<String> during = postKeyed(proxy.uri("/payments"), key, "{}");
    release.countDown();
    HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{}");
    for (int i = 0; i < 1000 && retry.statusCode() == 409; i++) {
      Thread.sleep(10);
      retry = postKeyed(proxy.uri("/payments"), key, "{}");
    }

    assertProblem(first, 504, UpstreamServlet.UPSTREAM_TIMEOUT);
    assertProblem(during, 409, ProblemType.REQUEST_IN_PROGRESS.uri());
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.body()).isEqualTo("{\"run\":2}");
    assertThat(upstream.hits("/payments")).isEqualTo(2);
  }

  @Test
  void noAnswerByTheDeadlineIsAnUnknownOutcomeAndKeepNeverRunsItAgain() throws Exception {
    Upstream upstream = upstream("/payments", Upstream.jsonAfter(release, 201));
    TestProxy proxy = proxy(upstream, "--upstream-timeout", "300ms", "--upstream-deadline",
        "700ms", "--unknown-outcome", "keep");

    ProxyScenarios.noAnswerByTheDeadlineIsAnUnknownOutcomeKept(proxy.uri("/payments"), upstream,
        release);
  }

  @Test
  void anUnknownOutcomeHoldsTheKeyUntilItsLeasePassesThenARetryRuns() throws Exception {
    try (RawUpstream upstream = new RawUpstream(RawUpstream::reset);
        TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString(),
            "--lease", "1s")) {
      String key = newKey();

      HttpResponse<String> first = postKeyed(proxy.uri("/payments"), key, "{}");
      HttpResponse<String> held = postKeyed(proxy.uri("/payments"), key, "{}");
      HttpResponse<String> retry = postKeyedUntilNot409(proxy.uri("/payments"), key, "{}");

      assertProblem(first, 502, ProblemType.OUTCOME_UNKNOWN.uri());
      assertThat(held.statusCode()).as("a retry while the key was held").isEqualTo(409);
      assertProblem(retry, 502, ProblemType.OUTCOME_UNKNOWN.uri());
      assertThat(upstream.requests()).isEqualTo(2);
    }
  }

  /**
   * The proxy learns that a client hung up when it next writes to it; from then on it listens to
   * the upstream for the retry, up to the deadline, and not a moment longer.
   */
  @Test
  void anUpstreamThatStallsAfterItsClientHungUpIsGivenUpAtTheDeadlineAndNeverRunsTwice()
      throws Exception {
    CountDownLatch hungUp = new CountDownLatch(1);
    Upstream upstream = upstream("/payments", (exchange, run) -> {
      exchange.sendResponseHeaders(201, 100);
      OutputStream out = exchange.getResponseBody();
      out.write("abc".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      hungUp.await(60, TimeUnit.SECONDS);
      out.write("def".getBytes(StandardCharsets.US_ASCII)); // the proxy finds the client gone
      out.flush();
      release.await(60, TimeUnit.SECONDS);
    });
    TestProxy proxy = proxy(upstream, "--upstream-timeout", "60s", "--upstream-deadline", "1s");
    String key = newKey();

    try (Socket client = RawClient.post(proxy.port(), "/payments", key, "{}")) {
      assertThat(RawClient.readUntil(client.getInputStream(), "abc")).startsWith("HTTP/1.1 201");
      RawClient.hangUp(client);
    }
    hungUp.countDown();
    HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{}");
    for (int i = 0; i < 3000 && retry.body().contains(ProblemType.REQUEST_IN_PROGRESS.uri());
        i++) {
      Thread.sleep(10);
      retry = postKeyed(proxy.uri("/payments"), key, "{}");
    }

    assertProblem(retry, 409, ProblemType.RESPONSE_NOT_REPLAYABLE.uri());
    assertThat(upstream.hits("/payments")).isEqualTo(1);
  }

  @Test
  void anUpstreamThatBreaksOffInTheMiddleOfItsLateAnswerIsNeverRunTwice() throws Exception {
    String head = "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n";
    RawUpstream.Behaviour late = (socket, out) -> {
      try {
        release.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      RawUpstream.breakOffAfter(head, 10).answer(socket, out);
    };
    try (RawUpstream upstream = new RawUpstream(late);
        TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString(),
            "--upstream-timeout", "500ms", "--max-wait", "30s")) {
      timesOutThenTheRetryIsToldTheLateAnswerWasNotKept(proxy.uri("/payments"));

      assertThat(upstream.requests()).isEqualTo(1);
    }
  }

  /** The shortest upstream timeout there is: every client gets 504, every answer is still kept. */
  @Test
  void withTheShortestUpstreamTimeoutTheAnswerIsStillKeptForTheRetry() throws Exception {
    Upstream upstream = upstream("/payments", Upstream.jsonAfter(release, 201));
    TestProxy proxy = proxy(upstream, "--upstream-timeout", "1ms", "--max-wait", "30s");
    String key = newKey();

    HttpResponse<String> first = postKeyed(proxy.uri("/payments"), key, "{}");
    release.countDown();
    HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{}");

    assertProblem(first, 504, UpstreamServlet.UPSTREAM_TIMEOUT);
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.body()).isEqualTo("{\"run\":1}");
    assertThat(upstream.hits("/payments")).isEqualTo(1);
  }

  @Test
  void aChunkedAnswerIsKeptAndARetrySentTheMomentItEndedIsReplayed() throws Exception {
    Upstream upstream = upstream("/payments", (exchange, run) -> {
      exchange.sendResponseHeaders(201, 0); // chunked: no Content-Length
      exchange.getResponseBody().write(("{\"run\":" + run + "}").getBytes(StandardCharsets.UTF_8));
    });
    TestProxy proxy = proxy(upstream);
    for (int i = 0; i < 5; i++) {
      String key = newKey();

      HttpResponse<String> first = postKeyed(proxy.uri("/payments"), key, "{}");
      HttpResponse<String> retry = Http.postKeyedOnNewConnection(proxy.uri("/payments"), key, "{}");

      assertThat(first.statusCode()).isEqualTo(201);
      assertThat(retry.body()).isEqualTo(first.body());
      assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    }
    assertThat(upstream.hits("/payments")).isEqualTo(5);
  }

  /** Raw sockets, for clients that do what no HTTP client library does: hang up midway. */
  static final class RawClient {
    private RawClient() {}

    static Socket post(int port, String path, String key, String body) throws IOException {
      Socket socket = new Socket("127.0.0.1", port);
      socket.setSoTimeout(30_000);
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      String head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n"
          + "Idempotency-Key: " + key + "\r\nContent-Type: application/json\r\n"
          + "Content-Length: " + bytes.length + "\r\n\r\n";
      // head and body in one write, so the body is in when the proxy reads the head
      byte[] request = Arrays.copyOf(head.getBytes(StandardCharsets.ISO_8859_1),
          head.length() + bytes.length);
      System.arraycopy(bytes, 0, request, head.length(), bytes.length);
      OutputStream out = socket.getOutputStream();
      out.write(request);
      out.flush();
      return socket;
    }

    /** A response as read off the wire: its status, its headers (any case) and its body. */
    record Answer(int status, Map<String, List<String>> headers, String body) {
      /** @return the first value of the header {@code name}, if there is one */
      Optional<String> header(String name) {
        List<String> values = headers.getOrDefault(name, List.of());
        return values.stream().findFirst();
      }
    }

    /**
     * Sends a keyed POST with its head and body in one write (so the proxy's core has the whole
     * body when it reads the head) on a connection of its own, and reads the whole answer.
     *
     * @throws EOFException if the connection ends before the answer's declared end
     */
    static Answer exchange(int port, String path, String key, String body) throws IOException {
      try (Socket socket = post(port, path, key, body)) {
        return read(new BufferedInputStream(socket.getInputStream()));
      }
    }

    /** Reads one HTTP/1.1 response, its body by {@code Content-Length} or chunks. */
    static Answer read(InputStream in) throws IOException {
      String statusLine = line(in);
      String[] parts = statusLine.split(" ", 3);
      if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
        throw new IOException("not a status line: " + statusLine);
      }
      Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
      for (String line = line(in); !line.isEmpty(); line = line(in)) {
        int colon = line.indexOf(':');
        headers.computeIfAbsent(line.substring(0, colon), name -> new ArrayList<>())
            .add(line.substring(colon + 1).trim());
      }
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      List<String> length = headers.getOrDefault("Content-Length", List.of());
      if (!length.isEmpty()) {
        body.write(exactly(in, Integer.parseInt(length.get(0))));
      } else if (headers.getOrDefault("Transfer-Encoding", List.of()).contains("chunked")) {
        for (int size; (size = Integer.parseInt(line(in).split(";")[0].trim(), 16)) > 0; ) {
          body.write(exactly(in, size));
          line(in);
        }
        for (String trailer = line(in); !trailer.isEmpty(); trailer = line(in)) {
          // trailers are not looked at
        }
      } else {
        in.transferTo(body);
      }
      return new Answer(Integer.parseInt(parts[1]), headers,
          body.toString(StandardCharsets.UTF_8));
    }

    private static byte[] exactly(InputStream in, int size) throws IOException {
      byte[] bytes = in.readNBytes(size);
      if (bytes.length < size) {
        throw new EOFException("the answer was cut after " + bytes.length + " of " + size
            + " bytes");
      }
      return bytes;
    }

    private static String line(InputStream in) throws IOException {
      StringBuilder line = new StringBuilder();
      for (int b = in.read(); b != '\n'; b = in.read()) {
        if (b == -1) {
          throw new EOFException("the answer was cut in its head, after: " + line);
        }
        if (b != '\r') {
          line.append((char) b);
        }
      }
      return line.toString();
    }

    /** @return what was read, up to and including the first {@code marker} */
    static String readUntil(InputStream in, String marker) throws IOException {
      StringBuilder read = new StringBuilder();
      for (int b; read.indexOf(marker) < 0 && (b = in.read()) != -1; ) {
        read.append((char) b);
      }
      return read.toString();
    }

    /**
     * Returns once a connection to {@code port} is refused, trying every 10 ms.
     *
     * @param seconds how long the proxy may still accept connections
     * @param since what should have stopped it, for the failure's message
     */
    static void awaitConnectionRefused(int port, int seconds, String since) throws Exception {
      for (int i = 0; i < seconds * 100; i++) {
        try (Socket socket = new Socket("127.0.0.1", port)) {
          Thread.sleep(10);
        } catch (ConnectException refused) {
          return;
        } catch (IOException other) {
          Thread.sleep(10);
        }
      }
      throw new AssertionError(
          "the proxy still accepted connections " + seconds + " s after " + since);
    }

    /** Closes abruptly (a reset), as a client that crashed or lost its network does. */
    static void hangUp(Socket socket) throws IOException {
      socket.setSoLinger(true, 0);
      socket.close();
    }
  }
}
