package dev.once.proxy;

import static dev.once.suite.Http.assertProblem;
import static dev.once.suite.Http.newKey;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.ProblemType;
import dev.once.suite.Http;
import dev.once.testing.Closing;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The attacks of issue 12 on the packaged jar run as a process: slow keyed bodies, another
 * client's flood of keys with large responses, a store at its record bound, malformed requests.
 * Each counts the upstream's runs exactly and none asserts a duration.
 */
class ProxyJarHostileIT {
  @RegisterExtension final Closing closing = new Closing();
  private final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();

  /** An upstream that counts its runs by path and answers 201 with {@code size} bytes. */
  private Upstream upstream(int size) throws Exception {
    byte[] body = new byte[size];
    java.util.Arrays.fill(body, (byte) 'x');
    Upstream upstream = Upstream.start().handle("/", (exchange, run) -> {
      runs.computeIfAbsent(exchange.getRequestURI().getPath(), p -> new AtomicInteger())
          .incrementAndGet();
      exchange.getResponseHeaders().add("Content-Type", "application/octet-stream");
      exchange.sendResponseHeaders(201, body.length);
      exchange.getResponseBody().write(body);
    });
    closing.add(upstream);
    return upstream;
  }

  private ProxyJar jar(Upstream upstream, String... flags) throws Exception {
    ProxyJar jar = ProxyJar.listening(upstream.uri(), flags);
    closing.first(jar);
    return jar;
  }

  private int runs(String path) {
    AtomicInteger count = runs.get(path);
    return count == null ? 0 : count.get();
  }

