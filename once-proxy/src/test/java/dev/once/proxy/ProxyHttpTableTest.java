package dev.once.proxy;

import static dev.once.suite.Http.assertProblem;
import static dev.once.suite.Http.assertReplayed;
import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.post;
import static dev.once.suite.Http.postKeyed;
import static dev.once.suite.Http.send;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.MemoryStore;
import dev.once.ProblemType;
import dev.once.suite.Http;
import dev.once.testing.FailingStore;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every row of the design's HTTP table, through the proxy, against a real upstream. */
class ProxyHttpTableTest {
  private final CountDownLatch release = new CountDownLatch(1);
  private Upstream upstream;
  private TestProxy proxy;

  @BeforeEach
  void start() throws Exception {
    upstream = Upstream.start()
        .handle("/payments", (exchange, run) -> {
          exchange.getResponseHeaders().add("Location", "/payments/" + run);
          exchange.getResponseHeaders().add("Set-Cookie", "session=s" + run);
          exchange.getResponseHeaders().add("X-Run", Integer.toString(run));
          Upstream.respond(exchange, 201, "{\"run\":" + run + "}");
        })
        .handle("/slow", (exchange, run) -> {
          release.await(20, TimeUnit.SECONDS);
          Upstream.respond(exchange, 201, "{\"slow\":" + run + "}");
        });
    proxy = TestProxy.start("--upstream", upstream.uri().toString(), "--max-body", "1KiB",
        "--upstream-timeout", "10s");
  }

  @AfterEach
  void stop() {
    release.countDown();
    proxy.close();
    upstream.close();
  }

