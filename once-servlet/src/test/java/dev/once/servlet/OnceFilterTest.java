package dev.once.servlet;

import static dev.once.suite.Http.CLIENT;
import static dev.once.suite.Http.assertProblem;
import static dev.once.suite.Http.assertReplayed;
import static dev.once.suite.Http.awaitFinished;
import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.postAndHangUp;
import static dev.once.suite.Http.postKeyed;
import static dev.once.suite.Http.postKeyedOnNewConnection;
import static dev.once.suite.Http.postTwiceWithOneKey;
import static dev.once.suite.Http.replayedRetry;
import static dev.once.suite.Http.send;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.ProblemType;
import dev.once.suite.Http;
import dev.once.suite.RunningServer;
import jakarta.servlet.AsyncContext;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What only a servlet filter has to get right, in a real container, run once per container by
 * {@link OnceFilterJettyTest} and {@link OnceFilterTomcatTest}: the Servlet API's ways to answer
 * ({@code getWriter} charsets, {@code sendError}, {@code sendRedirect}, {@code reset}, early
 * commits, declared lengths, async dispatch and timeout) and to read ({@code getParameter},
 * {@code getReader}), and what a handler's own writes see when the client is gone. The behaviour
 * every adapter shares is {@code dev.once.suite.OnceHttpSuite}, run by {@link
 * OnceFilterJettySuiteTest} and {@link OnceFilterTomcatSuiteTest}.
 */
abstract class OnceFilterTest {
  private final MemoryStore store = MemoryStore.create();
  private final AtomicInteger runs = new AtomicInteger();
  /** Holds the {@code /hangup} handler until its client has hung up. */
  private final CountDownLatch hangup = new CountDownLatch(1);
  private final CountDownLatch handlerDone = new CountDownLatch(1);
  private final AtomicReference<Exception> handlerSaw = new AtomicReference<>();
  private RunningServer server;

  /** @return the container this run of the suite uses */
  abstract TestServer.Container container();

  @BeforeEach
  void start() throws Exception {
    server = serve(Once.builder(store).build());
  }

  @AfterEach
  void stop() throws Exception {
    hangup.countDown();
    server.close();
    store.close();
  }

  /** A server with the standard handlers, each counting its runs in {@link #runs}. */
  private RunningServer serve(Once once) throws Exception {
    return TestServer.with(once, container())
        .handle("/hangup", (request, response) -> {
          runs.incrementAndGet();
          try {
            hangup.await(30, TimeUnit.SECONDS);
            response.setStatus(201);
            response.setContentType("application/octet-stream");
            int size = Integer.parseInt(request.getParameter("size"));
            byte[] chunk = new byte[16 * 1024];
            for (int written = 0; written < size; written += chunk.length) {
              Arrays.fill(chunk, (byte) (written / chunk.length));
              response.getOutputStream().write(chunk);
            }
          } catch (IOException e) {
            handlerSaw.set(e);
            throw e;
          } finally {
            handlerDone.countDown();
          }
        })
        .handle("/send-error", (request, response) -> {
          runs.incrementAndGet();
          response.sendError(503, "try later");
        })
        .handle("/redirect", (request, response) -> {
          runs.incrementAndGet();
          response.sendRedirect("/payments/42");
        })
        .handle("/form", (request, response) -> {
          runs.incrementAndGet();
          response.setContentType("text/plain;charset=UTF-8");
          response.getWriter().write("amount=" + request.getParameter("amount")
              + " currency=" + request.getParameter("currency")
              + " names=" + request.getParameterMap().keySet());
        })
        .handle("/reader", (request, response) -> {
          runs.incrementAndGet();
          String body = request.getReader().lines().reduce("", String::concat);
          response.setContentType("text/plain;charset=UTF-8");
          response.getWriter().write("read:" + body);
        })
        .handle("/utf8", (request, response) -> {
          runs.incrementAndGet();
          response.setContentType("text/plain;charset=UTF-8");
          PrintWriter writer = response.getWriter();
          writer.print("h\u00e9llo \u2713 ");
          writer.println("\u4e16\u754c \ud83d\ude00");
          writer.printf("run %d", runs.get());
        })
        .handle("/early-commit", (request, response) -> {
          runs.incrementAndGet();
          response.setStatus(200);
          response.setContentType("text/plain");
          response.getOutputStream().write("first part;".getBytes(StandardCharsets.UTF_8));
          response.flushBuffer();
          response.getOutputStream().write("second part".getBytes(StandardCharsets.UTF_8));
        })
        .handle("/lingering", (request, response) -> {
          runs.incrementAndGet();
          byte[] body = "{\"done\":true}".getBytes(StandardCharsets.UTF_8);
          response.setStatus(201);
          response.setContentType("application/json");
          response.setContentLength(body.length);
          response.getOutputStream().write(body);
          // the handler still has work after the last byte of its declared length is out
          Thread.sleep(1500);
        })
        .handle("/lingering-writer", (request, response) -> {
          runs.incrementAndGet();
          response.setStatus(201);
          response.setContentType("text/plain;charset=UTF-8");
          String paid = "d\u00e9j\u00e0 pay\u00e9";
          response.setContentLength(paid.getBytes(StandardCharsets.UTF_8).length);
          response.getWriter().write(paid);
          response.getWriter().flush();
          Thread.sleep(1500);
        })
        .handle("/length-after-body", (request, response) -> {
          runs.incrementAndGet();
          byte[] body = "length told last".getBytes(StandardCharsets.UTF_8);
          response.setStatus(201);
          response.getOutputStream().write(body);
          // a container may end the response right here: the body already has this length
          response.setContentLength(body.length);
          Thread.sleep(1500);
        })
        .handle("/closed-then-lingering", (request, response) -> {
          runs.incrementAndGet();
          response.setStatus(201);
          response.setContentType("text/plain");
          response.getOutputStream()
              .write("closed without a length".getBytes(StandardCharsets.UTF_8));
          response.getOutputStream().close();
          Thread.sleep(1500);
        })
        .handle("/reset", (request, response) -> {
          runs.incrementAndGet();
          response.setHeader("X-Discarded", "yes");
          response.getWriter().write("discarded draft");
          response.reset();
          response.setStatus(201);
          response.setContentType("text/plain");
          response.getOutputStream().write("kept after reset;".getBytes(StandardCharsets.UTF_8));
          response.resetBuffer();
          response.getOutputStream().write("final".getBytes(StandardCharsets.UTF_8));
        })
        .handle("/async-dispatch", (request, response) -> {
          runs.incrementAndGet();
          AsyncContext async = request.startAsync();
          CompletableFuture.runAsync(() -> async.dispatch("/async-result"));
        })
        .handle("/async-result", (request, response) -> {
          response.setStatus(201);
          response.getWriter().write("dispatched result " + runs.get());
        })
        .handle("/async-timeout", (request, response) -> {
          runs.incrementAndGet();
          AsyncContext async = request.startAsync();
          async.setTimeout(100);
        })
        .start();
  }

