package dev.once.spring;

import static dev.once.spring.AppClient.assertProblem;
import static dev.once.spring.AppClient.basic;
import static dev.once.spring.AppClient.json;
import static dev.once.suite.Http.newKey;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.ProblemType;
import dev.once.testing.FailingStore;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * What the starter does alike in a servlet application ({@code web}, Spring MVC on Tomcat) and a
 * reactive one ({@code reactive}, WebFlux on Netty): a subclass starts its application on a random
 * port with {@code once.url-patterns=/payments,/payments/*}, Spring Security's users alice and bob,
 * and a {@code POST /payments} that answers 201 with a JSON charge (its run's number, the amount
 * and the user, if any). Keys are unique per test, so the tests share one application.
 */
public abstract class IdempotentApplicationTest {
  @LocalServerPort
  int port;
  /** The application's own store, which a test can make fail. */
  @Autowired
  protected FailingStore store;
  @Autowired
  protected MeterRegistry meters;

  protected final AppClient app = new AppClient(() -> port);

  /**
   * What differs between the two applications: their handlers' run counters, and the path of an
   * endpoint that is neither annotated nor in the URL patterns.
   *
   * @param charges runs of {@code POST /payments}
   * @param updates runs of {@code PUT /orders/{id}}, which carries {@link Idempotent} outside the
   *     URL patterns, though {@code PUT} is not in {@code once.methods}
   * @param unannotatedPath a {@code POST} endpoint neither annotated nor in the URL patterns
   * @param unannotated runs of that endpoint
   */
  public record Handlers(AtomicInteger charges, AtomicInteger updates, String unannotatedPath,
      AtomicInteger unannotated) {}

  /** @return this application's handlers */
  protected abstract Handlers handlers();

  private int charges() {
    return handlers().charges().get();
  }

  /** @return the count of {@code once.requests} with {@code outcome} */
  protected double requests(String outcome) {
    return meters.get("once.requests").tag("outcome", outcome).counter().count();
  }

  /** @return a payment of {@code amount} euros, as both applications' {@code /payments} take it */
  private static String payment(int amount) {
    return "{\"amount\":" + amount + ",\"currency\":\"EUR\"}";
  }

  @Test
  void aRetryToACoveredUrlGetsTheStoredResponseAndTheHandlerRunsOnce() throws Exception {
    String key = newKey();
    int before = charges();

    HttpResponse<String> first = app.post("/payments", key, payment(100));
    HttpResponse<String> retry = app.post("/payments", key, payment(100));

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(json(first.body())).containsEntry("charge", before + 1);
    assertThat(((Number) json(first.body()).get("amount")).intValue()).isEqualTo(100);
    assertThat(charges()).isEqualTo(before + 1);
  }

  @Test
  void aRetryWithAnotherBodyGets422ProblemJsonAndTheHandlerDoesNotRun() throws Exception {
    String key = newKey();
    app.post("/payments", key, payment(100));
    int before = charges();

    HttpResponse<String> changed = app.post("/payments", key, payment(500));

    assertProblem(changed, ProblemType.KEY_REUSED);
    assertThat(charges()).isEqualTo(before);
  }

  @Test
  void keysAreScopedByTheAuthenticatedUserSoNobodyIsReplayedAnothersResponse() throws Exception {
    String key = newKey();
    String body = payment(10);
    int before = charges();

    Map<String, Object> alice = json(app.send("POST", "/payments", key, body, "alice").body());
    Map<String, Object> bob = json(app.send("POST", "/payments", key, body, "bob").body());
    Map<String, Object> anonymous = json(app.post("/payments", key, body).body());
    HttpResponse<String> aliceRetry = app.send("POST", "/payments", key, body, "alice");

    assertThat(charges()).isEqualTo(before + 3);
    assertThat(alice).containsEntry("by", "alice");
    assertThat(bob).containsEntry("by", "bob");
    assertThat(anonymous.get("by")).isNull();
    assertThat(aliceRetry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(json(aliceRetry.body())).isEqualTo(alice);
  }

  @Test
  void aRequestSpringSecurityRefusesNeverClaimsAKey() throws Exception {
    String key = newKey();
    int before = charges();
    double executedBefore = requests("executed");

    HttpResponse<String> refused = app.send(app.request("/payments", key)
        .header("Authorization", basic("alice", "wrong"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"amount\":1}")));
    HttpResponse<String> accepted = app.send("POST", "/payments", key, payment(1), "alice");

    assertThat(refused.statusCode()).isEqualTo(401);
    assertThat(accepted.statusCode()).isEqualTo(201);
    assertThat(accepted.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(charges()).isEqualTo(before + 1);
    assertThat(requests("executed")).isEqualTo(executedBefore + 1);
  }

  @Test
  void whenTheStoreIsDownAKeyedRequestGets503AndTheHandlerDoesNotRun() throws Exception {
    int before = charges();
    double errorsBefore = requests("store_error");
    HttpResponse<String> response;
    store.failing(true);
    try {
      response = app.post("/payments", newKey(), payment(1));
    } finally {
      store.failing(false);
    }

    assertProblem(response, ProblemType.STORE_UNAVAILABLE);
    assertThat(response.body()).doesNotContain("Exception").doesNotContain("at dev.once");
    assertThat(charges()).isEqualTo(before);
    assertThat(requests("store_error")).isEqualTo(errorsBefore + 1);
    assertThat(meters.get("once.store.errors").tag("operation", "claim").counter().count())
        .isPositive();
  }

  @Test
  void aPutMappingIsIdempotentWhenAnnotatedThoughOnceMethodsLacksPut() throws Exception {
    String key = newKey();
    String pen = "{\"item\":\"pen\"}";
    int before = handlers().updates().get();

    HttpResponse<String> first = app.send("PUT", "/orders/7", key, pen, null);
    HttpResponse<String> retry = app.send("PUT", "/orders/7", key, pen, null);
    HttpResponse<String> other = app.send("PUT", "/orders/8", key, pen, null);

    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(retry.statusCode()).isEqualTo(200);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(handlers().updates()).hasValue(before + 1);
    assertProblem(other, ProblemType.KEY_REUSED);
  }

  @Test
  void anEndpointNeitherAnnotatedNorInTheUrlPatternsRunsEveryTime() throws Exception {
    String key = newKey();
    int before = handlers().unannotated().get();

    HttpResponse<String> first = app.post(handlers().unannotatedPath(), key, "{}");
    HttpResponse<String> second = app.post(handlers().unannotatedPath(), key, "{}");

    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(second.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(second.body()).isNotEqualTo(first.body());
    assertThat(handlers().unannotated()).hasValue(before + 2);
  }
}
