package dev.once.proxy;

import static dev.once.suite.Http.assertProblem;
import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.postKeyed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.ProblemType;
import dev.once.suite.Http;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the proxy passes on, and that traffic idempotency does not touch is streamed both ways, not
 * buffered: each streaming test makes the far side wait until the near side has seen the first
 * bytes, which a buffering proxy could never let happen (the test would time out).
 */
class ProxyForwardingTest {
  /** Far more than the 1 MiB the proxy keeps of a response. */
  private static final int LARGE = 16 << 20;
  private static final int FIRST_PART = 1 << 20;

  private final CountDownLatch clientHasFirstBytes = new CountDownLatch(1);
  private final CountDownLatch upstreamHasFirstBytes = new CountDownLatch(1);
  private final AtomicLong upstreamReceived = new AtomicLong();
  private Upstream upstream;
  private TestProxy proxy;

  @BeforeEach
  void start() throws Exception {
    upstream = Upstream.start()
        .handle("/echo", (exchange, run) -> {
          exchange.getResponseHeaders().add("X-Upstream-Header", "kept");
          exchange.getResponseHeaders().add("X-Multi", "a");
          exchange.getResponseHeaders().add("X-Multi", "b");
          Upstream.respond(exchange, 202, "{\"run\":" + run + "}");
        })
        .handle("/download", (exchange, run) -> {
          exchange.getResponseHeaders().add("Content-Type", "application/octet-stream");
          exchange.sendResponseHeaders(200, LARGE);
          OutputStream out = exchange.getResponseBody();
          out.write(pattern(0, FIRST_PART));
          out.flush();
          if (!clientHasFirstBytes.await(20, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the client never saw the first bytes");
          }
          for (int offset = FIRST_PART; offset < LARGE; offset += FIRST_PART) {
            out.write(pattern(offset, FIRST_PART));
          }
        })
        .handle("/upload", false, (exchange, run) -> {
          InputStream in = exchange.getRequestBody();
          MessageDigest digest = MessageDigest.getInstance("SHA-256");
          byte[] chunk = new byte[64 * 1024];
          for (int n; (n = in.read(chunk)) != -1; ) {
            digest.update(chunk, 0, n);
            upstreamReceived.addAndGet(n);
            upstreamHasFirstBytes.countDown();
          }
          Upstream.respond(exchange, 201, "{\"received\":" + upstreamReceived.get()
              + ",\"sha256\":\"" + hex(digest.digest()) + "\"}");
        });
    proxy = TestProxy.start("--upstream", upstream.uri() + "/", "--upstream-timeout", "10s");
  }

  @AfterEach
  void stop() {
    clientHasFirstBytes.countDown();
    upstreamHasFirstBytes.countDown();
    proxy.close();
    upstream.close();
  }

  @Test
  void everyMethodPathQueryHeaderAndBodyReachesTheUpstreamWithForwardedHeaders()
      throws Exception {
    HttpResponse<String> response = Http.send(HttpRequest.newBuilder(
            proxy.uri("/echo/items/7?q=a%20b&x=1&x=2"))
        .method("PUT", BodyPublishers.ofString("{\"name\":\"seven\"}"))
        .header("Content-Type", "application/json")
        .header("X-Custom", "one")
        .header("X-Forwarded-For", "203.0.113.9"));

    Upstream.Seen seen = upstream.next();
    assertThat(response.statusCode()).isEqualTo(202);
    assertThat(response.body()).isEqualTo("{\"run\":1}");
    assertThat(response.headers().firstValue("X-Upstream-Header")).hasValue("kept");
    assertThat(response.headers().allValues("X-Multi")).containsExactly("a", "b");
    assertThat(seen.method).isEqualTo("PUT");
    assertThat(seen.uri.getRawPath()).isEqualTo("/echo/items/7");
    assertThat(seen.uri.getRawQuery()).isEqualTo("q=a%20b&x=1&x=2");
    assertThat(seen.body()).isEqualTo("{\"name\":\"seven\"}");
    assertThat(seen.header("Content-type")).isEqualTo("application/json");
    assertThat(seen.header("X-custom")).isEqualTo("one");
    assertThat(seen.header("X-forwarded-for")).isEqualTo("203.0.113.9, 127.0.0.1");
    assertThat(seen.header("X-forwarded-proto")).isEqualTo("http");
    assertThat(seen.header("X-forwarded-host")).isEqualTo("127.0.0.1:" + proxy.port());
    assertThat(seen.header("Host")).isEqualTo("127.0.0.1:" + upstream.port());
    assertThat(seen.header("Via")).isEqualTo("1.1 once-proxy");
  }

  @Test
  void aKeyedRequestReachesTheUpstreamWithItsKeyAndWholeBodyEvenWithExpectContinue()
      throws Exception {
    byte[] body = new byte[300_000]; // far over the proxy servlet's 4 KiB read buffer
    new Random(3).nextBytes(body);
    String key = newKey();

    HttpResponse<String> plain = Http.send(HttpRequest.newBuilder(proxy.uri("/upload"))
        .header("Idempotency-Key", key).POST(BodyPublishers.ofByteArray(body)));
    Upstream.Seen first = upstream.next();
    upstreamReceived.set(0);
    HttpResponse<String> expecting = Http.send(HttpRequest.newBuilder(proxy.uri("/upload"))
        .header("Idempotency-Key", newKey()).expectContinue(true)
        .POST(BodyPublishers.ofByteArray(body)));

    String expected = "{\"received\":300000,\"sha256\":\"" + sha256(body) + "\"}";
    assertThat(plain.statusCode()).isEqualTo(201);
    assertThat(plain.body()).isEqualTo(expected);
    assertThat(first.header("Idempotency-key")).isEqualTo(key);
    assertThat(expecting.statusCode()).isEqualTo(201);
    assertThat(expecting.body()).isEqualTo(expected);
  }

  @Test
  void aGetIsStreamedThroughAndNeverKeptEvenWithAKey() throws Exception {
    HttpResponse<InputStream> response = Http.CLIENT.send(
        HttpRequest.newBuilder(proxy.uri("/download")).header("Idempotency-Key", newKey())
            .timeout(Duration.ofSeconds(30)).GET().build(),
        BodyHandlers.ofInputStream());

    assertStreamedWhole(response);
    HttpResponse<String> again = Http.send(HttpRequest.newBuilder(proxy.uri("/echo"))
        .header("Idempotency-Key", "same").GET());
    HttpResponse<String> third = Http.send(HttpRequest.newBuilder(proxy.uri("/echo"))
        .header("Idempotency-Key", "same").GET());
    assertThat(third.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(again.body()).isEqualTo("{\"run\":1}");
    assertThat(third.body()).isEqualTo("{\"run\":2}");
  }

  @Test
  void aKeyedResponseLargerThanMaxResponseIsStreamedWholeAndTheRetryIsToldItWasNotKept()
      throws Exception {
    String key = newKey();
    HttpResponse<InputStream> response = Http.CLIENT.send(
        Http.post(proxy.uri("/download"), key, "").method("POST", BodyPublishers.noBody()).build(),
        BodyHandlers.ofInputStream());

    assertStreamedWhole(response);
    HttpResponse<String> retry = Http.send(
        Http.post(proxy.uri("/download"), key, "").method("POST", BodyPublishers.noBody()));
    assertProblem(retry, 409, ProblemType.RESPONSE_NOT_REPLAYABLE.uri());
    assertThat(upstream.hits("/download")).isEqualTo(1);
  }

  @Test
  void aRequestBodyWithoutAKeyIsStreamedToTheUpstreamAsTheClientSendsIt() throws Exception {
    PipedOutputStream client = new PipedOutputStream();
    PipedInputStream pipe = new PipedInputStream(client, 64 * 1024);
    CompletableFuture<HttpResponse<String>> response = Http.CLIENT.sendAsync(
        HttpRequest.newBuilder(proxy.uri("/upload")).timeout(Duration.ofSeconds(30))
            .POST(BodyPublishers.ofInputStream(() -> pipe)).build(),
        BodyHandlers.ofString());
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    byte[] part = pattern(0, FIRST_PART);

    client.write(part);
    digest.update(part);
    client.flush();
    assertThat(upstreamHasFirstBytes.await(20, TimeUnit.SECONDS))
        .as("the upstream got bytes before the client finished sending").isTrue();
    for (int offset = FIRST_PART; offset < 8 * FIRST_PART; offset += FIRST_PART) {
      byte[] more = pattern(offset, FIRST_PART);
      client.write(more);
      digest.update(more);
    }
    client.close();

    assertThat(response.get(30, TimeUnit.SECONDS).body()).isEqualTo(
        "{\"received\":" + 8 * FIRST_PART + ",\"sha256\":\"" + hex(digest.digest()) + "\"}");
  }

  @Test
  void aPostWithoutAKeyIsForwardedEveryTime() throws Exception {
    assertThat(postKeyed(proxy.uri("/echo"), null, "{}").body()).isEqualTo("{\"run\":1}");
    assertThat(postKeyed(proxy.uri("/echo"), null, "{}").body()).isEqualTo("{\"run\":2}");
  }

  /** Reads the first bytes, lets the upstream go on, then checks every byte of the rest. */
  private void assertStreamedWhole(HttpResponse<InputStream> response) throws IOException {
    assertThat(response.statusCode()).isEqualTo(200);
    try (InputStream in = response.body()) {
      byte[] first = in.readNBytes(1024);
      assertThat(first).isEqualTo(pattern(0, 1024));
      clientHasFirstBytes.countDown();
      long total = first.length;
      long firstWrong = -1;
      byte[] chunk = new byte[64 * 1024];
      for (int n; (n = in.readNBytes(chunk, 0, chunk.length)) > 0; ) {
        if (firstWrong < 0 && !Arrays.equals(Arrays.copyOf(chunk, n), pattern(total, n))) {
          firstWrong = total;
        }
        total += n;
      }
      assertThat(total).isEqualTo(LARGE);
      assertThat(firstWrong).as("offset of the first chunk that is not what was sent")
          .isEqualTo(-1);
    }
  }

  /** Bytes that differ by position, so a lost or repeated chunk is seen. */
  private static byte[] pattern(long offset, int length) {
    byte[] bytes = new byte[length];
    for (int i = 0; i < length; i++) {
      long position = offset + i;
      bytes[i] = (byte) (position * 31 + (position >>> 16));
    }
    return bytes;
  }

  private static String sha256(byte[] bytes) throws Exception {
    return hex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  private static String hex(byte[] bytes) {
    return java.util.HexFormat.of().formatHex(bytes);
  }
}
