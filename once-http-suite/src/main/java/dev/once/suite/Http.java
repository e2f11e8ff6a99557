package dev.once.suite;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.ProblemType;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The client side of the tests that put {@code once} in front of a real server: the JDK's HTTP
 * client for the requests a client would send, raw bytes on a socket for the ones it refuses to
 * send, and the checks the tests make of an answer (a problem, a replay).
 */
public final class Http {
  /** The tests' client: HTTP/1.1, as the adapters' servers speak it. */
  public static final HttpClient CLIENT = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10))
      .build();

  private Http() {}

  /** @return a fresh idempotency key */
  public static String newKey() {
    return UUID.randomUUID().toString();
  }

  /**
   * @param uri where to send it
   * @param key the {@code Idempotency-Key}, or null to send none
   * @param body the body, as UTF-8
   * @return a POST with a minute's timeout, to send as is or to add headers to
   */
  public static HttpRequest.Builder post(URI uri, String key, String body) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(uri)
        .timeout(Duration.ofSeconds(60))
        .POST(BodyPublishers.ofString(body));
    if (key != null) {
      builder.header("Idempotency-Key", key);
    }
    return builder;
  }

  /**
   * @param request the request to send with {@link #CLIENT}
   * @return the answer, its body as text
   * @throws Exception if it cannot be sent or the answer cannot be read
   */
  public static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return CLIENT.send(request.build(), BodyHandlers.ofString());
  }

  /**
   * @param uri where to send it
   * @param key the {@code Idempotency-Key}, or null to send none
   * @param body the body, as UTF-8
   * @return the answer to a POST of {@code body}
   * @throws Exception if it cannot be sent or the answer cannot be read
   */
  public static HttpResponse<String> postKeyed(URI uri, String key, String body)
      throws Exception {
    return send(post(uri, key, body));
  }

  /**
   * Posts on a connection of its own, as a client retrying from elsewhere would: nothing the
   * server still does on another connection delays it.
   *
   * @param uri where to send it
   * @param key the {@code Idempotency-Key}
   * @param body the body, as UTF-8
   * @return the answer
   * @throws Exception if it cannot be sent or the answer cannot be read
   */
  public static HttpResponse<String> postKeyedOnNewConnection(URI uri, String key, String body)
      throws Exception {
    // a client of its own has a pool of its own (HttpClient is closeable only from Java 21)
    HttpClient fresh = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    return fresh.send(post(uri, key, body).build(), BodyHandlers.ofString());
  }

  /**
   * @param uri where to send it
   * @param key the {@code Idempotency-Key}
   * @param body the body
   * @return the answer to a POST of {@code body}, its body as bytes
   * @throws Exception if it cannot be sent or the answer cannot be read
   */
  public static HttpResponse<byte[]> postBytes(URI uri, String key, byte[] body)
      throws Exception {
    return CLIENT.send(HttpRequest.newBuilder(uri)
        .header("Idempotency-Key", key)
        .POST(BodyPublishers.ofByteArray(body))
        .timeout(Duration.ofSeconds(60))
        .build(), BodyHandlers.ofByteArray());
  }

  /**
   * Posts {@code body} with {@code key} again and again while the answer is 409, the key still in
   * flight: {@link #postKeyedWhile} 409.
   *
   * @param uri where to post
   * @param key the {@code Idempotency-Key}
   * @param body the body, as UTF-8
   * @return the first answer that is not 409, or the last 409 if every one was
   * @throws Exception if a request cannot be sent or its answer cannot be read
   */
  public static HttpResponse<String> postKeyedUntilNot409(URI uri, String key, String body)
      throws Exception {
    return postKeyedWhile(409, uri, key, body);
  }

  /**
   * Posts {@code body} with {@code key} again and again while the answer is {@code status} (409:
   * the key still in flight; 503: the store still away): every 10 ms, for at most 30 seconds.
   *
   * @param status the answer to try again on
   * @param uri where to post
   * @param key the {@code Idempotency-Key}
   * @param body the body, as UTF-8
   * @return the first answer that is not {@code status}, or the last one if every one was
   * @throws Exception if a request cannot be sent or its answer cannot be read
   */
  public static HttpResponse<String> postKeyedWhile(int status, URI uri, String key, String body)
      throws Exception {
    // bounded by the clock, not by a count: each answer may itself take seconds (a store timeout)
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    HttpResponse<String> response = postKeyed(uri, key, body);
    while (response.statusCode() == status && System.nanoTime() < deadline) {
      Thread.sleep(10);
      response = postKeyed(uri, key, body);
    }
    return response;
  }

  /**
   * Sends raw bytes (for requests no well-behaved client would send) and returns the answer.
   *
   * @param port the server's port on {@code 127.0.0.1}
   * @param request the whole request, as ISO-8859-1
   * @return all the server sent until it closed the connection (or reset it)
   * @throws IOException if the request cannot be sent
   */
  public static String raw(int port, String request) throws IOException {
    return raw(port, request, false);
  }

  /**
   * Sends raw bytes, then closes the sending half, and returns what the server answers.
   *
   * @param port the server's port on {@code 127.0.0.1}
   * @param request the request, as ISO-8859-1; it may promise more body than it has
   * @return all the server sent until it closed the connection (or reset it)
   * @throws IOException if the request cannot be sent
   */
  public static String rawHalfClosed(int port, String request) throws IOException {
    return raw(port, request, true);
  }

  private static String raw(int port, String request, boolean halfClose) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      if (halfClose) {
        socket.shutdownOutput();
      }
      return readAll(socket.getInputStream());
    }
  }

  private static String readAll(InputStream in) throws IOException {
    ByteArrayOutputStream answer = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    try {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        answer.write(buffer, 0, n);
      }
    } catch (SocketException reset) {
      // the server reset the connection after what it sent, if anything
    }
    return answer.toString(StandardCharsets.ISO_8859_1);
  }

  /**
   * Opens a connection and sends a keyed POST to {@code /payments} that declares a JSON body of
   * {@code contentLength} bytes, then only the body's first byte, {@code {}: a client still
   * sending its body.
   *
   * @param port the server's port on {@code 127.0.0.1}
   * @param key the {@code Idempotency-Key}
   * @param contentLength the {@code Content-Length} the request declares
   * @return the connection, whose reads time out after a minute; the caller closes it
   * @throws IOException if the request cannot be sent
   */
  public static Socket startPost(int port, String key, int contentLength) throws IOException {
    Socket socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(60_000);
    OutputStream out = socket.getOutputStream();
    out.write(("POST /payments HTTP/1.1\r\nHost: localhost\r\nIdempotency-Key: " + key
        + "\r\nContent-Type: application/json\r\nContent-Length: " + contentLength
        + "\r\n\r\n{").getBytes(StandardCharsets.US_ASCII));
    out.flush();
    return socket;
  }

  /**
   * Sends a keyed POST without a body on a raw socket, waits for its handler to start, and hangs
   * up with a reset, as a client that vanished.
   *
   * @param port the server's port on {@code 127.0.0.1}
   * @param pathAndQuery what to post to
   * @param key the {@code Idempotency-Key}
   * @param runs the handler's runs: it has started once this reaches one
   * @throws Exception if the request cannot be sent
   */
  public static void postAndHangUp(int port, String pathAndQuery, String key, AtomicInteger runs)
      throws Exception {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.getOutputStream().write(("POST " + pathAndQuery + " HTTP/1.1\r\nHost: localhost\r\n"
          + "Idempotency-Key: " + key + "\r\nContent-Length: 0\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      awaitAtLeast(runs, 1);
      socket.setSoLinger(true, 0); // a reset, as a client that vanished
    }
  }

  /**
   * Waits until the record of {@code key} is no longer in progress, for at most half a minute.
   *
   * @param store the store that holds it
   * @param key its key
   * @throws InterruptedException if interrupted while waiting
   */
  public static void awaitFinished(IdempotencyStore store, String key)
      throws InterruptedException {
    CountDownLatch never = new CountDownLatch(1);
    for (int i = 0; i < 3000 && isInProgress(store, key); i++) {
      never.await(10, TimeUnit.MILLISECONDS);
    }
    assertThat(isInProgress(store, key)).as("the record of %s is finished", key).isFalse();
  }

  private static boolean isInProgress(IdempotencyStore store, String key) {
    Claim record = store.peek(key);
    return record != null && record.state() == Claim.State.IN_PROGRESS;
  }

  /**
   * Waits until {@code counter} reaches {@code count}, for at most a minute.
   *
   * @param counter what to watch
   * @param count the least it must reach
   * @throws InterruptedException if interrupted while waiting
   */
  public static void awaitAtLeast(AtomicInteger counter, int count) throws InterruptedException {
    CountDownLatch never = new CountDownLatch(1);
    for (int i = 0; i < 6000 && counter.get() < count; i++) {
      never.await(10, TimeUnit.MILLISECONDS);
    }
    assertThat(counter.get()).isGreaterThanOrEqualTo(count);
  }

  /**
   * @param response an answer
   * @return whether it is a replay ({@code Idempotent-Replayed: true})
   */
  public static boolean isReplay(HttpResponse<?> response) {
    return response.headers().firstValue("Idempotent-Replayed").orElse("").equals("true");
  }

  /**
   * Posts an empty body twice with one new key and asserts that each was answered {@code status}:
   * what a key released after its request failed gives.
   *
   * @param uri where to post
   * @param status the status of both answers
   * @throws Exception if a request cannot be sent or its answer cannot be read
   */
  public static void postTwiceWithOneKey(URI uri, int status) throws Exception {
    String key = newKey();
    assertThat(postKeyed(uri, key, "").statusCode()).isEqualTo(status);
    assertThat(postKeyed(uri, key, "").statusCode()).isEqualTo(status);
  }

  /**
   * Posts {@code body} with a new key, then again with the same key, and asserts that the second
   * answer replays the first ({@link #assertReplayOf}).
   *
   * @param uri where to post
   * @param body the body of both
   * @return the second answer, the replay
   * @throws Exception if a request cannot be sent or its answer cannot be read
   */
  public static HttpResponse<String> replayedRetry(URI uri, String body) throws Exception {
    String key = newKey();
    HttpResponse<String> first = postKeyed(uri, key, body);
    HttpResponse<String> retry = postKeyed(uri, key, body);
    assertReplayOf(retry, first);
    return retry;
  }

  /**
   * Asserts that {@code response} is a replay of that status and body.
   *
   * @param response the answer
   * @param status the status replayed
   * @param body the body replayed
   */
  public static void assertReplayed(HttpResponse<String> response, int status, String body) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    assertThat(response.body()).isEqualTo(body);
    assertThat(response.headers().firstValue("Idempotent-Replayed")).hasValue("true");
  }

  /**
   * Asserts that {@code retry} replays {@code first}: the same status and body, marked replayed.
   *
   * @param retry the answer to the retry
   * @param first the answer to the first request
   */
  public static void assertReplayOf(HttpResponse<String> retry, HttpResponse<String> first) {
    assertThat(retry.statusCode()).as("the replay's status").isEqualTo(first.statusCode());
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body());
  }

  /**
   * Asserts that {@code response} is an RFC 9457 problem of {@code type}.
   *
   * @param response the answer
   * @param type what it must be
   */
  public static void assertProblem(HttpResponse<String> response, ProblemType type) {
    assertProblem(response, type.status(), type.uri());
  }

  /**
   * Asserts that {@code response} is an RFC 9457 problem with that status and type.
   *
   * @param response the answer
   * @param status its status, which the problem repeats
   * @param type the problem's type URI
   */
  public static void assertProblem(HttpResponse<String> response, int status, String type) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(response.body())
        .contains("\"type\":\"" + type + "\"")
        .contains("\"status\":" + status);
  }
}