  @Test
  void firstRequestWithAKeyReachesTheUpstreamAndItsAnswerComesBack() throws Exception {
    HttpResponse<String> response = postKeyed(proxy.uri("/payments"), newKey(), "{\"amount\":1}");

    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(response.body()).isEqualTo("{\"run\":1}");
    assertThat(response.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(upstream.next().body()).isEqualTo("{\"amount\":1}");
    assertThat(upstream.hits("/payments")).isEqualTo(1);
  }

  @Test
  void retryGetsTheStoredStatusHeadersAndBodyAndNeverReachesTheUpstream() throws Exception {
    String key = newKey();
    HttpResponse<String> first = postKeyed(proxy.uri("/payments"), key, "{\"amount\":1}");

    HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{\"amount\":1}");
    HttpResponse<String> again = postKeyed(proxy.uri("/payments"), key, "{\"amount\":1}");

    assertThat(first.body()).isEqualTo("{\"run\":1}");
    assertReplayed(retry, 201, first.body());
    assertThat(retry.headers().firstValue("Location")).hasValue("/payments/1");
    assertThat(retry.headers().firstValue("X-Run")).hasValue("1");
    assertThat(retry.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(retry.headers().firstValue("Set-Cookie")).isEmpty();
    assertThat(first.headers().firstValue("Set-Cookie")).hasValue("session=s1");
    assertThat(again.body()).isEqualTo("{\"run\":1}");
    assertThat(upstream.hits("/payments")).isEqualTo(1);
  }

  @Test
  void retryWhileTheFirstIsStillAtTheUpstreamGets409WithRetryAfter() throws Exception {
    String key = newKey();
    CompletableFuture<HttpResponse<String>> first =
        Http.CLIENT.sendAsync(post(proxy.uri("/slow"), key, "").build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
    awaitHits("/slow", 1);

    HttpResponse<String> duplicate = postKeyed(proxy.uri("/slow"), key, "");
    release.countDown();

    assertProblem(duplicate, 409, ProblemType.REQUEST_IN_PROGRESS.uri());
    assertThat(duplicate.headers().firstValue("Retry-After")).hasValue("1");
    assertThat(first.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
    assertThat(upstream.hits("/slow")).isEqualTo(1);
  }

  @Test
  void sameKeyWithAnotherBodyPathOrQueryGets422() throws Exception {
    String key = newKey();
    postKeyed(proxy.uri("/payments"), key, "{\"amount\":1}");

    assertProblem(postKeyed(proxy.uri("/payments"), key, "{\"amount\":5}"), 422,
        ProblemType.KEY_REUSED.uri());
    assertProblem(postKeyed(proxy.uri("/payments/other"), key, "{\"amount\":1}"), 422,
        ProblemType.KEY_REUSED.uri());
    assertProblem(postKeyed(proxy.uri("/payments?currency=EUR"), key, "{\"amount\":1}"), 422,
        ProblemType.KEY_REUSED.uri());
    assertThat(upstream.hits("/payments")).isEqualTo(1);
  }

  @Test
  void missingKeyPassesThroughWhenOptionalAndGets400WhenRequired() throws Exception {
    assertThat(postKeyed(proxy.uri("/payments"), null, "{}").statusCode()).isEqualTo(201);
    assertThat(postKeyed(proxy.uri("/payments"), null, "{}").statusCode()).isEqualTo(201);
    assertThat(upstream.hits("/payments")).isEqualTo(2);

    try (TestProxy strict = TestProxy.start("--upstream", upstream.uri().toString(),
        "--require-key")) {
      assertProblem(postKeyed(strict.uri("/payments"), null, "{}"), 400,
          ProblemType.KEY_MISSING.uri());
    }
    assertThat(upstream.hits("/payments")).isEqualTo(2);
  }

  @Test
  void emptyTooLongRepeatedOrControlCharacterKeysGet400() throws Exception {
    assertProblem(postKeyed(proxy.uri("/payments"), "", "{}"), 400,
        ProblemType.KEY_INVALID.uri());
    assertProblem(postKeyed(proxy.uri("/payments"), "k".repeat(256), "{}"), 400,
        ProblemType.KEY_INVALID.uri());
    assertProblem(send(post(proxy.uri("/payments"), "one", "{}").header("Idempotency-Key", "two")),
        400, ProblemType.KEY_INVALID.uri());
    String raw = Http.raw(proxy.port(), "POST /payments HTTP/1.1\r\nHost: x\r\n"
        + "Idempotency-Key: a\u0001b\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
    // Jetty refuses a control character in a header before the filter sees it, as a problem too,
    // which says what the client can do about it, not the parser's account of the bytes
    assertThat(raw).startsWith("HTTP/1.1 400").contains("application/problem+json")
        .contains("\"detail\":\"the request is not valid HTTP").doesNotContain("Illegal character");
    assertThat(upstream.hits("/payments")).isZero();
  }

  @Test
  void aBodyOverMaxBodyGets413() throws Exception {
    assertProblem(postKeyed(proxy.uri("/payments"), newKey(), "x".repeat(1025)), 413,
        ProblemType.REQUEST_TOO_LARGE.uri());
    assertThat(postKeyed(proxy.uri("/payments"), newKey(), "x".repeat(1024)).statusCode())
        .isEqualTo(201);
    assertThat(upstream.hits("/payments")).isEqualTo(1);
  }

  @Test
  void anUnreachableStoreGives503AndTheRequestDoesNotReachTheUpstream() throws Exception {
    FailingStore store = new FailingStore(MemoryStore.create());
    try (TestProxy failing = TestProxy.start(store, "--upstream", upstream.uri().toString())) {
      store.failing(true);

      assertProblem(postKeyed(failing.uri("/payments"), newKey(), "{}"), 503,
          ProblemType.STORE_UNAVAILABLE.uri());
      assertThat(upstream.hits("/payments")).isZero();
    } finally {
      store.close();
    }
  }

  @Test
  void anUnreachableStoreWithFailOpenForwardsTheRequest() throws Exception {
    FailingStore store = new FailingStore(MemoryStore.create());
    try (TestProxy failing = TestProxy.start(store, "--upstream", upstream.uri().toString(),
        "--fail-open")) {
      store.failing(true);

      HttpResponse<String> response = postKeyed(failing.uri("/payments"), newKey(), "{}");

      assertThat(response.statusCode()).isEqualTo(201);
      assertThat(upstream.hits("/payments")).isEqualTo(1);
    } finally {
      store.close();
    }
  }

  private void awaitHits(String path, int count) throws InterruptedException {
    for (int i = 0; i < 1000 && upstream.hits(path) < count; i++) {
      Thread.sleep(10);
    }
    assertThat(upstream.hits(path)).isGreaterThanOrEqualTo(count);
  }
}
