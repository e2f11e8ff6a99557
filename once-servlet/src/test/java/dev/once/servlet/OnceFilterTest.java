package dev.once.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.ProblemType;
import dev.once.testing.Concurrently;
import dev.once.testing.FailingStore;
import dev.once.testing.SlowCompletingStore;
import jakarta.servlet.AsyncContext;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The filter in a real container, run once per container by {@link OnceFilterJettyTest} and
 * {@link OnceFilterTomcatTest}.
 */
abstract class OnceFilterTest {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private final MemoryStore store = MemoryStore.create();
  private final AtomicInteger runs = new AtomicInteger();
  /** Holds the {@code /held} handler until the test lets it answer. */
  private final CountDownLatch hold = new CountDownLatch(1);
  /** Holds the {@code /hangup} handler until its client has hung up. */
  private final CountDownLatch hangup = new CountDownLatch(1);
  private final CountDownLatch handlerDone = new CountDownLatch(1);
  private final java.util.concurrent.atomic.AtomicReference<Exception> handlerSaw =
      new java.util.concurrent.atomic.AtomicReference<>();
  private TestServer server;

  /** @return the container this run of the suite uses */
  abstract TestServer.Container container();

  @BeforeEach
  void start() throws Exception {
    server = serve(Once.builder(store).build());
  }

  @AfterEach
  void stop() throws Exception {
    hold.countDown();
    hangup.countDown();
    server.close();
    store.close();
  }

  /** A server with the standard handlers, each counting its runs in {@link #runs}. */
  private TestServer serve(Once once) throws Exception {
    return serve(once, 0);
  }

