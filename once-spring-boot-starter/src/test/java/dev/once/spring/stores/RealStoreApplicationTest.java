package dev.once.spring.stores;

import static dev.once.testing.Decisions.replayed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Decision;
import dev.once.KeyScope;
import dev.once.Once;
import dev.once.spi.IdempotencyStore;
import dev.once.spring.AppClient;
import dev.once.testing.TestRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.UUID;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.json.JsonParserFactory;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.TestPropertySource;

/**
 * The starter's store in a running application, on a real server: what a retry gets, where the
 * record is, and that another instance of the service, with a store of its own on the same
 * server, replays it. Subclasses start the application on Redis or PostgreSQL.
 */
@SpringBootTest(classes = StoreApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {"management.endpoints.web.exposure.include=health",
    "management.endpoint.health.show-details=always", "spring.main.banner-mode=off"})
abstract class RealStoreApplicationTest {
  @LocalServerPort
  int port;
  @Autowired
  StoreApplication.ChargesController charges;
  @Autowired
  IdempotencyStore store;

  private final AppClient app = new AppClient(() -> port);
  private final Class<? extends IdempotencyStore> storeClass;
  private final LongSupplier records;
  private final Supplier<IdempotencyStore> anotherInstancesStore;

  /**
   * @param storeClass the class the starter's store must be
   * @param records how many records the server holds now (the application's only)
   * @param anotherInstancesStore a store of another instance of the service, on the same server;
   *     the test closes it
   */
  RealStoreApplicationTest(Class<? extends IdempotencyStore> storeClass, LongSupplier records,
      Supplier<IdempotencyStore> anotherInstancesStore) {
    this.storeClass = storeClass;
    this.records = records;
    this.anotherInstancesStore = anotherInstancesStore;
  }

  @Test
  void aRetryIsReplayedFromTheServerAndTheHandlerRunsOnce() throws Exception {
    String key = UUID.randomUUID().toString();
    int before = charges.charges.get();
    long recordsBefore = records.getAsLong();

    HttpResponse<String> first = post(key, "{\"amount\":100}");
    HttpResponse<String> retry = post(key, "{\"amount\":100}");
    HttpResponse<String> changed = post(key, "{\"amount\":500}");

    assertThat(store).isInstanceOf(storeClass);
    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(changed.statusCode()).isEqualTo(422);
    assertThat(charges.charges.get()).isEqualTo(before + 1);
    assertThat(records.getAsLong()).isEqualTo(recordsBefore + 1);
  }

  @Test
  void anotherInstanceOnTheSameServerReplaysTheRecord() throws Exception {
    String key = UUID.randomUUID().toString();
    HttpResponse<String> first = post(key, "{\"amount\":7}");

    try (IdempotencyStore other = anotherInstancesStore.get()) {
      Once instance = Once.builder(other).keyScope(KeyScope.global()).build();
      Decision decision = instance.decide(TestRequest.post(key).path("/charges")
          .header("Content-Type", "application/json").body("{\"amount\":7}"));

      assertThat(decision).isInstanceOf(Decision.Replay.class);
      assertThat(replayed(decision).status()).isEqualTo(201);
      assertThat(new String(replayed(decision).body(), StandardCharsets.UTF_8))
          .isEqualTo(first.body());
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void theHealthContributorPingsTheServer() throws Exception {
    HttpResponse<String> health = app.get("/actuator/health");

    Map<String, Object> components = (Map<String, Object>) JsonParserFactory.getJsonParser()
        .parseMap(health.body()).get("components");
    assertThat(components.get("once")).isEqualTo(Map.of("status", "UP",
        "details", Map.of("store", storeClass.getSimpleName())));
  }

  private HttpResponse<String> post(String key, String body) throws Exception {
    return app.post("/charges", key, body);
  }
}
