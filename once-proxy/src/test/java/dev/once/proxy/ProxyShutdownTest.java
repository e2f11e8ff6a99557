package dev.once.proxy;

import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.post;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.MemoryStore;
import dev.once.spi.Claim;
import dev.once.suite.Http;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A stop (what SIGTERM does; the jar's own SIGTERM is tested in {@code ProxyJarIT}): no new
 * connections, the request in flight finishes and its record is completed.
 */
class ProxyShutdownTest {
  private final CountDownLatch release = new CountDownLatch(1);
  private final MemoryStore store = MemoryStore.create();
  private Upstream upstream;

  @BeforeEach
  void start() throws Exception {
    upstream = Upstream.start().handle("/slow", Upstream.jsonAfter(release, 201));
  }

  @AfterEach
  void stop() {
    release.countDown();
    upstream.close();
    store.close();
  }

  @Test
  void aStopRefusesNewConnectionsLetsTheRequestInFlightFinishAndKeepsItsRecord()
      throws Exception {
    TestProxy proxy = TestProxy.start(store, "--upstream", upstream.uri().toString(),
        "--upstream-timeout", "10s");
    String key = newKey();
    CompletableFuture<HttpResponse<String>> inFlight =
        Http.CLIENT.sendAsync(post(proxy.uri("/slow"), key, "{\"amount\":7}").build(),
            BodyHandlers.ofString());
    awaitUpstreamHit();

    int port = proxy.port(); // read before the stop closes the connector, which then says -2
    CompletableFuture<Boolean> stopping = CompletableFuture.supplyAsync(proxy::stop);
    ProxyKeyedCallTest.RawClient.awaitConnectionRefused(port, 5, "the stop began");
    // longer than Jetty's idle timeout for connections during a shutdown (1 s): still in flight
    Thread.sleep(1500);
    assertThat(stopping).isNotDone();
    assertThat(inFlight).isNotDone();
    release.countDown();

    HttpResponse<String> response = inFlight.get(10, TimeUnit.SECONDS);
    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(response.body()).isEqualTo("{\"run\":1}");
    assertThat(stopping.get(10, TimeUnit.SECONDS)).as("every request finished in time").isTrue();
    Claim record = store.claim(key, null, Duration.ofSeconds(1));
    assertThat(record.state()).isEqualTo(Claim.State.COMPLETED);
    assertThat(record.response().status()).isEqualTo(201);
    assertThat(new String(record.response().body(), StandardCharsets.UTF_8))
        .isEqualTo("{\"run\":1}");
  }

  private void awaitUpstreamHit() throws InterruptedException {
    for (int i = 0; i < 1000 && upstream.hits("/slow") == 0; i++) {
      Thread.sleep(10);
    }
    assertThat(upstream.hits("/slow")).isEqualTo(1);
  }
}