  private TestServer serve(Once once, int maxThreads) throws Exception {
    return TestServer.with(once, container())
        .maxThreads(maxThreads)
        .handle("/hangup", (request, response) -> {
          runs.incrementAndGet();
          try {
            hangup.await(30, TimeUnit.SECONDS);
            response.setStatus(201);
            response.setContentType("application/octet-stream");
            int size = Integer.parseInt(request.getParameter("size"));
            byte[] chunk = new byte[16 * 1024];
            for (int written = 0; written < size; written += chunk.length) {
              java.util.Arrays.fill(chunk, (byte) (written / chunk.length));
              response.getOutputStream().write(chunk);
            }
          } catch (java.io.IOException e) {
            handlerSaw.set(e);
            throw e;
          } finally {
            handlerDone.countDown();
          }
        })
        .handle("/fail-held", (request, response) -> {
          runs.incrementAndGet();
          hold.await(30, TimeUnit.SECONDS);
          throw new IllegalStateException("failed after the duplicates parked");
        })
        .handle("/payments", (request, response) -> {
          int run = runs.incrementAndGet();
          String body = new String(request.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
          response.setStatus(201);
          response.setContentType("application/json");
          response.setHeader("Location", "/payments/" + run);
          response.addHeader("Set-Cookie", "session=s" + run);
          response.addHeader("Set-Cookie2", "legacy=l" + run);
          response.setHeader("Idempotent-Replayed", "false");
          response.setHeader("X-Run", Integer.toString(run));
          response.getOutputStream().write(
              ("{\"run\":" + run + ",\"echo\":" + body + "}").getBytes(StandardCharsets.UTF_8));
        })
        .handle("/slow", (request, response) -> {
          runs.incrementAndGet();
          Thread.sleep(500);
          response.setStatus(201);
          response.getWriter().write("slow done");
        })
        .handle("/held", (request, response) -> {
          runs.incrementAndGet();
          hold.await(30, TimeUnit.SECONDS);
          response.setStatus(201);
          response.getWriter().write("held done");
        })
        .handle("/fail", (request, response) -> {
          runs.incrementAndGet();
          throw new IllegalStateException("handler failed");
        })
        .handle("/status/*", (request, response) -> {
          runs.incrementAndGet();
          response.setStatus(Integer.parseInt(request.getPathInfo().substring(1)));
          response.getWriter().write("status " + request.getPathInfo());
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
        .handle("/large", (request, response) -> {
          runs.incrementAndGet();
          response.setStatus(201);
          response.setContentType("application/octet-stream");
          byte[] chunk = new byte[64 * 1024];
          for (int i = 0; i < 32; i++) {
            java.util.Arrays.fill(chunk, (byte) i);
            response.getOutputStream().write(chunk);
          }
        })
        .handle("/async", (request, response) -> {
          int run = runs.incrementAndGet();
          AsyncContext async = request.startAsync();
          CompletableFuture.runAsync(() -> {
            try {
              Thread.sleep(100);
              async.getResponse().setContentType("text/plain");
              ((jakarta.servlet.http.HttpServletResponse) async.getResponse()).setStatus(201);
              async.getResponse().getWriter().write("async run " + run);
            } catch (Exception e) {
              throw new IllegalStateException(e);
            } finally {
              async.complete();
            }
          });
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
    return post(path, key, body, b -> b);
  }

  private HttpResponse<String> post(String path, String key, String body,
      UnaryOperator<HttpRequest.Builder> customize) throws Exception {
    return post(server.uri(path), key, body, customize);
  }

  private static HttpResponse<String> post(URI uri, String key, String body,
      UnaryOperator<HttpRequest.Builder> customize) throws Exception {
    HttpRequest.Builder builder = HttpRequest.newBuilder(uri)
        .POST(BodyPublishers.ofString(body))
        .timeout(Duration.ofSeconds(30));
    if (key != null) {
      builder.header("Idempotency-Key", key);
    }
    return CLIENT.send(customize.apply(builder).build(), BodyHandlers.ofString());
  }

  /** Posts on a connection of its own, so nothing the server does on another one delays it. */
  private static HttpResponse<String> postOnNewConnection(URI uri, String key) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(uri)
        .POST(BodyPublishers.ofString(""))
        .header("Idempotency-Key", key)
        .timeout(Duration.ofSeconds(30))
        .build();
    // a client of its own has a pool of its own (HttpClient is closeable only from Java 21)
    HttpClient fresh = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    return fresh.send(request, BodyHandlers.ofString());
  }

  private static String newKey() {
    return UUID.randomUUID().toString();
  }

  private static void assertProblem(HttpResponse<String> response, ProblemType type) {
    assertThat(response.statusCode()).isEqualTo(type.status());
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(response.body())
        .contains("\"type\":\"" + type.uri() + "\"")
        .contains("\"status\":" + type.status());
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
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.headers().firstValue("Location")).hasValue("/payments/1");
    assertThat(retry.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(retry.headers().firstValue("X-Run")).hasValue("1");
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
    assertThat(retry.headers().allValues("Date")).hasSize(1);
    java.time.ZonedDateTime date = java.time.ZonedDateTime.parse(
        retry.headers().firstValue("Date").orElseThrow(),
        java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME);
    assertThat(Duration.between(date.toInstant(), java.time.Instant.now()).abs())
        .isLessThan(Duration.ofMinutes(5));
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
  void retryWhileTheFirstIsRunningGets409WithRetryAfter() throws Exception {
    String key = newKey();
    CompletableFuture<HttpResponse<String>> first =
        CompletableFuture.supplyAsync(() -> sendQuietly("/held", key));
    awaitRuns(1);

    HttpResponse<String> duplicate = post("/held", key, "");
    hold.countDown();

    assertProblem(duplicate, ProblemType.REQUEST_IN_PROGRESS);
    assertThat(duplicate.headers().firstValue("Retry-After")).hasValue("1");
    assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
    assertThat(runs).hasValue(1);
  }

  @Test
  void withMaxWaitADuplicateWaitsAndGetsTheReplay() throws Exception {
    try (TestServer waiting = serve(Once.builder(store).maxWait(Duration.ofSeconds(10)).build())) {
      String key = newKey();
      CompletableFuture<HttpResponse<String>> first = CompletableFuture.supplyAsync(
          () -> sendQuietly(waiting.uri("/slow"), key));
      awaitRuns(1);

      HttpResponse<String> duplicate = post(waiting.uri("/slow"), key, "", b -> b);

      assertThat(duplicate.statusCode()).isEqualTo(201);
      assertThat(duplicate.body()).isEqualTo("slow done");
      assertThat(duplicate.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(first.get(30, TimeUnit.SECONDS).headers().firstValue("Idempotent-Replayed"))
          .isEmpty();
      assertThat(runs).hasValue(1);
    }
  }

  @Test
  void sameKeyWithADifferentBodyGets422() throws Exception {
    String key = newKey();
    post("/payments", key, "{\"amount\":100}");

    HttpResponse<String> retry = post("/payments", key, "{\"amount\":500}");

    assertProblem(retry, ProblemType.KEY_REUSED);
    assertThat(runs).hasValue(1);
  }

  @Test
  void sameKeyOnAnotherPathGets422() throws Exception {
    String key = newKey();
    post("/payments", key, "{}");

    assertProblem(post("/payments?dry-run=1", key, "{}"), ProblemType.KEY_REUSED);
  }

  @Test
  void missingKeyPassesThroughWhenOptionalAndGets400WhenRequired() throws Exception {
    assertThat(post("/payments", null, "{}").statusCode()).isEqualTo(201);
    assertThat(post("/payments", null, "{}").statusCode()).isEqualTo(201);
    assertThat(runs).hasValue(2);

    try (TestServer strict = serve(Once.builder(store).requireKey(true).build())) {
      HttpResponse<String> response = post(strict.uri("/payments"), null, "{}", b -> b);

      assertProblem(response, ProblemType.KEY_MISSING);
      assertThat(runs).hasValue(2);
    }
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
    String nonAscii = server.raw("POST /payments HTTP/1.1\r\nHost: x\r\n"
        + "Idempotency-Key: caf\u00e9\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
    // Jetty refuses a control character in a header itself, before any filter runs
    String control = server.raw("POST /payments HTTP/1.1\r\nHost: x\r\n"
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
  }

  @Test
  void aLargeBodyIsFingerprintedWholeWithOrWithoutContentLength() throws Exception {
    String key = newKey();
    String body = "{\"memo\":\"" + "x".repeat(200_000) + "\"}";
    HttpResponse<String> chunked = CLIENT.send(HttpRequest.newBuilder(server.uri("/payments"))
        .header("Idempotency-Key", key)
        .POST(BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(
            body.getBytes(StandardCharsets.UTF_8))))
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
    try (TestServer small = serve(Once.builder(store).maxBodyBytes(16).build())) {
      HttpResponse<String> tooLarge =
          post(small.uri("/payments"), newKey(), "{\"amount\":1000000}", b -> b);
      HttpResponse<String> chunked = CLIENT.send(HttpRequest.newBuilder(small.uri("/payments"))
          .header("Idempotency-Key", newKey())
          .POST(BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(
              "{\"amount\":1000000}".getBytes(StandardCharsets.UTF_8))))
          .build(), BodyHandlers.ofString());

      assertProblem(tooLarge, ProblemType.REQUEST_TOO_LARGE);
      assertProblem(chunked, ProblemType.REQUEST_TOO_LARGE);
      assertThat(runs).hasValue(0);
    }
  }

  @Test
  void anUnreachableStoreGives503AndTheHandlerDoesNotRun() throws Exception {
    FailingStore failing = new FailingStore(store);
    try (TestServer down = serve(Once.builder(failing).build())) {
      failing.failing(true);

      assertProblem(post(down.uri("/payments"), newKey(), "{}", b -> b),
          ProblemType.STORE_UNAVAILABLE);
      assertThat(runs).hasValue(0);

      failing.failing(false);
      assertThat(post(down.uri("/payments"), newKey(), "{}", b -> b).statusCode()).isEqualTo(201);
    }
  }

  @Test
  void anUnreachableStoreWithFailOpenPassesTheRequestThrough() throws Exception {
    FailingStore failing = new FailingStore(store);
    try (TestServer open = serve(Once.builder(failing).failOpen(true).build())) {
      failing.failing(true);

      HttpResponse<String> response = post(open.uri("/payments"), newKey(), "{\"a\":1}", b -> b);

      assertThat(response.statusCode()).isEqualTo(201);
      assertThat(response.body()).contains("\"echo\":{\"a\":1}");
    }
  }

  @Test
  void ofTwoHundredConcurrentRequestsWithOneKeyTheHandlerRunsExactlyOnce() throws Exception {
    String key = newKey();

    List<HttpResponse<String>> responses =
        Concurrently.run(200, i -> post("/slow", key, ""));

    assertThat(runs).hasValue(1);
    assertThat(responses).allSatisfy(response -> {
      if (response.statusCode() == 409) {
        assertThat(response.body()).contains(ProblemType.REQUEST_IN_PROGRESS.uri());
      } else {
        assertThat(response.statusCode()).isEqualTo(201);
        assertThat(response.body()).isEqualTo("slow done");
      }
    });
    assertThat(responses).filteredOn(r -> r.statusCode() == 201)
        .filteredOn(r -> r.headers().firstValue("Idempotent-Replayed").isEmpty())
        .hasSize(1);
  }

  @Test
  void aHandlerThatThrowsReleasesTheKeySoTheRetryRunsAgain() throws Exception {
    String key = newKey();

    assertThat(post("/fail", key, "").statusCode()).isEqualTo(500);
    assertThat(post("/fail", key, "").statusCode()).isEqualTo(500);

    assertThat(runs).hasValue(2);
  }

  @Test
  void aNonCacheableStatusReleasesTheKey() throws Exception {
    String key = newKey();

    assertThat(post("/status/500", key, "").statusCode()).isEqualTo(500);
    assertThat(post("/status/500", key, "").statusCode()).isEqualTo(500);
    assertThat(post("/status/400", newKey(), "").statusCode()).isEqualTo(400);

    assertThat(runs).hasValue(3);
  }

  @Test
  void sendErrorReleasesTheKeyWhenItsStatusIsNotCacheable() throws Exception {
    String key = newKey();

    assertThat(post("/send-error", key, "").statusCode()).isEqualTo(503);
    assertThat(post("/send-error", key, "").statusCode()).isEqualTo(503);

    assertThat(runs).hasValue(2);
  }

  @Test
  void aRedirectIsReplayedWithItsLocationWhenItsStatusIsCacheable() throws Exception {
    try (TestServer redirects = serve(Once.builder(store).cacheableStatuses(201, 302).build())) {
      String key = newKey();
      HttpResponse<String> first = post(redirects.uri("/redirect"), key, "", b -> b);

      HttpResponse<String> retry = post(redirects.uri("/redirect"), key, "", b -> b);

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
  void aBinaryBodyReachesTheHandlerIntact() throws Exception {
    byte[] body = new byte[200_000];
    new Random(7).nextBytes(body);
    try (TestServer echo = TestServer.with(Once.builder(store).build(), container())
        .handle("/echo", (request, response) -> {
          response.setStatus(200);
          response.getOutputStream().write(request.getInputStream().readAllBytes());
        }).start()) {
      HttpResponse<byte[]> response = CLIENT.send(HttpRequest.newBuilder(echo.uri("/echo"))
          .header("Idempotency-Key", newKey()).POST(BodyPublishers.ofByteArray(body)).build(),
          BodyHandlers.ofByteArray());

      assertThat(response.body()).isEqualTo(body);
    }
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
    String key = newKey();
    HttpResponse<String> first = post("/early-commit", key, "");

    HttpResponse<String> retry = post("/early-commit", key, "");

    assertThat(first.body()).isEqualTo("first part;second part");
    assertThat(retry.body()).isEqualTo("first part;second part");
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
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
    HttpResponse<String> retry = postOnNewConnection(server.uri(path), key);

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).isEqualTo(body);
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.body()).isEqualTo(body);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(runs).hasValue(1);
  }

  @Test
  void aRetrySentTheMomentAnAsyncResponseArrivedIsReplayedEvenWhenTheStoreIsSlow()
      throws Exception {
    // a store that takes its time to keep the response: the client must still not see the
    // response's end before the record is kept
    SlowCompletingStore slowStore = new SlowCompletingStore(store, Duration.ofMillis(300));
    try (TestServer slow = serve(Once.builder(slowStore).build())) {
      String key = newKey();
      HttpResponse<String> first = post(slow.uri("/async"), key, "", b -> b);

      HttpResponse<String> retry = postOnNewConnection(slow.uri("/async"), key);

      assertThat(first.body()).isEqualTo("async run 1");
      assertThat(retry.statusCode()).isEqualTo(201);
      assertThat(retry.body()).isEqualTo("async run 1");
      assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(runs).hasValue(1);
    }
  }

  @Test
  void whatTheHandlerResetsIsNeitherSentNorStored() throws Exception {
    String key = newKey();
    HttpResponse<String> first = post("/reset", key, "");

    HttpResponse<String> retry = post("/reset", key, "");

    assertThat(first.body()).isEqualTo("final");
    assertThat(retry.body()).isEqualTo("final");
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("X-Discarded")).isEmpty();
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(runs).hasValue(1);
  }

  @Test
  void aResponseOverTheLimitIsSentWholeButTheRetryIsToldItWasNotKept() throws Exception {
    try (TestServer limited = serve(Once.builder(store).maxResponseBytes(1 << 20).build())) {
      String key = newKey();
      HttpResponse<byte[]> first = CLIENT.send(HttpRequest.newBuilder(limited.uri("/large"))
          .header("Idempotency-Key", key).POST(BodyPublishers.noBody()).build(),
          BodyHandlers.ofByteArray());

      HttpResponse<String> retry = post(limited.uri("/large"), key, "", b -> b);

      assertThat(first.statusCode()).isEqualTo(201);
      assertThat(first.body()).hasSize(2 << 20);
      assertThat(first.body()[(2 << 20) - 1]).isEqualTo((byte) 31);
      assertProblem(retry, ProblemType.RESPONSE_NOT_REPLAYABLE);
      assertThat(retry.body()).contains("status 201");
      assertThat(runs).hasValue(1);
    }
  }

  @Test
  void anAsyncResponseIsStoredWhenTheAsyncCycleCompletes() throws Exception {
    String key = newKey();
    HttpResponse<String> first = post("/async", key, "");

    HttpResponse<String> retry = post("/async", key, "");

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).isEqualTo("async run 1");
    assertThat(retry.body()).isEqualTo("async run 1");
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(runs).hasValue(1);
  }

  @Test
  void anAsyncDispatchIsStoredWithWhatTheDispatchedServletWrote() throws Exception {
    String key = newKey();
    HttpResponse<String> first = post("/async-dispatch", key, "");

    HttpResponse<String> retry = post("/async-dispatch", key, "");

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).isEqualTo("dispatched result 1");
    assertThat(retry.body()).isEqualTo("dispatched result 1");
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(runs).hasValue(1);
  }

  @Test
  void anAsyncTimeoutReleasesTheKey() throws Exception {
    String key = newKey();

    assertThat(post("/async-timeout", key, "").statusCode()).isEqualTo(500);
    assertThat(post("/async-timeout", key, "").statusCode()).isEqualTo(500);

    assertThat(runs).hasValue(2);
  }

  @Test
  void aGetIsNotTouched() throws Exception {
    HttpResponse<String> response = CLIENT.send(HttpRequest.newBuilder(server.uri("/status/200"))
        .header("Idempotency-Key", "ignored").GET().build(), BodyHandlers.ofString());
    HttpResponse<String> again = CLIENT.send(HttpRequest.newBuilder(server.uri("/status/200"))
        .header("Idempotency-Key", "ignored").GET().build(), BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(again.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(runs).hasValue(2);
  }

  private HttpResponse<String> sendQuietly(String path, String key) {
    return sendQuietly(server.uri(path), key);
  }

  private static HttpResponse<String> sendQuietly(URI uri, String key) {
    try {
      return post(uri, key, "", b -> b);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private void awaitRuns(int count) throws InterruptedException {
    CountDownLatch never = new CountDownLatch(1);
    for (int i = 0; i < 1000 && runs.get() < count; i++) {
      never.await(10, TimeUnit.MILLISECONDS);
    }
    assertThat(runs.get()).isGreaterThanOrEqualTo(count);
  }

  /** Counts the duplicates parked waiting, so a test knows when all of them are. */
  private static final class ParkCounter extends dev.once.spi.ForwardingIdempotencyStore {
    final MemoryStore delegate;
    final AtomicInteger parked = new AtomicInteger();

    ParkCounter(MemoryStore delegate) {
      this.delegate = delegate;
    }

    @Override
    protected dev.once.spi.IdempotencyStore delegate() {
      return delegate;
    }

    @Override
    public java.util.concurrent.CompletionStage<Void> awaitChangeAsync(
        String key, Duration timeout) {
      parked.incrementAndGet();
      return super.awaitChangeAsync(key, timeout);
    }
  }

  private static void awaitAtLeast(AtomicInteger counter, int count) throws InterruptedException {
    CountDownLatch never = new CountDownLatch(1);
    for (int i = 0; i < 6000 && counter.get() < count; i++) {
      never.await(10, TimeUnit.MILLISECONDS);
    }
    assertThat(counter.get()).isGreaterThanOrEqualTo(count);
  }

  @Test
  void threeHundredWaitingDuplicatesHoldNoThreadAllGetTheReplayAndTheHandlerRunsOnce()
      throws Exception {
    ParkCounter counting = new ParkCounter(store);
    Once waiting = Once.builder(counting).maxWait(Duration.ofSeconds(60)).build();
    try (TestServer small = serve(waiting, 16)) {
      String key = newKey();
      CompletableFuture<HttpResponse<String>> first = CLIENT.sendAsync(
          HttpRequest.newBuilder(small.uri("/held")).header("Idempotency-Key", key)
              .POST(BodyPublishers.noBody()).build(), BodyHandlers.ofString());
      awaitRuns(1);
      List<CompletableFuture<HttpResponse<String>>> duplicates = new java.util.ArrayList<>();
      for (int i = 0; i < 300; i++) {
        duplicates.add(CLIENT.sendAsync(
            HttpRequest.newBuilder(small.uri("/held")).header("Idempotency-Key", key)
                .timeout(Duration.ofSeconds(60)).POST(BodyPublishers.noBody()).build(),
            BodyHandlers.ofString()));
      }
      awaitAtLeast(counting.parked, 300);

      // 300 parked duplicates on 16 threads: an unrelated request is still served
      HttpResponse<String> unrelated = post(small.uri("/payments"), newKey(), "{}", b -> b);
      assertThat(unrelated.statusCode()).isEqualTo(201);
      assertThat(first).isNotDone();
      hold.countDown();

      assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
      for (CompletableFuture<HttpResponse<String>> duplicate : duplicates) {
        HttpResponse<String> answer = duplicate.get(60, TimeUnit.SECONDS);
        assertThat(answer.statusCode()).isEqualTo(201);
        assertThat(answer.body()).isEqualTo("held done");
        assertThat(answer.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      }
      assertThat(runs).hasValue(2);
    }
  }

  @Test
  void waitingDuplicatesOfARequestThatFailsAreToldToSendItAgainAndTheRetryRuns()
      throws Exception {
    ParkCounter counting = new ParkCounter(store);
    Once waiting = Once.builder(counting).maxWait(Duration.ofSeconds(60)).build();
    try (TestServer server = serve(waiting)) {
      String key = newKey();
      CompletableFuture<HttpResponse<String>> first =
          CompletableFuture.supplyAsync(() -> sendQuietly(server.uri("/fail-held"), key));
      awaitRuns(1);
      List<CompletableFuture<HttpResponse<String>>> duplicates = new java.util.ArrayList<>();
      for (int i = 0; i < 20; i++) {
        duplicates.add(CLIENT.sendAsync(HttpRequest.newBuilder(server.uri("/fail-held"))
            .header("Idempotency-Key", key).POST(BodyPublishers.noBody()).build(),
            BodyHandlers.ofString()));
      }
      awaitAtLeast(counting.parked, 20);

      hold.countDown();

      assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(500);
      for (CompletableFuture<HttpResponse<String>> duplicate : duplicates) {
        HttpResponse<String> answer = duplicate.get(30, TimeUnit.SECONDS);
        assertProblem(answer, ProblemType.REQUEST_IN_PROGRESS);
        assertThat(answer.body()).contains("send it again");
      }
      assertThat(runs).hasValue(1);
      assertThat(post(server.uri("/fail-held"), key, "", b -> b).statusCode()).isEqualTo(500);
      assertThat(runs).hasValue(2);
    }
  }

  @Test
  void aHandlerThatOutlivesManyLeasesRunsOnceAndDuplicatesMeanwhileGet409() throws Exception {
    Once shortLease = Once.builder(store).lease(Duration.ofSeconds(1)).build();
    try (TestServer server = serve(shortLease)) {
      String key = newKey();
      CompletableFuture<HttpResponse<String>> first =
          CompletableFuture.supplyAsync(() -> sendQuietly(server.uri("/held"), key));
      awaitRuns(1);

      for (int i = 0; i < 8; i++) {
        new CountDownLatch(1).await(500, TimeUnit.MILLISECONDS); // four leases in all
        assertProblem(post(server.uri("/held"), key, "", b -> b), ProblemType.REQUEST_IN_PROGRESS);
      }
      hold.countDown();

      assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
      HttpResponse<String> retry = post(server.uri("/held"), key, "", b -> b);
      assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(runs).hasValue(1);
    }
  }

  /** Sends a keyed POST on a raw socket, waits for the handler to start, and hangs up. */
  private void postAndHangUp(String path, String key) throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.uri("/").getPort())) {
      socket.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: localhost\r\n"
          + "Idempotency-Key: " + key + "\r\nContent-Length: 0\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      awaitRuns(1);
      socket.setSoLinger(true, 0); // a reset, as a client that vanished
    }
    hangup.countDown();
    assertThat(handlerDone.await(30, TimeUnit.SECONDS)).isTrue();
    // the handler is done; the filter finishes the record just after it returns
    CountDownLatch never = new CountDownLatch(1);
    for (int i = 0; i < 3000 && isInProgress(key); i++) {
      never.await(10, TimeUnit.MILLISECONDS);
    }
    assertThat(isInProgress(key)).as("the record of the hung-up request is finished").isFalse();
  }

  private boolean isInProgress(String key) {
    dev.once.spi.Claim record = store.peek(key);
    return record != null && record.state() == dev.once.spi.Claim.State.IN_PROGRESS;
  }

  @Test
  void aClientThatHangsUpGetsTheHandlersWholeAnswerOnItsRetry() throws Exception {
    String key = newKey();
    int size = 256 * 1024;

    postAndHangUp("/hangup?size=" + size, key);

    HttpResponse<byte[]> retry = CLIENT.send(
        HttpRequest.newBuilder(server.uri("/hangup?size=" + size)).header("Idempotency-Key", key)
            .POST(BodyPublishers.noBody()).build(), BodyHandlers.ofByteArray());
    assertThat(handlerSaw.get()).as("the handler never saw the hang-up").isNull();
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
    assertThat(handlerSaw.get()).as("beyond the limit the handler sees the failure").isNotNull();
    assertProblem(retry, ProblemType.RESPONSE_NOT_REPLAYABLE);
    assertThat(runs).hasValue(1);
  }
}
