package dev.once.proxy;

import static dev.once.suite.Http.assertReplayOf;
import static dev.once.suite.Http.assertReplayed;
import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.post;
import static dev.once.suite.Http.postKeyed;
import static dev.once.suite.Http.send;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The flags that change whose key it is, how long it lives, and what it covers. */
class ProxyKeyOptionsTest {
  private Upstream upstream;

  @BeforeEach
  void start() throws Exception {
    upstream = Upstream.start()
        .handle("/payments", Upstream.json(201))
        .handle("/created", Upstream.json(201))
        .handle("/ok", Upstream.json(200));
  }

  @AfterEach
  void stop() {
    upstream.close();
  }

  private TestProxy proxy(String... flags) {
    String[] all = new String[flags.length + 2];
    all[0] = "--upstream";
    all[1] = upstream.uri().toString();
    System.arraycopy(flags, 0, all, 2, flags.length);
    return TestProxy.start(all);
  }

  private static HttpResponse<String> postAs(TestProxy proxy, String authorization, String key)
      throws Exception {
    return send(post(proxy.uri("/payments"), key, "{\"amount\":1}")
        .header("Authorization", authorization));
  }

  /** Every duration and size at the top of its range still makes deadlines the clock can hold. */
  @Test
  void withTheLargestValueOfEveryRangeARequestRunsOnceAndIsReplayed() throws Exception {
    String key = newKey();
    try (TestProxy proxy = proxy("--ttl", "36500d", "--lease", "36500d", "--max-wait",
        "36500d", "--upstream-timeout", "36500d", "--upstream-deadline", "36500d", "--max-body",
        "2147483639", "--max-response", "2147483639", "--body-timeout", "36500d",
        "--memory-max-bytes", "9223372036854775807", "--memory-max-records",
        "9223372036854775807")) {
      HttpResponse<String> first = postKeyed(proxy.uri("/payments"), key, "{\"amount\":1}");
      HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{\"amount\":1}");

      assertThat(first.statusCode()).isEqualTo(201);
      assertReplayOf(retry, first);
      assertThat(upstream.hits("/payments")).isEqualTo(1);
    }
  }

  @Test
  void withScopeHeaderTwoClientsWithTheSameKeyNeverShareARecord() throws Exception {
    String key = newKey();
    try (TestProxy proxy = proxy("--scope-header", "Authorization")) {
      HttpResponse<String> alice = postAs(proxy, "Bearer alice", key);
      HttpResponse<String> bob = postAs(proxy, "Bearer bob", key);
      HttpResponse<String> aliceRetry = postAs(proxy, "Bearer alice", key);
      HttpResponse<String> bobRetry = postAs(proxy, "Bearer bob", key);

      assertThat(alice.body()).isEqualTo("{\"run\":1}");
      assertThat(bob.body()).isEqualTo("{\"run\":2}");
      assertThat(bob.headers().firstValue("Idempotent-Replayed")).isEmpty();
      assertReplayed(aliceRetry, 201, "{\"run\":1}");
      assertThat(bobRetry.body()).isEqualTo("{\"run\":2}");
      assertThat(upstream.hits("/payments")).isEqualTo(2);
    }
  }

  @Test
  void withoutScopeHeaderKeysAreGlobal() throws Exception {
    String key = newKey();
    try (TestProxy proxy = proxy()) {
      postAs(proxy, "Bearer alice", key);
      HttpResponse<String> bob = postAs(proxy, "Bearer bob", key);

      assertThat(bob.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(upstream.hits("/payments")).isEqualTo(1);
    }
  }

  @Test
  void withTtlOneSecondAKeyRunsAgainOnceItsRecordExpired() throws Exception {
    String key = newKey();
    try (TestProxy proxy = proxy("--ttl", "1s")) {
      HttpResponse<String> first = postKeyed(proxy.uri("/payments"), key, "{}");
      HttpResponse<String> replayed = postKeyed(proxy.uri("/payments"), key, "{}");
      Thread.sleep(1300);
      HttpResponse<String> expired = postKeyed(proxy.uri("/payments"), key, "{}");

      assertThat(first.body()).isEqualTo("{\"run\":1}");
      assertThat(replayed.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(expired.body()).isEqualTo("{\"run\":2}");
      assertThat(expired.headers().firstValue("Idempotent-Replayed")).isEmpty();
    }
  }

  @Test
  void headerMethodsAndCacheableChooseWhatIsKept() throws Exception {
    try (TestProxy proxy = proxy("--header", "X-Request-Id", "--methods", "post,put",
        "--cacheable", "200")) {
      String key = newKey();
      HttpRequest.Builder put = HttpRequest.newBuilder(proxy.uri("/ok"))
          .header("X-Request-Id", key).PUT(BodyPublishers.ofString("{}"));
      send(put);
      HttpResponse<String> putRetry = send(put);
      HttpResponse<String> patch = send(HttpRequest.newBuilder(proxy.uri("/ok"))
          .header("X-Request-Id", key).method("PATCH", BodyPublishers.ofString("{}")));
      HttpResponse<String> idempotencyKeyIgnored = postKeyed(proxy.uri("/ok"), key, "{}");
      String other = newKey();
      send(post(proxy.uri("/created"), null, "{}").header("X-Request-Id", other));
      HttpResponse<String> notCacheable =
          send(post(proxy.uri("/created"), null, "{}").header("X-Request-Id", other));

      assertThat(putRetry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(patch.headers().firstValue("Idempotent-Replayed")).isEmpty();
      assertThat(idempotencyKeyIgnored.headers().firstValue("Idempotent-Replayed")).isEmpty();
      assertThat(notCacheable.body()).isEqualTo("{\"run\":2}");
      assertThat(upstream.hits("/ok")).isEqualTo(3);
    }
  }
}
