package dev.once.suite;

import static dev.once.suite.Http.CLIENT;
import static dev.once.suite.Http.assertProblem;
import static dev.once.suite.Http.assertReplayed;
import static dev.once.suite.Http.awaitAtLeast;
import static dev.once.suite.Http.awaitFinished;
import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.postBytes;
import static dev.once.suite.Http.postKeyed;
import static dev.once.suite.Http.postKeyedOnNewConnection;
import static dev.once.suite.Http.postTwiceWithOneKey;
import static dev.once.suite.Http.raw;
import static dev.once.suite.Http.rawHalfClosed;
import static dev.once.suite.Http.replayedRetry;
import static dev.once.suite.Http.send;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Fingerprint;
import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.ProblemType;
import dev.once.StoredResponse;
import dev.once.spi.Token;
import dev.once.testing.Concurrently;
import dev.once.testing.FailingStore;
import dev.once.testing.SlowCompletingStore;
import dev.once.testing.WaitCountingStore;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP behaviour every adapter of {@code once} must have, proven on a real server driven by
 * {@code java.net.http}: each row of the README's Responses table, replay fidelity, concurrent and
 * waiting duplicates, failures, the race at a response's end, and a client that hangs up.
 *
 * <p>An adapter runs it unchanged by extending it once per server it supports and saying how to
 * start that server ({@link #servers()}); the suite brings the engine, the store and the
 * handlers. Its own cases (what only its framework has: a servlet's {@code sendError}, a WebFlux
 * {@code DataBuffer}'s release) stay beside it, in classes of its own.
 *
 * <pre>{@code
 * class OnceFilterJettySuiteTest extends OnceHttpSuite {
 *   @Override
 *   protected ServerFactory servers() {
 *     return spec -> startJettyWithOnceFilter(spec);
 *   }
 * }
 * }</pre>
 *
 * <p>Every test waits with latches and counts, never with timing assertions: a handler that must
 * still be running holds on a latch the test opens, and "the handler ran once" is a count.
 */
public abstract class OnceHttpSuite {
  /** A date no server would send today: a replay that carries it kept the handler's Date. */
  private static final String OLD_DATE = "Mon, 01 Jan 2001 00:00:00 GMT";

  /** A binary body holding every byte value, in an order no text encoding survives. */
  private static final byte[] BINARY = binary();

  private final MemoryStore store = MemoryStore.create();
  private final AtomicInteger runs = new AtomicInteger();
  /** Holds the {@code /held} and {@code /fail-held} handlers until the test lets them go on. */
  private final CountDownLatch hold = new CountDownLatch(1);
  /** Holds the {@code /hangup} handler until its client has hung up. */
  private final CountDownLatch hangup = new CountDownLatch(1);
  private final CountDownLatch handlerDone = new CountDownLatch(1);
  private final List<RunningServer> started = new ArrayList<>();
  private RunningServer server;

  /**
   * @return how this adapter starts a server with {@code once} in front of the suite's handlers
   */
  protected abstract ServerFactory servers();

  @BeforeEach
  void startServer() throws Exception {
    server = serve(Once.builder(store).build());
  }

  @AfterEach
  void stopServers() throws Exception {
    hold.countDown();
    hangup.countDown();
    for (int i = started.size() - 1; i >= 0; i--) {
      started.get(i).close();
    }
    store.close();
  }

  /**
   * Starts a server with the suite's handlers; it is closed after the test.
   *
   * @param once the engine
   * @return the server
   * @throws Exception if it cannot start
   */
  private RunningServer serve(Once once) throws Exception {
    return serve(once, 0);
  }

  private RunningServer serve(Once once, int workerThreads) throws Exception {
    RunningServer running = servers().start(new ServerSpec(once, routes(), workerThreads));
    started.add(running);
    return running;
  }

  /** The suite's handlers; each counts its runs in {@link #runs}. */
  private Map<String, Handler> routes() {
    Map<String, Handler> routes = new LinkedHashMap<>();
    routes.put("/payments", (Handler.Blocking) request -> {
      int run = runs.incrementAndGet();
      return Reply.of(201)
          .header("Content-Type", "application/json")
          .header("Location", "/payments/" + run)
          .header("Set-Cookie", "session=s" + run)
          .header("Set-Cookie2", "legacy=l" + run)
          .header("Idempotent-Replayed", "false")
          .header("Date", OLD_DATE)
          .header("X-Run", Integer.toString(run))
          .header("X-Repeated", "first")
          .header("X-Repeated", "second")
          .body("{\"run\":" + run + ",\"echo\":" + request.bodyText() + "}");
    });
    routes.put("/echo", (Handler.Blocking) request -> {
      runs.incrementAndGet();
      return Reply.of(200).header("Content-Type", "application/octet-stream")
          .body(request.body());
    });
    routes.put("/binary", (Handler.Blocking) request -> {
      runs.incrementAndGet();
      return Reply.of(201).header("Content-Type", "application/octet-stream")
          .body(chunks(BINARY, 8 * 1024));
    });
    routes.put("/status", (Handler.Blocking) request -> {
      runs.incrementAndGet();
      int status = request.intParameter("code");
      return Reply.of(status).header("Content-Type", "text/plain").body("status " + status);
    });
    routes.put("/held", (Handler.Blocking) request -> {
      runs.incrementAndGet();
      hold.await(60, TimeUnit.SECONDS);
      return Reply.of(201).header("Content-Type", "text/plain").body("held done");
    });
    routes.put("/fail", (Handler.Blocking) request -> {
      runs.incrementAndGet();
      throw new IllegalStateException("handler failed");
    });
    routes.put("/fail-held", (Handler.Blocking) request -> {
      runs.incrementAndGet();
      hold.await(60, TimeUnit.SECONDS);
      throw new IllegalStateException("failed after the duplicates parked");
    });
    routes.put("/async", (Handler.Async) request -> {
      int run = runs.incrementAndGet();
      // answered later, on a thread of its own
      return CompletableFuture.supplyAsync(
          () -> Reply.of(201).header("Content-Type", "text/plain").body("async run " + run),
          CompletableFuture.delayedExecutor(100, TimeUnit.MILLISECONDS));
    });
    routes.put("/fail-async", (Handler.Async) request -> {
      runs.incrementAndGet();
      return CompletableFuture.supplyAsync(() -> {
        throw new IllegalStateException("async handler failed");
      }, CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS));
    });
    routes.put("/large", (Handler.Blocking) request -> {
      runs.incrementAndGet();
      return Reply.of(201).header("Content-Type", "application/octet-stream")
          .body(filledChunks(2 << 20, 64 * 1024));
    });
    routes.put("/hangup", (Handler.Blocking) request -> {
      runs.incrementAndGet();
      try {
        hangup.await(60, TimeUnit.SECONDS);
        return Reply.of(201).header("Content-Type", "application/octet-stream")
            .body(filledChunks(request.intParameter("size"), 16 * 1024));
      } finally {
        handlerDone.countDown();
      }
    });
    return routes;
  }

  @Test
  void firstRequestWithAKeyRunsTheHandler() throws Exception {
    HttpResponse<String> response = post("/payments", newKey(), "{\"amount\":100}");

    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(response.body()).isEqualTo("{\"run\":1,\"echo\":{\"amount\":100}}");
    assertThat(response.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(runs).hasValue(1);
  }

  @Test
  void retryIsReplayedWithStatusHeadersAndBodyAndTheHandlerDoesNotRunAgain() throws Exception {
    String key = newKey();
    HttpResponse<String> first = post("/payments", key, "{\"amount\":100}");

    HttpResponse<String> retry = post("/payments", key, "{\"amount\":100}");

    assertThat(runs).hasValue(1);
    assertReplayed(retry, 201, first.body());
    assertThat(retry.headers().firstValue("Location")).hasValue("/payments/1");
    assertThat(retry.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(retry.headers().firstValue("X-Run")).hasValue("1");
    assertThat(first.headers().allValues("X-Repeated")).containsExactly("first", "second");
    assertThat(retry.headers().allValues("X-Repeated")).containsExactly("first", "second");
    assertThat(retry.headers().allValues("Server")).isEqualTo(first.headers().allValues("Server"));
    assertThat(retry.headers().firstValue("Content-Length"))
        .hasValue(Integer.toString(first.body().length()));
  }

  @Test
  void setCookieIsNotReplayed() throws Exception {
    String key = newKey();
    HttpResponse<String> first = post("/payments", key, "{}");

    HttpResponse<String> retry = post("/payments", key, "{}");

    assertThat(first.headers().allValues("Set-Cookie")).containsExactly("session=s1");
    assertThat(first.headers().allValues("Set-Cookie2")).containsExactly("legacy=l1");
    assertThat(retry.headers().allValues("Set-Cookie")).isEmpty();
    assertThat(retry.headers().allValues("Set-Cookie2")).isEmpty();
  }

  @Test
  void aHandlersOwnIdempotentReplayedIsNotPassedOnAndAReplayCarriesAFreshDate()
      throws Exception {
    String key = newKey();
    HttpResponse<String> first = post("/payments", key, "{}");

    HttpResponse<String> retry = post("/payments", key, "{}");

    assertThat(first.headers().allValues("Idempotent-Replayed")).isEmpty();
    assertThat(retry.headers().allValues("Idempotent-Replayed")).containsExactly("true");
    // the handler sent a Date of 2001: the replay's is the server's own, of now
    assertThat(retry.headers().allValues("Date")).hasSize(1);
    ZonedDateTime date = ZonedDateTime.parse(retry.headers().firstValue("Date").orElseThrow(),
        DateTimeFormatter.RFC_1123_DATE_TIME);
    assertThat(Duration.between(date.toInstant(), Instant.now()).abs())
        .isLessThan(Duration.ofMinutes(5));
  }

  @Test
  void aBinaryResponseIsReplayedByteForByte() throws Exception {
    String key = newKey();
    HttpResponse<byte[]> first = postBytes(server.uri("/binary"), key, new byte[0]);

    HttpResponse<byte[]> retry = postBytes(server.uri("/binary"), key, new byte[0]);

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).isEqualTo(BINARY);
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.body()).isEqualTo(BINARY);
    assertThat(retry.headers().firstValue("Content-Type")).hasValue("application/octet-stream");
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(runs).hasValue(1);
  }

  @Test
  void aBinaryBodyReachesTheHandlerIntact() throws Exception {
    byte[] body = new byte[200_000];
    new Random(7).nextBytes(body);

    HttpResponse<byte[]> response = postBytes(server.uri("/echo"), newKey(), body);

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo(body);
  }

  @Test
  void aResponseKeptByAnotherFrontEndOverTheSameStoreIsReplayed() throws Exception {
    // what a proxy, or a service built on another adapter, kept for this request: every adapter
    // fingerprints the method, the path and the query as received, and the body
    String key = newKey();
    byte[] body = "{\"amount\":7}".getBytes(StandardCharsets.UTF_8);
    keep(key, Fingerprint.of("POST", "/payments", "currency=EUR", body), StoredResponse.of(201,
        List.of(new StoredResponse.Header("Content-Type", "application/json"),
            new StoredResponse.Header("Location", "/payments/elsewhere")),
        "{\"kept\":\"elsewhere\"}".getBytes(StandardCharsets.UTF_8)));

    HttpResponse<String> retry = post("/payments?currency=EUR", key, "{\"amount\":7}");

    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.body()).isEqualTo("{\"kept\":\"elsewhere\"}");
    assertThat(retry.headers().firstValue("Location")).hasValue("/payments/elsewhere");
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(runs).hasValue(0);
  }

  @Test
  void aMethodSpelledInLowerCaseIsStillCovered() throws Exception {
    String key = newKey();
    HttpResponse<String> first = post("/payments", key, "{}", b -> b.method("post",
        BodyPublishers.ofString("{}")));

    HttpResponse<String> retry = post("/payments", key, "{}", b -> b.method("Post",
        BodyPublishers.ofString("{}")));

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(runs).hasValue(1);
  }

  @Test
  void aGetIsNotTouched() throws Exception {
    HttpRequest get = HttpRequest.newBuilder(server.uri("/status?code=200"))
        .header("Idempotency-Key", "ignored").GET().build();

    HttpResponse<String> response = CLIENT.send(get, BodyHandlers.ofString());
    HttpResponse<String> again = CLIENT.send(get, BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(again.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(runs).hasValue(2);
  }

  @Test
  void retryWhileTheFirstIsRunningGets409WithRetryAfter() throws Exception {
    String key = newKey();
    CompletableFuture<HttpResponse<String>> first = running(server.uri("/held"), key);

    HttpResponse<String> duplicate = post("/held", key, "");
    hold.countDown();

    assertProblem(duplicate, ProblemType.REQUEST_IN_PROGRESS);
    assertThat(duplicate.headers().firstValue("Retry-After")).hasValue("1");
    assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
    assertThat(runs).hasValue(1);
  }

  @Test
  void ofTwoHundredConcurrentRequestsWithOneKeyTheHandlerRunsExactlyOnce() throws Exception {
    String key = newKey();
    AtomicInteger conflicts = new AtomicInteger();

    // whichever request claims the key is held until the 199 others have been answered
    List<HttpResponse<String>> responses = Concurrently.run(200, i -> {
      HttpResponse<String> response = post("/held", key, "");
      if (response.statusCode() == 409 && conflicts.incrementAndGet() == 199) {
        hold.countDown();
      }
      return response;
    });

    assertThat(runs).hasValue(1);
    assertThat(responses).filteredOn(r -> r.statusCode() == 409).hasSize(199)
        .allSatisfy(r -> assertProblem(r, ProblemType.REQUEST_IN_PROGRESS));
    assertThat(responses).filteredOn(r -> r.statusCode() != 409).singleElement()
        .satisfies(r -> {
          assertThat(r.statusCode()).isEqualTo(201);
          assertThat(r.body()).isEqualTo("held done");
          assertThat(r.headers().firstValue("Idempotent-Replayed")).isEmpty();
        });
  }

  @Test
  void withMaxWaitADuplicateWaitsAndGetsTheReplay() throws Exception {
    WaitCountingStore counting = new WaitCountingStore(store);
    RunningServer waiting = serve(Once.builder(counting).maxWait(Duration.ofSeconds(60)).build());
    String key = newKey();
    CompletableFuture<HttpResponse<String>> first = running(waiting.uri("/held"), key);
    CompletableFuture<HttpResponse<String>> duplicate = postAsync(waiting.uri("/held"), key);
    assertThat(counting.awaitWaits(1)).as("the duplicate waits").isTrue();

    hold.countDown();

    HttpResponse<String> replay = duplicate.get(30, TimeUnit.SECONDS);
    assertReplayed(replay, 201, "held done");
    assertThat(first.get(30, TimeUnit.SECONDS).headers().firstValue("Idempotent-Replayed"))
        .isEmpty();
    assertThat(runs).hasValue(1);
  }

  @Test
  void aDuplicateThatPrefersNotToWaitGets409AtOnceEvenWithMaxWait() throws Exception {
    RunningServer waiting = serve(Once.builder(store).maxWait(Duration.ofSeconds(60)).build());
    String key = newKey();
    CompletableFuture<HttpResponse<String>> first = running(waiting.uri("/held"), key);

    HttpResponse<String> duplicate =
        send(Http.post(waiting.uri("/held"), key, "").header("Prefer", "wait=0"));
    hold.countDown();

    assertProblem(duplicate, ProblemType.REQUEST_IN_PROGRESS);
    assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
    assertThat(runs).hasValue(1);
  }

  @Test
  void threeHundredWaitingDuplicatesHoldNoThreadAllGetTheReplayAndTheHandlerRunsOnce()
      throws Exception {
    WaitCountingStore counting = new WaitCountingStore(store);
    Once waiting = Once.builder(counting).maxWait(Duration.ofSeconds(60)).build();
    RunningServer small = serve(waiting, 16);
    String key = newKey();
    CompletableFuture<HttpResponse<String>> first = running(small.uri("/held"), key);
    List<CompletableFuture<HttpResponse<String>>> duplicates = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      duplicates.add(postAsync(small.uri("/held"), key));
    }
    assertThat(counting.awaitWaits(300)).as("all 300 duplicates wait").isTrue();

    // 300 parked duplicates on 16 threads: an unrelated request is still served
    HttpResponse<String> unrelated = postKeyed(small.uri("/payments"), newKey(), "{}");
    assertThat(unrelated.statusCode()).isEqualTo(201);
    assertThat(first).isNotDone();
    hold.countDown();

    assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
    for (CompletableFuture<HttpResponse<String>> duplicate : duplicates) {
      HttpResponse<String> answer = duplicate.get(60, TimeUnit.SECONDS);
      assertReplayed(answer, 201, "held done");
    }
    assertThat(runs).hasValue(2);
  }

  @Test
  void waitingDuplicatesOfARequestThatFailsAreToldToSendItAgainAndTheRetryRuns()
      throws Exception {
    WaitCountingStore counting = new WaitCountingStore(store);
    RunningServer waiting = serve(Once.builder(counting).maxWait(Duration.ofSeconds(60)).build());
    String key = newKey();
    CompletableFuture<HttpResponse<String>> first = running(waiting.uri("/fail-held"), key);
    List<CompletableFuture<HttpResponse<String>>> duplicates = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      duplicates.add(postAsync(waiting.uri("/fail-held"), key));
    }
    assertThat(counting.awaitWaits(20)).as("all 20 duplicates wait").isTrue();

    hold.countDown();

    assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(500);
    for (CompletableFuture<HttpResponse<String>> duplicate : duplicates) {
      HttpResponse<String> answer = duplicate.get(30, TimeUnit.SECONDS);
      assertProblem(answer, ProblemType.REQUEST_IN_PROGRESS);
      assertThat(answer.headers().firstValue("Retry-After")).hasValue("1");
      assertThat(answer.body()).contains("send it again");
    }
    assertThat(runs).hasValue(1);
    assertThat(postKeyed(waiting.uri("/fail-held"), key, "").statusCode()).isEqualTo(500);
    assertThat(runs).hasValue(2);
  }

  @Test
  void aHandlerThatOutlivesManyLeasesRunsOnceAndDuplicatesMeanwhileGet409() throws Exception {
    RunningServer shortLease = serve(Once.builder(store).lease(Duration.ofSeconds(1)).build());
    String key = newKey();
    CompletableFuture<HttpResponse<String>> first = running(shortLease.uri("/held"), key);

    for (int i = 0; i < 8; i++) {
      new CountDownLatch(1).await(500, TimeUnit.MILLISECONDS); // four leases in all
      assertProblem(postKeyed(shortLease.uri("/held"), key, ""),
          ProblemType.REQUEST_IN_PROGRESS);
    }
    hold.countDown();

    assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
    HttpResponse<String> retry = postKeyed(shortLease.uri("/held"), key, "");
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(runs).hasValue(1);
  }

  @Test
  void sameKeyWithADifferentBodyGets422() throws Exception {
    assertTheKeyIsReusedBy(retry -> retry.POST(BodyPublishers.ofString("{\"amount\":500}")));
  }

  @Test
  void sameKeyWithAnotherQueryGets422() throws Exception {
    assertTheKeyIsReusedBy(retry -> retry.uri(server.uri("/payments?dry-run=1")));
  }

  @Test
  void sameKeyOnAnotherPathGets422() throws Exception {
    assertTheKeyIsReusedBy(retry -> retry.uri(server.uri("/echo")));
  }

  @Test
  void sameKeyWithAnotherMethodGets422() throws Exception {
    assertTheKeyIsReusedBy(retry -> retry.method("PATCH", BodyPublishers.ofString("{}")));
  }

  /**
   * Posts {@code {}} to {@code /payments} with a new key, then the same request changed by {@code
   * change} with the same key: the change is refused as a reuse of the key.
   */
  private void assertTheKeyIsReusedBy(UnaryOperator<HttpRequest.Builder> change)
      throws Exception {
    String key = newKey();
    post("/payments", key, "{}");

    HttpResponse<String> retry = post("/payments", key, "{}", change);

    assertProblem(retry, ProblemType.KEY_REUSED);
    assertThat(runs).hasValue(1);
  }

  @Test
  void missingKeyPassesThroughWhenOptionalAndGets400WhenRequired() throws Exception {
    assertThat(post("/payments", null, "{}").statusCode()).isEqualTo(201);
    assertThat(post("/payments", null, "{}").statusCode()).isEqualTo(201);
    assertThat(runs).hasValue(2);

    RunningServer strict = serve(Once.builder(store).requireKey(true).build());
    HttpResponse<String> response = postKeyed(strict.uri("/payments"), null, "{}");

    assertProblem(response, ProblemType.KEY_MISSING);
    assertThat(runs).hasValue(2);
  }

  @Test
  void emptyTooLongOrDuplicatedKeysGet400() throws Exception {
    assertProblem(post("/payments", "", "{}"), ProblemType.KEY_INVALID);
    assertProblem(post("/payments", "k".repeat(256), "{}"), ProblemType.KEY_INVALID);
    assertProblem(post("/payments", "a", "{}", b -> b.header("Idempotency-Key", "b")),
        ProblemType.KEY_INVALID);
    assertThat(post("/payments", "k".repeat(255), "{}").statusCode()).isEqualTo(201);
    assertThat(runs).hasValue(1);
  }

  @Test
  void aKeyWithNonAsciiOrControlCharactersGets400() throws Exception {
    String nonAscii = raw(server.port(), "POST /payments HTTP/1.1\r\nHost: x\r\n"
        + "Idempotency-Key: caf\u00e9\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
    // a server may refuse a control character in a header itself, before any adapter runs
    String control = raw(server.port(), "POST /payments HTTP/1.1\r\nHost: x\r\n"
        + "Idempotency-Key: bad\u0001key\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");

    assertThat(nonAscii).startsWith("HTTP/1.1 400");
    assertThat(nonAscii).contains("application/problem+json")
        .contains(ProblemType.KEY_INVALID.uri()).contains("U+00E9");
    assertThat(control).startsWith("HTTP/1.1 400");
    assertThat(runs).hasValue(0);
  }

  @Test
  void aQuotedKeyIsTheSameKeyAsItsBareForm() throws Exception {
    String key = newKey();
    post("/payments", "\"" + key + "\"", "{}");

    HttpResponse<String> retry = post("/payments", key, "{}");

    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(runs).hasValue(1);
  }

  @Test
  void aLargeBodyIsFingerprintedWholeWithOrWithoutContentLength() throws Exception {
    String key = newKey();
    String body = "{\"memo\":\"" + "x".repeat(200_000) + "\"}";
    HttpResponse<String> chunked = CLIENT.send(HttpRequest.newBuilder(server.uri("/payments"))
        .header("Idempotency-Key", key)
        .POST(BodyPublishers.ofInputStream(
            () -> new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8))))
        .build(), BodyHandlers.ofString());

    HttpResponse<String> sameWithLength = post("/payments", key, body);
    HttpResponse<String> lastByteChanged =
        post("/payments", key, body.substring(0, body.length() - 1) + "]");

    assertThat(chunked.statusCode()).isEqualTo(201);
    assertThat(chunked.body()).endsWith(body + "}");
    assertThat(sameWithLength.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(sameWithLength.body()).isEqualTo(chunked.body());
    assertProblem(lastByteChanged, ProblemType.KEY_REUSED);
    assertThat(runs).hasValue(1);
  }

  @Test
  void aBodyOverTheLimitGets413() throws Exception {
    RunningServer small = serve(Once.builder(store).maxBodyBytes(16).build());
    HttpResponse<String> tooLarge =
        postKeyed(small.uri("/payments"), newKey(), "{\"amount\":1000000}");
    HttpResponse<String> chunked = CLIENT.send(HttpRequest.newBuilder(small.uri("/payments"))
        .header("Idempotency-Key", newKey())
        .POST(BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(
            "{\"amount\":1000000}".getBytes(StandardCharsets.UTF_8))))
        .build(), BodyHandlers.ofString());

    assertProblem(tooLarge, ProblemType.REQUEST_TOO_LARGE);
    assertProblem(chunked, ProblemType.REQUEST_TOO_LARGE);
    assertThat(runs).hasValue(0);
  }

  @Test
  void aBodyCutOffBeforeItsEndNeverRunsTheHandlerAndLeavesTheKeyFree() throws Exception {
    String key = newKey();
    // 10 of the 100 bytes promised, then the client stops sending
    String answer = rawHalfClosed(server.port(), "POST /echo HTTP/1.1\r\nHost: x\r\n"
        + "Idempotency-Key: " + key + "\r\nContent-Length: 100\r\n\r\n0123456789");

    // 400 request-body-unreadable; or the server's own 400 (Tomcat answers with its error page
    // once a read of the body failed), or no answer to a client that stopped: never the handler
    if (!answer.isEmpty()) {
      assertThat(answer).startsWith("HTTP/1.1 400");
      if (answer.contains("application/problem+json")) {
        assertThat(answer).contains(ProblemType.BODY_UNREADABLE.uri());
      }
    }
    assertThat(runs).hasValue(0);
    HttpResponse<byte[]> whole = postBytes(server.uri("/echo"), key, new byte[100]);
    assertThat(whole.statusCode()).isEqualTo(200);
    assertThat(runs).hasValue(1);
  }

  @Test
  void aHandlerThatThrowsReleasesTheKeySoTheRetryRunsAgain() throws Exception {
    postTwiceWithOneKey(server.uri("/fail"), 500);

    assertThat(runs).hasValue(2);
  }

  @Test
  void anAsyncHandlerThatFailsReleasesTheKeySoTheRetryRunsAgain() throws Exception {
    postTwiceWithOneKey(server.uri("/fail-async"), 500);

    assertThat(runs).hasValue(2);
  }

  @Test
  void aNonCacheableStatusReleasesTheKey() throws Exception {
    postTwiceWithOneKey(server.uri("/status?code=500"), 500);
    assertThat(post("/status?code=400", newKey(), "").statusCode()).isEqualTo(400);

    assertThat(runs).hasValue(3);
  }

  @Test
  void anAsyncResponseIsStoredWhenItCompletes() throws Exception {
    assertReplayed(replayedRetry(server.uri("/async"), ""), 201, "async run 1");
    assertThat(runs).hasValue(1);
  }

  @Test
  void aResponseOverTheLimitIsSentWholeButTheRetryIsToldItWasNotKept() throws Exception {
    RunningServer limited = serve(Once.builder(store).maxResponseBytes(1 << 20).build());
    String key = newKey();
    HttpResponse<byte[]> first = postBytes(limited.uri("/large"), key, new byte[0]);

    HttpResponse<String> retry = postKeyed(limited.uri("/large"), key, "");

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).hasSize(2 << 20);
    assertThat(first.body()[(2 << 20) - 1]).isEqualTo((byte) 31);
    assertProblem(retry, ProblemType.RESPONSE_NOT_REPLAYABLE);
    assertThat(retry.body()).contains("status 201");
    assertThat(runs).hasValue(1);
  }

  @Test
  void aRecordOfAnUnknownOutcomeIsAnswered502AndNeverRunsAgain() throws Exception {
    // a proxy over the same store kept it: its upstream had the request, then broke off
    String key = newKey();
    byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
    keep(key, Fingerprint.of("POST", "/payments", null, body), StoredResponse.outcomeUnknown());

    HttpResponse<String> retry = post("/payments", key, "{}");

    assertProblem(retry, ProblemType.OUTCOME_UNKNOWN);
    assertThat(runs).hasValue(0);
  }

  @Test
  void anUnreachableStoreGives503AndTheHandlerDoesNotRun() throws Exception {
    FailingStore failing = new FailingStore(store);
    RunningServer down = serve(Once.builder(failing).build());
    failing.failing(true);

    assertProblem(postKeyed(down.uri("/payments"), newKey(), "{}"),
        ProblemType.STORE_UNAVAILABLE);
    assertThat(runs).hasValue(0);

    failing.failing(false);
    assertThat(postKeyed(down.uri("/payments"), newKey(), "{}").statusCode()).isEqualTo(201);
  }

  @Test
  void anUnreachableStoreWithFailOpenPassesTheRequestThrough() throws Exception {
    FailingStore failing = new FailingStore(store);
    RunningServer open = serve(Once.builder(failing).failOpen(true).build());
    failing.failing(true);

    HttpResponse<String> response = postKeyed(open.uri("/payments"), newKey(), "{\"a\":1}");

    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(response.body()).contains("\"echo\":{\"a\":1}");
  }

  @Test
  void aFullStoreGives503WithRetryAfterAndTheHandlerDoesNotRunButReplaysGoOn() throws Exception {
    MemoryStore one = MemoryStore.builder().maximumRecords(1).build();
    try {
      RunningServer full = serve(Once.builder(one).failOpen(true).build());
      String kept = newKey();
      assertThat(postKeyed(full.uri("/payments"), kept, "{}").statusCode()).isEqualTo(201);

      HttpResponse<String> refused = postKeyed(full.uri("/payments"), newKey(), "{}");
      HttpResponse<String> replay = postKeyed(full.uri("/payments"), kept, "{}");

      // never run without idempotency, even with failOpen: the store works, it is full
      assertProblem(refused, ProblemType.STORE_FULL);
      assertThat(refused.headers().firstValue("Retry-After")).isPresent();
      assertThat(replay.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(runs).hasValue(1);
    } finally {
      one.close();
    }
  }

  @Test
  void aRetrySentTheMomentTheResponseArrivedIsReplayedEvenWhenTheStoreIsSlow() throws Exception {
    // a store that takes its time to keep the response: the client must still not see the
    // response's end before the record is kept
    RunningServer slow =
        serve(Once.builder(new SlowCompletingStore(store, Duration.ofMillis(300))).build());
    String key = newKey();
    HttpResponse<String> first = postKeyed(slow.uri("/payments"), key, "{}");

    HttpResponse<String> retry = postKeyedOnNewConnection(slow.uri("/payments"), key, "{}");

    assertThat(first.statusCode()).isEqualTo(201);
    assertReplayed(retry, 201, first.body());
    assertThat(runs).hasValue(1);
  }

  @Test
  void aRetrySentTheMomentAnAsyncResponseArrivedIsReplayedEvenWhenTheStoreIsSlow()
      throws Exception {
    RunningServer slow =
        serve(Once.builder(new SlowCompletingStore(store, Duration.ofMillis(300))).build());
    String key = newKey();
    HttpResponse<String> first = postKeyed(slow.uri("/async"), key, "");

    HttpResponse<String> retry = postKeyedOnNewConnection(slow.uri("/async"), key, "");

    assertThat(first.body()).isEqualTo("async run 1");
    assertReplayed(retry, 201, "async run 1");
    assertThat(runs).hasValue(1);
  }

  @Test
  void aClientThatHangsUpGetsTheHandlersWholeAnswerOnItsRetry() throws Exception {
    String key = newKey();
    int size = 256 * 1024;

    postAndHangUp("/hangup?size=" + size, key);

    HttpResponse<byte[]> retry = postBytes(server.uri("/hangup?size=" + size), key, new byte[0]);
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).hasSize(size);
    assertThat(retry.body()[size - 1]).isEqualTo((byte) (size / (16 * 1024) - 1));
    assertThat(runs).hasValue(1);
  }

  @Test
  void aClientThatHangsUpOnAnAnswerTooLargeToKeepIsNeverRunTwice() throws Exception {
    String key = newKey();
    int size = 2 * 1024 * 1024;

    postAndHangUp("/hangup?size=" + size, key);

    HttpResponse<String> retry = post("/hangup?size=" + size, key, "");
    assertProblem(retry, ProblemType.RESPONSE_NOT_REPLAYABLE);
    assertThat(runs).hasValue(1);
  }

  /**
   * Sends a keyed POST on a raw socket, waits for the handler to start, hangs up, lets the handler
   * answer, and waits until the record of the request is finished.
   */
  private void postAndHangUp(String pathAndQuery, String key) throws Exception {
    Http.postAndHangUp(server.port(), pathAndQuery, key, runs);
    hangup.countDown();
    assertThat(handlerDone.await(30, TimeUnit.SECONDS)).isTrue();
    // the handler is done; the adapter finishes the record once the answer is written
    awaitFinished(store, key);
  }

  /** Puts a completed record in the store, as another front end over it would have. */
  private void keep(String key, Fingerprint fingerprint, StoredResponse response) {
    Token token = store.claim(key, fingerprint, Duration.ofMinutes(1)).token();
    assertThat(store.complete(key, token, response, Duration.ofHours(1))).isTrue();
  }

  private HttpResponse<String> post(String pathAndQuery, String key, String body)
      throws Exception {
    return postKeyed(server.uri(pathAndQuery), key, body);
  }

  private HttpResponse<String> post(String pathAndQuery, String key, String body,
      UnaryOperator<HttpRequest.Builder> customize) throws Exception {
    return send(customize.apply(Http.post(server.uri(pathAndQuery), key, body)));
  }

  /** @return a keyed POST to {@code uri}, sent once its handler has begun to run */
  private CompletableFuture<HttpResponse<String>> running(URI uri, String key)
      throws InterruptedException {
    CompletableFuture<HttpResponse<String>> first = postAsync(uri, key);
    awaitAtLeast(runs, 1);
    return first;
  }

  private static CompletableFuture<HttpResponse<String>> postAsync(URI uri, String key) {
    return CLIENT.sendAsync(Http.post(uri, key, "").build(), BodyHandlers.ofString());
  }

  private static byte[] binary() {
    byte[] bytes = new byte[100_000];
    new Random(14).nextBytes(bytes);
    for (int i = 0; i < 256; i++) {
      bytes[i] = (byte) i;
    }
    return bytes;
  }

  private static byte[][] chunks(byte[] body, int size) {
    byte[][] chunks = new byte[(body.length + size - 1) / size][];
    for (int i = 0; i < chunks.length; i++) {
      chunks[i] = Arrays.copyOfRange(body, i * size, Math.min(body.length, (i + 1) * size));
    }
    return chunks;
  }

  /** {@code size} bytes in chunks of {@code chunkSize}, each filled with its index. */
  private static byte[][] filledChunks(int size, int chunkSize) {
    byte[][] chunks = new byte[size / chunkSize][];
    for (int i = 0; i < chunks.length; i++) {
      chunks[i] = new byte[chunkSize];
      Arrays.fill(chunks[i], (byte) i);
    }
    return chunks;
  }
}