  private HttpResponse<String> post(String path, String key, String body) throws Exception {
    return postKeyed(server.uri(path), key, body);
  }

  private HttpResponse<String> post(String path, String key, String body,
      UnaryOperator<HttpRequest.Builder> customize) throws Exception {
    return send(customize.apply(Http.post(server.uri(path), key, body)));
  }

  @Test
  void sendErrorReleasesTheKeyWhenItsStatusIsNotCacheable() throws Exception {
    postTwiceWithOneKey(server.uri("/send-error"), 503);

    assertThat(runs).hasValue(2);
  }

  @Test
  void aRedirectIsReplayedWithItsLocationWhenItsStatusIsCacheable() throws Exception {
    try (RunningServer redirects = serve(Once.builder(store).cacheableStatuses(201, 302).build())) {
      String key = newKey();
      HttpResponse<String> first = postKeyed(redirects.uri("/redirect"), key, "");

      HttpResponse<String> retry = postKeyed(redirects.uri("/redirect"), key, "");

      assertThat(first.statusCode()).isEqualTo(302);
      assertThat(retry.statusCode()).isEqualTo(302);
      assertThat(retry.headers().firstValue("Location"))
          .isEqualTo(first.headers().firstValue("Location"))
          .hasValueSatisfying(location -> assertThat(location).endsWith("/payments/42"));
      assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(runs).hasValue(1);
    }
  }

  @Test
  void aFormPostReachesTheHandlerThroughGetParameter() throws Exception {
    String key = newKey();
    UnaryOperator<HttpRequest.Builder> form =
        b -> b.header("Content-Type", "application/x-www-form-urlencoded");

    HttpResponse<String> first = post("/form?currency=EUR", key, "amount=100&note=caf%C3%A9", form);
    HttpResponse<String> retry = post("/form?currency=EUR", key, "amount=100&note=caf%C3%A9", form);
    HttpResponse<String> changed =
        post("/form?currency=EUR", key, "amount=999&note=caf%C3%A9", form);

    assertThat(first.body()).isEqualTo("amount=100 currency=EUR names=[currency, amount, note]");
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertProblem(changed, ProblemType.KEY_REUSED);
    assertThat(runs).hasValue(1);
  }

  @Test
  void theBodyReachesTheHandlerIntactThroughGetReader() throws Exception {
    HttpResponse<String> response = post("/reader", newKey(), "{\"note\":\"caf\u00e9\"}",
        b -> b.header("Content-Type", "application/json"));

    assertThat(response.body()).isEqualTo("read:{\"note\":\"caf\u00e9\"}");
  }

