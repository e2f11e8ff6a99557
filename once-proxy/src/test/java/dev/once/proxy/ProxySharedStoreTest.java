package dev.once.proxy;

import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.postKeyed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.suite.Http;
import dev.once.testing.Concurrently;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Two proxies in front of one upstream, sharing one real store through {@code --store}: the store
 * modules are in the proxy's build, so their URLs work, and one record serves both instances.
 */
class ProxySharedStoreTest {
  private static final int CLIENTS = 100;

  @RegisterExtension
  static final StoreServers SERVERS = new StoreServers();

  private final CountDownLatch release = new CountDownLatch(1);
  private Upstream upstream;

  static List<String> storeUrls() {
    return List.of(SERVERS.redisUrl(), SERVERS.jdbcUrl());
  }

  @BeforeEach
  void startUpstream() throws Exception {
    upstream = Upstream.start().handle("/payments", Upstream.jsonAfter(release, 201));
  }

  @AfterEach
  void stopUpstream() {
    release.countDown();
    upstream.close();
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @MethodSource("storeUrls")
  void twoProxiesOnOneStoreLetExactlyOneOfAHundredDuplicatesReachTheUpstream(String store)
      throws Exception {
    String key = newKey();
    AtomicInteger answered = new AtomicInteger();
    try (TestProxy first = proxy(store); TestProxy second = proxy(store)) {
      List<HttpResponse<String>> responses = Concurrently.run(CLIENTS, i -> {
        TestProxy proxy = i % 2 == 0 ? first : second;
        HttpResponse<String> response = postKeyed(proxy.uri("/payments"), key, "{\"amount\":1}");
        if (response.statusCode() == 409 && answered.incrementAndGet() == CLIENTS - 1) {
          release.countDown();
        }
        return response;
      });
      HttpResponse<String> replayOnFirst = postKeyed(first.uri("/payments"), key, "{\"amount\":1}");
      HttpResponse<String> replayOnSecond =
          postKeyed(second.uri("/payments"), key, "{\"amount\":1}");
      HttpResponse<String> changed = postKeyed(second.uri("/payments"), key, "{\"amount\":2}");

      assertThat(upstream.hits("/payments")).isEqualTo(1);
      assertThat(responses).filteredOn(r -> r.statusCode() == 201).hasSize(1);
      assertThat(responses).filteredOn(r -> r.statusCode() == 409).hasSize(CLIENTS - 1);
      assertThat(replayOnFirst.body()).isEqualTo("{\"run\":1}");
      assertThat(replayOnSecond.body()).isEqualTo("{\"run\":1}");
      assertThat(replayOnSecond.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(changed.statusCode()).isEqualTo(422);
    }
  }

  /**
   * The second proxy has replayed the record (with Redis, its near cache now keeps it, for up to a
   * minute without an invalidation); the first proxy's admin API deletes it; the next request to
   * the second proxy must run again, not replay the deleted record. Invalidation reaches the
   * second proxy asynchronously (a push on its Redis connection), so the test asks until the
   * answer is a new run, for at most 10 s: a proxy that missed the deletion replays for its
   * whole minute.
   */
  @ParameterizedTest(name = "[{index}] {0}")
  @MethodSource("storeUrls")
  void aKeyDeletedThroughOneProxysAdminApiRunsAgainThroughTheOtherThatHadReplayedIt(String store)
      throws Exception {
    release.countDown();
    String key = newKey();
    String body = "{\"amount\":1}";
    try (TestProxy first = TestProxy.start("--upstream", upstream.uri().toString(), "--store",
            store, "--admin-listen", "127.0.0.1:0");
        TestProxy second = proxy(store)) {
      HttpResponse<String> original = postKeyed(first.uri("/payments"), key, body);
      HttpResponse<String> replayed = postKeyed(second.uri("/payments"), key, body);
      HttpResponse<String> replayedAgain = postKeyed(second.uri("/payments"), key, body);
      HttpResponse<String> deleted = Http.send(
          HttpRequest.newBuilder(first.adminUri("/_once/keys/" + key)).DELETE());

      HttpResponse<String> after = postKeyed(second.uri("/payments"), key, body);
      int replaysAfterTheDeletion = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (after.headers().firstValue("Idempotent-Replayed").isPresent()
          && System.nanoTime() < deadline) {
        replaysAfterTheDeletion++;
        Thread.sleep(50);
        after = postKeyed(second.uri("/payments"), key, body);
      }
      HttpResponse<String> replayOfTheNewRun = postKeyed(first.uri("/payments"), key, body);

      assertThat(original.body()).isEqualTo("{\"run\":1}");
      assertThat(replayed.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(replayedAgain.body()).isEqualTo("{\"run\":1}");
      assertThat(deleted.statusCode()).isEqualTo(204);
      assertThat(after.headers().firstValue("Idempotent-Replayed"))
          .as("still replayed after %d tries", replaysAfterTheDeletion).isEmpty();
      assertThat(after.statusCode()).isEqualTo(201);
      assertThat(after.body()).isEqualTo("{\"run\":2}");
      assertThat(replayOfTheNewRun.body()).isEqualTo("{\"run\":2}");
      assertThat(upstream.hits("/payments")).isEqualTo(2);
    }
  }

  /**
   * A hundred duplicates that may wait, across two proxies and both of each proxy's keyed paths
   * (a declared body is decided on Jetty's core with the store's asynchronous operations, a
   * chunked one by the filter), while the first runs: exactly one reaches the upstream, and every
   * duplicate is parked until it ends and gets its replay.
   */
  @ParameterizedTest(name = "[{index}] {0}")
  @MethodSource("storeUrls")
  void aHundredWaitingDuplicatesAcrossTwoProxiesAndBothLanesAllGetTheOneReplay(String store)
      throws Exception {
    String key = newKey();
    try (TestProxy first = proxy(store, "--max-wait", "60s");
        TestProxy second = proxy(store, "--max-wait", "60s")) {
      Thread releaser = new Thread(() -> {
        try {
          while (upstream.hits("/payments") < 1) {
            Thread.sleep(5);
          }
          Thread.sleep(1_000); // most duplicates are parked by now; the rest come after
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        release.countDown();
      });
      releaser.start();

      List<HttpResponse<String>> responses = Concurrently.run(CLIENTS, i -> {
        TestProxy proxy = i % 2 == 0 ? first : second;
        byte[] body = "{\"amount\":1}".getBytes(StandardCharsets.UTF_8);
        HttpRequest.Builder request = HttpRequest.newBuilder(proxy.uri("/payments"))
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/json");
        return Http.send(i % 4 < 2
            ? request.POST(HttpRequest.BodyPublishers.ofByteArray(body))
            : request.POST(HttpRequest.BodyPublishers.ofInputStream(
                () -> new ByteArrayInputStream(body))));
      });
      releaser.join();

      assertThat(upstream.hits("/payments")).isEqualTo(1);
      assertThat(responses).allSatisfy(r -> {
        assertThat(r.statusCode()).isEqualTo(201);
        assertThat(r.body()).isEqualTo("{\"run\":1}");
      });
      assertThat(responses).filteredOn(r -> r.headers().firstValue("Idempotent-Replayed")
          .isEmpty()).hasSize(1);
    }
  }

  private TestProxy proxy(String store, String... flags) {
    List<String> args = new ArrayList<>(List.of("--upstream", upstream.uri().toString(),
        "--store", store));
    args.addAll(List.of(flags));
    return TestProxy.start(args.toArray(new String[0]));
  }
}
