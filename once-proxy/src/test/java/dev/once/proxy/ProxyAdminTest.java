package dev.once.proxy;

import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.postKeyed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.MemoryStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.RecordInfo;
import dev.once.suite.Http;
import dev.once.testing.DelegatingStore;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The admin API on its own listener ({@code --admin-listen}), on every store the proxy tests
 * start: a stuck key is found, refused, deleted by force, and its retry runs; the public listener
 * never serves the admin paths nor forwards them; the token is required when set.
 */
class ProxyAdminTest {
  private static final String BODY = "{\"amount\":1}";
  @RegisterExtension
  static final StoreServers SERVERS = new StoreServers();

  private final CountDownLatch release = new CountDownLatch(1);
  private Upstream upstream;

  static List<String> stores() {
    return List.of("memory", SERVERS.redisUrl(), SERVERS.jdbcUrl());
  }

  @BeforeEach
  void startUpstream() throws Exception {
    // the first request hangs until the test releases it: a stuck request
    upstream = Upstream.start().handle("/payments", (exchange, run) -> {
      if (run == 1) {
        release.await(30, TimeUnit.SECONDS);
      }
      Upstream.respond(exchange, 201, "{\"run\":" + run + "}");
    }).handle("/_once", Upstream.json(200));
  }

  @AfterEach
  void stopUpstream() {
    release.countDown();
    upstream.close();
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @MethodSource("stores")
  void aStuckKeyIsFoundRefusedThenDeletedByForceAndItsRetryRuns(String store) throws Exception {
    try (TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString(),
        "--store", store, "--admin-listen", "127.0.0.1:0")) {
      String key = newKey();
      CompletableFuture<HttpResponse<String>> stuck = Http.CLIENT.sendAsync(
          Http.post(proxy.uri("/payments"), key, BODY).build(),
          HttpResponse.BodyHandlers.ofString());
      HttpResponse<String> found = awaitInProgress(proxy, key);

      HttpResponse<String> refused = admin(proxy, "DELETE", key, "");
      HttpResponse<String> forced = admin(proxy, "DELETE", key, "?force=true");
      HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, BODY);
      HttpResponse<String> done = admin(proxy, "GET", key, "");
      release.countDown();
      stuck.get(30, TimeUnit.SECONDS);

      assertThat(found.body()).startsWith("{\"state\":\"in_progress\",\"created\":\"")
          .contains("\"leaseLeftMillis\":").doesNotContain("\"status\"");
      assertThat(refused.statusCode()).as(refused.body()).isEqualTo(409);
      assertThat(refused.headers().firstValue("Content-Type"))
          .hasValue("application/problem+json");
      assertThat(forced.statusCode()).isEqualTo(204);
      assertThat(retry.statusCode()).isEqualTo(201);
      assertThat(retry.body()).isEqualTo("{\"run\":2}");
      assertThat(done.statusCode()).isEqualTo(200);
      assertThat(done.body()).startsWith("{\"state\":\"completed\",\"created\":\"")
          .contains("\"status\":201,").endsWith("\"replayable\":true}\n");
      assertThat(done.body()).doesNotContain("run");
      assertThat(admin(proxy, "DELETE", key, "").statusCode()).isEqualTo(204);
      assertThat(admin(proxy, "GET", key, "").statusCode()).isEqualTo(404);
      assertThat(admin(proxy, "DELETE", key, "").statusCode()).isEqualTo(404);
      assertThat(upstream.hits("/_once")).isZero();
    }
  }

  @Test
  void thePublicListenerAnswersTheAdminPaths404AndNeverForwardsThem() throws Exception {
    try (TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString(),
        "--admin-listen", "0")) {
      String key = newKey();
      postKeyed(proxy.uri("/payments"), key, BODY);

      for (String path : List.of("/_once/keys/" + key, "/_once/keys", "/_once/%6Beys/" + key)) {
        for (String method : List.of("GET", "DELETE", "POST")) {
          HttpResponse<String> answer = Http.send(HttpRequest.newBuilder(proxy.uri(path))
              .method(method, HttpRequest.BodyPublishers.noBody()));
          assertThat(answer.statusCode()).as(method + " " + path).isEqualTo(404);
          assertThat(answer.headers().firstValue("Content-Type"))
              .hasValue("application/problem+json");
        }
      }
      assertThat(upstream.hits("/_once")).isZero();
      assertThat(admin(proxy, "GET", key, "").statusCode()).as("still there").isEqualTo(200);
    }
  }

  @Test
  void withATokenEveryAdminRequestMustCarryIt() throws Exception {
    try (TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString(),
        "--admin-listen", "127.0.0.1:0", "--admin-token", "s3cret")) {
      String key = newKey();
      postKeyed(proxy.uri("/payments"), key, BODY);
      URI record = proxy.adminUri("/_once/keys/" + key);

      HttpResponse<String> none = Http.send(HttpRequest.newBuilder(record).DELETE());
      HttpResponse<String> wrong = Http.send(HttpRequest.newBuilder(record)
          .header("Authorization", "Bearer s3cres").DELETE());
      HttpResponse<String> right = Http.send(HttpRequest.newBuilder(record)
          .header("Authorization", "Bearer s3cret").GET());

      assertThat(none.statusCode()).isEqualTo(401);
      assertThat(none.headers().firstValue("WWW-Authenticate")).isPresent();
      assertThat(none.body()).doesNotContain("s3cret");
      assertThat(wrong.statusCode()).isEqualTo(401);
      assertThat(right.statusCode()).isEqualTo(200);
    }
  }

  @Test
  void keysArePercentDecodedAndAKeyNoRequestCouldCarryIsA400Problem() throws Exception {
    try (TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString(),
        "--admin-listen", "127.0.0.1:0")) {
      String key = newKey() + "+x";
      postKeyed(proxy.uri("/payments"), key, BODY);

      HttpResponse<String> encoded = admin(proxy, "GET", key.replace("+", "%2B"), "");
      HttpResponse<String> space = admin(proxy, "GET", "a%20b", "");
      HttpResponse<String> tooLong = admin(proxy, "GET", "k".repeat(300), "");
      HttpResponse<String> other = Http.send(HttpRequest.newBuilder(proxy.adminUri("/payments"))
          .GET());

      assertThat(encoded.statusCode()).as(encoded.body()).isEqualTo(200);
      assertThat(space.statusCode()).isEqualTo(400);
      assertThat(space.body()).contains("\"status\":400");
      assertThat(tooLong.statusCode()).isEqualTo(400);
      assertThat(other.statusCode()).isEqualTo(404);
      assertThat(upstream.hits("/payments")).isEqualTo(1);
    }
  }

  @Test
  void aStalledStoreHoldsOnlyTheAdminApisOwnThreadsAndTheRestAreRefusedAt503() throws Exception {
    int requests = 24;
    int held = AdminHandler.CALL_THREADS + AdminHandler.CALL_QUEUE;
    CountDownLatch stalled = new CountDownLatch(1);
    AtomicInteger entered = new AtomicInteger();
    MemoryStore memory = MemoryStore.create();
    IdempotencyStore stalling = new DelegatingStore(memory) {
      @Override
      public Optional<RecordInfo> inspect(String key) {
        entered.incrementAndGet();
        try {
          stalled.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return super.inspect(key);
      }
    };
    try (TestProxy proxy = TestProxy.start(stalling, "--upstream", upstream.uri().toString(),
        "--admin-listen", "127.0.0.1:0")) {
      List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
      for (int i = 0; i < requests; i++) {
        answers.add(Http.CLIENT.sendAsync(HttpRequest.newBuilder(
            proxy.adminUri("/_once/keys/k" + i)).GET().build(),
            HttpResponse.BodyHandlers.ofString()));
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (answers.stream().filter(CompletableFuture::isDone).count() < requests - held
          && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      // many more requests than the listener has threads, and none of the store's to answer them
      List<HttpResponse<String>> others = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        others.add(Http.send(HttpRequest.newBuilder(proxy.adminUri("/_once/keys/")).GET()));
      }
      List<HttpResponse<String>> refused = new ArrayList<>();
      for (CompletableFuture<HttpResponse<String>> answer : answers) {
        if (answer.isDone()) {
          refused.add(answer.get());
        }
      }
      stalled.countDown();
      List<HttpResponse<String>> all = new ArrayList<>();
      for (CompletableFuture<HttpResponse<String>> answer : answers) {
        all.add(answer.get(30, TimeUnit.SECONDS));
      }

      assertThat(refused).as("answered while the store stalled").hasSize(requests - held)
          .allSatisfy(answer -> {
            assertThat(answer.statusCode()).isEqualTo(503);
            assertThat(answer.headers().firstValue("Retry-After")).hasValue("1");
          });
      assertThat(others).extracting(HttpResponse::statusCode).containsOnly(404);
      assertThat(all).filteredOn(answer -> answer.statusCode() == 404)
          .as("the held requests, answered once the store did").hasSize(held);
      assertThat(entered).hasValue(held);
    } finally {
      stalled.countDown();
      memory.close();
    }
  }

  @Test
  void anAdminListenerBeyondLoopbackNeedsAToken() {
    assertThatThrownBy(() -> parse("--admin-listen", "0.0.0.0:9091"))
        .isInstanceOf(UsageException.class)
        .hasMessageContaining("--admin-listen: listening on 0.0.0.0, beyond loopback, needs"
            + " --admin-token");
    assertThatThrownBy(() -> parse("--admin-token", "t"))
        .isInstanceOf(UsageException.class)
        .hasMessage("--admin-token: applies only with --admin-listen");
    assertThatThrownBy(() -> parse("--admin-listen", "nine"))
        .isInstanceOf(UsageException.class)
        .hasMessageContaining("\"nine\" is not [HOST:]PORT");

    ProxyOptions portOnly = parse("--admin-listen", "9091");
    ProxyOptions beyond = ProxyOptions.parse(new String[0],
        Map.of("ONCE_ADMIN_LISTEN", "0.0.0.0:9091", "ONCE_ADMIN_TOKEN", "t"));

    assertThat(portOnly.adminHost).isEqualTo("127.0.0.1");
    assertThat(portOnly.adminPort).isEqualTo(9091);
    assertThat(portOnly.adminToken).isNull();
    assertThat(beyond.adminHost).isEqualTo("0.0.0.0");
    assertThat(beyond.adminToken).isEqualTo("t");
    assertThat(parse().adminHost).isNull();
  }

  private static ProxyOptions parse(String... args) {
    return ProxyOptions.parse(args, Map.of());
  }

  private static HttpResponse<String> awaitInProgress(TestProxy proxy, String key)
      throws Exception {
    for (int i = 0; i < 1_000; i++) {
      HttpResponse<String> found = admin(proxy, "GET", key, "");
      if (found.statusCode() == 200) {
        return found;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("the request with key " + key + " never took its key");
  }

  private static HttpResponse<String> admin(TestProxy proxy, String method, String key,
      String query) throws Exception {
    return Http.send(HttpRequest.newBuilder(proxy.adminUri("/_once/keys/" + key + query))
        .method(method, HttpRequest.BodyPublishers.noBody()));
  }
}
