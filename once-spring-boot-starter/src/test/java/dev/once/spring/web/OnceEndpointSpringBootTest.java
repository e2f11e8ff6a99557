package dev.once.spring.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.ProblemType;
import dev.once.spi.IdempotencyStore;
import dev.once.spring.AppClient;
import dev.once.spring.OwnStoreApplicationTest;
import dev.once.suite.Http;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * The actuator endpoint {@code once}, given access and exposed, in a real application: a client's
 * record is found in its scope, a stuck one is refused then deleted by force, after which a retry
 * runs.
 */
@OwnStoreApplicationTest(classes = TestApplication.class, properties = {
    "management.endpoint.once.access=unrestricted",
    "management.endpoints.web.exposure.include=health,once"})
class OnceEndpointSpringBootTest {
  private static final String BODY = "{\"amount\":9,\"currency\":\"EUR\"}";

  @LocalServerPort
  int port;
  @Autowired
  IdempotencyStore store;
  @Autowired
  PaymentsController payments;

  private final AppClient app = new AppClient(() -> port);

  @Test
  void aCompletedRecordIsDescribedInItsScopeWithoutItsBodyThenDeleted() throws Exception {
    String key = Http.newKey();
    assertThat(app.send("POST", "/payments", key, BODY, "alice").statusCode()).isEqualTo(201);

    HttpResponse<String> found = app.get("/actuator/once/" + key + "?scope=alice");
    HttpResponse<String> otherScope = app.get("/actuator/once/" + key + "?scope=bob");
    HttpResponse<String> deleted = delete(key, "?scope=alice");
    HttpResponse<String> again = app.get("/actuator/once/" + key + "?scope=alice");

    assertThat(found.statusCode()).as(found.body()).isEqualTo(200);
    Map<String, Object> record = AppClient.json(found.body());
    assertThat(record).containsEntry("state", "completed").containsEntry("status", 201)
        .containsEntry("replayable", true).containsKeys("created", "expires", "storedBytes");
    assertThat(found.body()).doesNotContain("EUR");
    assertThat(otherScope.statusCode()).isEqualTo(404);
    assertThat(otherScope.headers().firstValue("Content-Type"))
        .hasValueSatisfying(type -> assertThat(type).startsWith("application/problem+json"));
    assertThat(deleted.statusCode()).isEqualTo(204);
    assertThat(again.statusCode()).isEqualTo(404);
  }

  @Test
  void aStuckRecordIsRefusedUnlessForcedThenTheRetryRuns() throws Exception {
    String key = Http.newKey();
    store.claim("alice " + key, null, Duration.ofMinutes(5));
    int charges = payments.charges.get();

    HttpResponse<String> stuck = app.get("/actuator/once/" + key + "?scope=alice");
    HttpResponse<String> refused = delete(key, "?scope=alice");
    HttpResponse<String> forced = delete(key, "?scope=alice&force=true");
    HttpResponse<String> retry = app.send("POST", "/payments", key, BODY, "alice");

    assertThat(AppClient.json(stuck.body())).containsEntry("state", "in_progress")
        .containsKey("leaseLeftMillis").doesNotContainKey("status");
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(409);
    assertThat(AppClient.json(refused.body()))
        .containsEntry("type", ProblemType.REQUEST_IN_PROGRESS.uri());
    assertThat(forced.statusCode()).isEqualTo(204);
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(payments.charges.get()).isEqualTo(charges + 1);
  }

  @Test
  void aKeyNoRequestCouldCarryIsA400Problem() throws Exception {
    HttpResponse<String> bad = app.get("/actuator/once/" + "x".repeat(300));

    assertThat(bad.statusCode()).as(bad.body()).isEqualTo(400);
    assertThat(AppClient.json(bad.body())).containsEntry("status", 400);
  }

  private HttpResponse<String> delete(String key, String query) throws Exception {
    return app.send(HttpRequest.newBuilder(app.uri("/actuator/once/" + key + query)).DELETE());
  }
}
