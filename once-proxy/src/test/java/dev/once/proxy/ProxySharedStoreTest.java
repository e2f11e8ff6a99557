package dev.once.proxy;

import static dev.once.proxy.Http.newKey;
import static dev.once.proxy.Http.postKeyed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.testing.Concurrently;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import redis.embedded.RedisServer;

/**
 * Two proxies in front of one upstream, sharing one real store through {@code --store}: the store
 * modules are in the proxy's build, so their URLs work, and one record serves both instances.
 */
class ProxySharedStoreTest {
  private static final int CLIENTS = 100;

  private static RedisServer redis;
  private static int redisPort;
  private static EmbeddedPostgres postgres;

  private final CountDownLatch release = new CountDownLatch(1);
  private Upstream upstream;

  @BeforeAll
  static void startStores() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      redisPort = socket.getLocalPort();
    }
    redis = RedisServer.newRedisServer().port(redisPort).bind("127.0.0.1")
        .setting("save \"\"").build();
    redis.start();
    postgres = EmbeddedPostgres.builder().start();
  }

  @AfterAll
  static void stopStores() throws IOException {
    if (redis != null) {
      redis.stop();
    }
    if (postgres != null) {
      postgres.close();
    }
  }

  static List<String> storeUrls() {
    return List.of("redis://127.0.0.1:" + redisPort,
        postgres.getJdbcUrl("postgres", "postgres"));
  }

  @BeforeEach
  void startUpstream() throws Exception {
    upstream = Upstream.start().handle("/payments", (exchange, run) -> {
      release.await(30, TimeUnit.SECONDS);
      Upstream.respond(exchange, 201, "{\"run\":" + run + "}");
    });
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

  private TestProxy proxy(String store) {
    return TestProxy.start("--upstream", upstream.uri().toString(), "--store", store);
  }
}
