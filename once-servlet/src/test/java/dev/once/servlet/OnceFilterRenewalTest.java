package dev.once.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.suite.RunningServer;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Requests held open through many short leases, in each container: their keys stay held by the
 * engine's renewals, so every duplicate meanwhile is refused, each handler runs once, and each
 * answer is replayed afterwards.
 */
class OnceFilterRenewalTest {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static final Duration LEASE = Duration.ofSeconds(1);

  @ParameterizedTest
  @EnumSource(TestServer.Container.class)
  void twentyRequestsHeldThroughSixLeasesKeepTheirKeysAndRunOnceEach(
      TestServer.Container container) throws Exception {
    int requests = 20;
    MemoryStore store = MemoryStore.create();
    AtomicInteger runs = new AtomicInteger();
    CountDownLatch started = new CountDownLatch(requests);
    CountDownLatch hold = new CountDownLatch(1);
    RunningServer server = TestServer.with(Once.builder(store).lease(LEASE).build(), container)
        .handle("/held", (request, response) -> {
          int run = runs.incrementAndGet();
          started.countDown();
          hold.await(60, TimeUnit.SECONDS);
          response.setStatus(201);
          response.getOutputStream().write(("{\"run\":" + run + "}")
              .getBytes(StandardCharsets.UTF_8));
        })
        .start();
    try {
      URI uri = server.uri("/held");
      List<CompletableFuture<HttpResponse<String>>> firsts = new ArrayList<>();
      for (int i = 0; i < requests; i++) {
        firsts.add(CLIENT.sendAsync(post(uri, "held-" + i), BodyHandlers.ofString()));
      }
      assertThat(started.await(30, TimeUnit.SECONDS)).as("every handler started").isTrue();

      for (int round = 0; round < 12; round++) {
        new CountDownLatch(1).await(LEASE.toMillis() / 2, TimeUnit.MILLISECONDS);
        for (int i = 0; i < requests; i++) {
          HttpResponse<String> duplicate = CLIENT.send(post(uri, "held-" + i),
              BodyHandlers.ofString());
          assertThat(duplicate.statusCode()).as("a duplicate of held-%d in round %d", i, round)
              .isEqualTo(409);
        }
      }
      hold.countDown();

      for (int i = 0; i < requests; i++) {
        HttpResponse<String> first = firsts.get(i).get(30, TimeUnit.SECONDS);
        assertThat(first.statusCode()).isEqualTo(201);
        HttpResponse<String> retry = CLIENT.send(post(uri, "held-" + i), BodyHandlers.ofString());
        assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(retry.body()).isEqualTo(first.body());
      }
      assertThat(runs).hasValue(requests);
    } finally {
      hold.countDown();
      server.close();
      store.close();
    }
  }

  private static HttpRequest post(URI uri, String key) {
    // a duplicate that ran would wait on the held handlers: it fails the test instead
    return HttpRequest.newBuilder(uri).header("Idempotency-Key", key)
        .timeout(Duration.ofSeconds(20)).POST(BodyPublishers.ofString("{}")).build();
  }
}
