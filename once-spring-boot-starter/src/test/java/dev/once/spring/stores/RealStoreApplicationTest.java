package dev.once.spring.stores;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Decision;
import dev.once.KeyScope;
import dev.once.Once;
import dev.once.spi.IdempotencyStore;
import dev.once.testing.TestRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.json.JsonParserFactory;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * The starter's store in a running application, on a real server: what a retry gets, where the
 * record is, and that another instance of the service, with a store of its own on the same
 * server, replays it. Subclasses start the application on Redis or PostgreSQL.
 */
abstract class RealStoreApplicationTest {
  private final HttpClient client = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10))
      .build();

  @LocalServerPort
  int port;
  @Autowired
  StoreApplication.ChargesController charges;
  @Autowired
  IdempotencyStore store;

  /** @return the class the starter's store must be */
  abstract Class<? extends IdempotencyStore> storeClass();

  /** @return how many records the server holds now (the application's only) */
  abstract long records();

  /** @return a store of another instance of the service, on the same server; the test closes it */
  abstract IdempotencyStore anotherInstancesStore();

  @Test
  void aRetryIsReplayedFromTheServerAndTheHandlerRunsOnce() throws Exception {
    String key = UUID.randomUUID().toString();
    int before = charges.charges.get();
    long recordsBefore = records();

    HttpResponse<String> first = post(key, "{\"amount\":100}");
    HttpResponse<String> retry = post(key, "{\"amount\":100}");
    HttpResponse<String> changed = post(key, "{\"amount\":500}");

    assertThat(store).isInstanceOf(storeClass());
    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(changed.statusCode()).isEqualTo(422);
    assertThat(charges.charges.get()).isEqualTo(before + 1);
    assertThat(records()).isEqualTo(recordsBefore + 1);
  }

  @Test
  void anotherInstanceOnTheSameServerReplaysTheRecord() throws Exception {
    String key = UUID.randomUUID().toString();
    HttpResponse<String> first = post(key, "{\"amount\":7}");

    try (IdempotencyStore other = anotherInstancesStore()) {
      Once instance = Once.builder(other).keyScope(KeyScope.global()).build();
      Decision decision = instance.decide(TestRequest.post(key).path("/charges")
          .header("Content-Type", "application/json").body("{\"amount\":7}"));

      assertThat(decision.kind()).isEqualTo(Decision.Kind.REPLAY);
      assertThat(decision.response().status()).isEqualTo(201);
      assertThat(new String(decision.response().body(), StandardCharsets.UTF_8))
          .isEqualTo(first.body());
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void theHealthContributorPingsTheServer() throws Exception {
    HttpResponse<String> health = client.send(HttpRequest.newBuilder(uri("/actuator/health"))
        .GET().build(), HttpResponse.BodyHandlers.ofString());

    Map<String, Object> components = (Map<String, Object>) JsonParserFactory.getJsonParser()
        .parseMap(health.body()).get("components");
    assertThat(components.get("once")).isEqualTo(Map.of("status", "UP",
        "details", Map.of("store", storeClass().getSimpleName())));
  }

  private HttpResponse<String> post(String key, String body) throws Exception {
    return client.send(HttpRequest.newBuilder(uri("/charges"))
            .timeout(Duration.ofSeconds(30))
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }
}