  /**
   * The first failure of the issue: 300 connections each send a keyed POST that declares 100
   * bytes and sends one. Each is told {@code 100 Continue} first, so the proxy is reading every
   * one of them (it held 256 threads this way before) when an unrelated keyed request is sent: it
   * is answered while they are all still pending. Each then gets 408 at its deadline, and none of
   * their keys was taken: one of them, sent whole, runs.
   */
  @Test
  void threeHundredSlowKeyedBodiesHoldNoThreadGet408AtTheDeadlineAndTakeNoKey() throws Exception {
    Upstream upstream = upstream(16);
    ProxyJar jar = jar(upstream, "--body-timeout", "20s");
    int slow = 300;
    List<String> keys = new ArrayList<>();
    List<Socket> sockets = new ArrayList<>();
    for (int i = 0; i < slow; i++) {
      keys.add(newKey());
      Socket socket = new Socket("127.0.0.1", jar.port());
      closing.add(socket);
      socket.setSoTimeout(120_000);
      OutputStream out = socket.getOutputStream();
      out.write(("POST /slow/" + i + " HTTP/1.1\r\nHost: localhost\r\nIdempotency-Key: "
          + keys.get(i) + "\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      sockets.add(socket);
    }
    for (Socket socket : sockets) {
      assertThat(readLine(socket.getInputStream()))
          .as("the proxy reads the body").isEqualTo("HTTP/1.1 100 Continue");
      assertThat(readLine(socket.getInputStream())).isEmpty();
      socket.getOutputStream().write('{');
      socket.getOutputStream().flush();
    }

    HttpResponse<String> unrelated = Http.postKeyed(jar.uri("/unrelated"), newKey(), "{}");

    assertThat(unrelated.statusCode()).isEqualTo(201);
    for (Socket socket : sockets) {
      assertThat(socket.getInputStream().available()).as("still waiting for its body").isZero();
    }
    for (Socket socket : sockets) {
      String answer = rest(socket);
      assertThat(answer).startsWith("HTTP/1.1 408 ")
          .contains("Content-Type: application/problem+json")
          .contains("Connection: close")
          .contains("\"type\":\"" + ProblemType.BODY_TIMEOUT.uri() + "\"");
    }
    assertThat(runs).containsOnlyKeys("/unrelated");
    HttpResponse<String> whole = Http.postKeyed(jar.uri("/slow/0"), keys.get(0), "{}");
    assertThat(whole.statusCode()).isEqualTo(201);
    assertThat(whole.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(runs("/slow/0")).isEqualTo(1);
  }

  private static String readLine(InputStream in) throws Exception {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    for (int b; (b = in.read()) != -1 && b != '\n'; ) {
      if (b != '\r') {
        line.write(b);
      }
    }
    return line.toString(StandardCharsets.ISO_8859_1);
  }

  private static String rest(Socket socket) throws Exception {
    ByteArrayOutputStream answer = new ByteArrayOutputStream();
    socket.getInputStream().transferTo(answer);
    return answer.toString(StandardCharsets.ISO_8859_1);
  }

  /**
   * The third failure: with keys scoped by {@code Authorization}, alice stores three requests,
   * then mallory floods the proxy with 200 keys sent four times each, answered with 1 MB each
   * (200 MB against the memory store's 64 MiB bound). Her first three keys are alice's, in her own
   * scope. Alice's retries are replayed or told their response was not kept, never run again, and
   * each of mallory's keys ran exactly once.
   */
  @Test
  void anotherClientsFloodOfLargeResponsesNeverLetsARequestRunTwice() throws Exception {
    Upstream upstream = upstream(1_000_000);
    ProxyJar jar = jar(upstream, "--scope-header", "Authorization", "--max-wait", "30s");
    List<String> alices = List.of(newKey(), newKey(), newKey());
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    for (int i = 0; i < alices.size(); i++) {
      HttpResponse<Void> stored = client.send(keyed(jar.uri("/alice/" + i), "alice",
          alices.get(i)), BodyHandlers.discarding());
      assertThat(stored.statusCode()).isEqualTo(201);
    }

    ExecutorService mallory = Executors.newFixedThreadPool(8);
    closing.add(mallory::shutdownNow);
    List<Future<Integer>> answers = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      String key = i < alices.size() ? alices.get(i) : newKey();
      URI uri = jar.uri("/mallory/" + i);
      for (int copy = 0; copy < 4; copy++) {
        answers.add(mallory.submit(() -> client.send(keyed(uri, "mallory", key),
            BodyHandlers.discarding()).statusCode()));
      }
    }
    for (Future<Integer> answer : answers) {
      assertThat(answer.get(300, TimeUnit.SECONDS)).isIn(201, 409);
    }

    for (int i = 0; i < alices.size(); i++) {
      HttpResponse<String> retry = client.send(keyed(jar.uri("/alice/" + i), "alice",
          alices.get(i)), BodyHandlers.ofString());
      if (retry.statusCode() == 409) {
        assertProblem(retry, 409, ProblemType.RESPONSE_NOT_REPLAYABLE.uri());
      } else {
        assertThat(retry.statusCode()).isEqualTo(201);
        assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(retry.body()).hasSize(1_000_000);
      }
      assertThat(runs("/alice/" + i)).as("alice's request %d ran once", i).isEqualTo(1);
    }
    for (int i = 0; i < 200; i++) {
      assertThat(runs("/mallory/" + i)).as("mallory's key %d ran once", i).isEqualTo(1);
    }
    assertThat(runs).hasSize(203);
  }

  private static HttpRequest keyed(URI uri, String who, String key) {
    return HttpRequest.newBuilder(uri)
        .timeout(Duration.ofSeconds(120))
        .header("Authorization", "Bearer " + who)
        .header("Idempotency-Key", key)
        .POST(BodyPublishers.ofString("{\"who\":\"" + who + "\"}"))
        .build();
  }

  /** At {@code --memory-max-records} a new key is refused 503, never run and never let in. */
  @Test
  void atTheRecordBoundANewKeyGets503StoreFullWithRetryAfterAndStoredKeysStillReplay()
      throws Exception {
    Upstream upstream = upstream(16);
    ProxyJar jar = jar(upstream, "--memory-max-records", "3");
    List<String> kept = List.of(newKey(), newKey(), newKey());
    for (String key : kept) {
      assertThat(Http.postKeyed(jar.uri("/payments"), key, "{}").statusCode()).isEqualTo(201);
    }

    HttpResponse<String> full = Http.postKeyed(jar.uri("/payments"), newKey(), "{}");
    List<HttpResponse<String>> retries = new ArrayList<>();
    for (String key : kept) {
      retries.add(Http.postKeyed(jar.uri("/payments"), key, "{}"));
    }

    assertProblem(full, 503, ProblemType.STORE_FULL.uri());
    assertThat(full.headers().firstValue("Retry-After")).isPresent();
    assertThat(retries).allSatisfy(retry ->
        assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true"));
    assertThat(runs("/payments")).isEqualTo(3);
  }

  /**
   * Requests Jetty refuses, or the proxy cannot forward, are answered with a problem that shows
   * nothing of the proxy: no exception, no class, no stack frame, no upstream address.
   */
  @Test
  void malformedRequestsGetProblemsWithoutTheProxysInsides() throws Exception {
    Upstream upstream = upstream(16);
    ProxyJar jar = jar(upstream);
    Map<String, String> requests = Map.of(
        "a control character in a header", "GET /p HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n"
            + "Connection: close\r\n\r\n",
        "two Content-Lengths", "POST /p HTTP/1.1\r\nHost: x\r\nIdempotency-Key: k\r\n"
            + "Content-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{}",
        "a Content-Length beyond a long", "POST /p HTTP/1.1\r\nHost: x\r\nIdempotency-Key: k\r\n"
            + "Content-Length: 99999999999999999999999\r\nConnection: close\r\n\r\n{}",
        "headers too large", "GET /p HTTP/1.1\r\nHost: x\r\nX-Long: " + "a".repeat(20_000)
            + "\r\nConnection: close\r\n\r\n",
        "an unknown HTTP version", "GET /p HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n",
        "an ambiguous path", "GET /%2e%2e/p HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a malformed escape in the query, keyed", "POST /p?a=%zz HTTP/1.1\r\nHost: x\r\n"
            + "Idempotency-Key: k\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        "a malformed chunk, keyed", "POST /p HTTP/1.1\r\nHost: x\r\nIdempotency-Key: k2\r\n"
            + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");

    for (Map.Entry<String, String> request : requests.entrySet()) {
      String answer = Http.raw(jar.port(), request.getValue());

      assertThat(answer).as(request.getKey()).matches("(?s)HTTP/1\\.1 [45]\\d\\d .*")
          .contains("Content-Type: application/problem+json")
          .doesNotContain("Exception", "java.", "org.eclipse", "dev.once", "\tat ",
              ":" + upstream.port());
    }
    assertThat(runs).isEmpty();
  }
}