  @Test
  void aResponseWrittenWithGetWriterInUtf8IsReplayedByteForByte() throws Exception {
    String key = newKey();
    HttpResponse<byte[]> first = CLIENT.send(HttpRequest.newBuilder(server.uri("/utf8"))
        .header("Idempotency-Key", key).POST(BodyPublishers.noBody()).build(),
        BodyHandlers.ofByteArray());

    HttpResponse<byte[]> retry = CLIENT.send(HttpRequest.newBuilder(server.uri("/utf8"))
        .header("Idempotency-Key", key).POST(BodyPublishers.noBody()).build(),
        BodyHandlers.ofByteArray());

    assertThat(new String(first.body(), StandardCharsets.UTF_8))
        .isEqualTo("h\u00e9llo \u2713 \u4e16\u754c \ud83d\ude00" + System.lineSeparator()
            + "run 1");
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(retry.headers().firstValue("Content-Type"))
        .isEqualTo(first.headers().firstValue("Content-Type"))
        .hasValueSatisfying(type -> assertThat(type).containsIgnoringCase("charset=utf-8"));
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
  }

  @Test
  void aResponseCommittedEarlyIsStoredWhole() throws Exception {
    HttpResponse<String> replay = replayedRetry(server.uri("/early-commit"), "");

    assertThat(replay.body()).isEqualTo("first part;second part");
    assertThat(runs).hasValue(1);
  }

  /**
   * Handlers that linger 1.5 s after the response's end went out: a declared length reached by
   * the stream or by the writer, a length declared after the body, and a closed output.
   */
  static Stream<Arguments> responsesEndedBeforeTheHandlerReturns() {
    return Stream.of(
        Arguments.of("/lingering", "{\"done\":true}"),
        Arguments.of("/lingering-writer", "d\u00e9j\u00e0 pay\u00e9"),
        Arguments.of("/length-after-body", "length told last"),
        Arguments.of("/closed-then-lingering", "closed without a length"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("responsesEndedBeforeTheHandlerReturns")
  void aRetrySentTheMomentTheWholeResponseArrivedIsReplayedEvenWhileTheHandlerLingers(
      String path, String body) throws Exception {
    String key = newKey();
    HttpResponse<String> first = post(path, key, "");

    // on a new connection: the first one is not free for the retry until the handler returns
    HttpResponse<String> retry = postKeyedOnNewConnection(server.uri(path), key, "");

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).isEqualTo(body);
    assertReplayed(retry, 201, body);
    assertThat(runs).hasValue(1);
  }

  @Test
  void whatTheHandlerResetsIsNeitherSentNorStored() throws Exception {
    HttpResponse<String> replay = replayedRetry(server.uri("/reset"), "");

    assertReplayed(replay, 201, "final");
    assertThat(replay.headers().firstValue("X-Discarded")).isEmpty();
    assertThat(runs).hasValue(1);
  }

  @Test
  void anAsyncDispatchIsStoredWithWhatTheDispatchedServletWrote() throws Exception {
    assertReplayed(replayedRetry(server.uri("/async-dispatch"), ""), 201, "dispatched result 1");
    assertThat(runs).hasValue(1);
  }

  @Test
  void anAsyncTimeoutReleasesTheKey() throws Exception {
    String key = newKey();
    assertThat(post("/async-timeout", key, "").statusCode()).isEqualTo(500);
    // the container sends its 500 before it tells the filter the request completed, so the key
    // is released a moment after the answer: a retry sent in that moment gets 409, not a run
    awaitFinished(store, key);

    assertThat(post("/async-timeout", key, "").statusCode()).isEqualTo(500);
    assertThat(runs).hasValue(2);
  }

  /**
   * While the answer can still be kept, a write to a client that hung up never fails in the
   * handler: the suite's {@code aClientThatHangsUpGetsTheHandlersWholeAnswerOnItsRetry} proves it
   * in both containers, for a failed write would leave its retry without the replay.
   */
  @Test
  void aWriteToAClientThatHungUpFailsInTheHandlerOnceItsAnswerIsTooLargeToKeep()
      throws Exception {
    String key = newKey();
    int size = 2 * 1024 * 1024;

    postAndHangUp(server.port(), "/hangup?size=" + size, key, runs);
    hangup.countDown();
    assertThat(handlerDone.await(30, TimeUnit.SECONDS)).isTrue();
    // the handler is done; the filter finishes the record just after it returns
    awaitFinished(store, key);

    HttpResponse<String> retry = post("/hangup?size=" + size, key, "");
    assertThat(handlerSaw.get()).as("beyond the limit the handler sees the failure").isNotNull();
    assertProblem(retry, ProblemType.RESPONSE_NOT_REPLAYABLE);
    assertThat(runs).hasValue(1);
  }
}
