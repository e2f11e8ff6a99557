package dev.once.spring.web;

import static dev.once.spring.AppClient.assertProblem;
import static dev.once.spring.AppClient.json;
import static dev.once.suite.Http.newKey;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Once;
import dev.once.ProblemType;
import dev.once.spring.Idempotent;
import dev.once.spring.IdempotentApplicationTest;
import dev.once.spring.OwnStoreApplicationTest;
import dev.once.suite.Http;
import java.lang.reflect.Method;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.ApplicationContext;

/**
 * The starter in a real Spring Boot application on Tomcat, on a random port: Spring MVC
 * controllers behind the URL-pattern filter and {@link Idempotent}, Spring Security in front,
 * the actuator beside. Keys are unique per test, so the tests share one application. What a
 * reactive application does alike is in {@link IdempotentApplicationTest}.
 */
@OwnStoreApplicationTest(classes = TestApplication.class, properties = {
    "management.endpoints.web.exposure.include=health",
    "management.endpoint.health.show-details=always"})
class OnceSpringBootTest extends IdempotentApplicationTest {

  @Autowired
  PaymentsController payments;
  @Autowired
  OrdersController orders;
  @Autowired
  ApplicationContext context;

  @Override
  protected Handlers handlers() {
    return new Handlers(payments.charges, orders.updates, "/notes", orders.notes);
  }

  @Test
  void aDuplicateWhileTheFirstRunsGets409WithRetryAfterThenTheReplay() throws Exception {
    String key = newKey();
    String body = "{\"amount\":7,\"currency\":\"USD\"}";
    payments.entered = new CountDownLatch(1);
    payments.release = new CountDownLatch(1);
    CompletableFuture<HttpResponse<String>> first;
    HttpResponse<String> duplicate;
    try {
      first = Http.CLIENT.sendAsync(app.jsonRequest("POST", "/payments/slow", key, body, null)
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(payments.entered.await(10, TimeUnit.SECONDS))
          .as("the first request reached the handler (it answered %s)",
              first.isDone() ? first.get().statusCode() + " " + first.get().body() : "nothing")
          .isTrue();

      duplicate = app.post("/payments/slow", key, body);
    } finally {
      payments.release.countDown();
    }

    assertProblem(duplicate, ProblemType.REQUEST_IN_PROGRESS);
    assertThat(duplicate.headers().firstValue("Retry-After")).hasValue("1");
    assertThat(first.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
    HttpResponse<String> retry = app.post("/payments/slow", key, body);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.get().body());
  }

  @Test
  void aMalformedKeyGets400() throws Exception {
    HttpResponse<String> response = app.post("/payments", "\"unterminated", "{\"amount\":1}");

    assertProblem(response, ProblemType.KEY_INVALID);
  }

  @Test
  void theHandlerReadsTheRequestBodyIntactByteForByte() throws Exception {
    byte[] body = new byte[256 * 1024];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) (i * 31 + (i >> 8));
    }
    String key = newKey();

    HttpResponse<byte[]> first = Http.CLIENT.send(app.request("/payments/echo", key)
            .header("Content-Type", "application/octet-stream")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    HttpResponse<byte[]> retry = Http.CLIENT.send(app.request("/payments/echo", key)
            .header("Content-Type", "application/octet-stream")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofByteArray());

    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.body()).isEqualTo(body);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(body);
  }

  @Test
  void aJsonBodyReachesTheRequestBodyParameterIntact() throws Exception {
    String note = "naïve café ✓ 日本 " + "x".repeat(10_000);
    String body = "{\"amount\":42,\"currency\":\"JPY\",\"note\":\"" + note + "\"}";

    HttpResponse<String> response = app.post("/payments", newKey(), body);

    Map<String, Object> payment = json(response.body());
    assertThat(((Number) payment.get("amount")).longValue()).isEqualTo(42);
    assertThat(payment).containsEntry("currency", "JPY").containsEntry("note", note);
  }

  @Test
  void aPatchFormBodyReachesTheHandlerAndAChangedFormGets422() throws Exception {
    String key = newKey();
    String form = "amount=12&currency=EUR&note=caf%C3%A9+au+lait";
    int before = payments.charges.get();

    HttpResponse<String> first = sendForm(key, form);
    HttpResponse<String> retry = sendForm(key, form);
    HttpResponse<String> changed = sendForm(key, "amount=99&currency=EUR");

    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(json(first.body()).get("form"))
        .isEqualTo(Map.of("amount", "12", "currency", "EUR", "note", "café au lait"));
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body());
    assertProblem(changed, ProblemType.KEY_REUSED);
    assertThat(payments.charges.get()).isEqualTo(before + 1);
  }

  private HttpResponse<String> sendForm(String key, String form) throws Exception {
    return app.send(app.request("/payments/form", key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .method("PATCH", HttpRequest.BodyPublishers.ofString(form)));
  }

  @Test
  void aCompletableFutureHandlerIsStoredWhenItCompletesAndReplayed() throws Exception {
    assertAsyncHandlerRunsOnce("/payments/async", 201);
  }

  @Test
  void aDeferredResultHandlerIsStoredWhenItCompletesAndReplayed() throws Exception {
    assertAsyncHandlerRunsOnce("/payments/deferred", 200);
  }

  private void assertAsyncHandlerRunsOnce(String path, int status) throws Exception {
    String body = "{\"amount\":3,\"currency\":\"GBP\"}";
    int before = payments.charges.get();

    HttpResponse<String> replay = app.replayedRetry("POST", path, body);

    assertThat(replay.statusCode()).isEqualTo(status);
    assertThat(json(replay.body())).containsEntry("charge", before + 1);
    assertThat(payments.charges.get()).isEqualTo(before + 1);
  }

  @Test
  void aHandlerThatThrowsReleasesTheKeySoTheRetryRunsAgain() throws Exception {
    String key = newKey();
    int before = payments.failures.get();

    HttpResponse<String> first = app.post("/payments/failing", key, "{}");
    HttpResponse<String> retry = app.post("/payments/failing", key, "{}");

    assertThat(first.statusCode()).isEqualTo(500);
    assertThat(retry.statusCode()).isEqualTo(500);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(payments.failures.get()).isEqualTo(before + 2);
  }

  @Test
  void anAnnotatedEndpointOutsideTheUrlPatternsIsIdempotent() throws Exception {
    int before = orders.orders.get();

    HttpResponse<String> replay = app.replayedRetry("POST", "/orders", "{\"item\":\"book\"}");

    assertThat(replay.statusCode()).isEqualTo(201);
    assertThat(orders.orders.get()).isEqualTo(before + 1);
  }

  @Test
  void anAnnotatedEndpointThatRequiresAKeyRefusesARequestWithoutOneWith400() throws Exception {
    int before = orders.orders.get();

    HttpResponse<String> response = app.post("/orders", null, "{\"item\":\"book\"}");

    assertProblem(response, ProblemType.KEY_MISSING);
    assertThat(orders.orders.get()).isEqualTo(before);
  }

  @Test
  void eachAnnotatedEndpointHasTheApplicationsSettingsWithItsOwn() throws Exception {
    @SuppressWarnings("unchecked")
    Map<Method, Once> engines = (Map<Method, Once>) invoke(
        context.getBean("onceIdempotentEndpoints"), "engines");
    Once application = context.getBean(Once.class);
    Method create = OrdersController.class.getDeclaredMethod("create", Map.class);
    Method update =
        OrdersController.class.getDeclaredMethod("update", String.class, Map.class);

    assertThat(engines).containsOnlyKeys(create, update);
    assertThat(engines.get(create).ttl()).isEqualTo(Duration.ofHours(1));
    assertThat(engines.get(create).requireKey()).isTrue();
    assertThat(engines.get(create).methods()).containsExactly("POST");
    assertThat(engines.get(update).ttl()).isEqualTo(application.ttl());
    assertThat(engines.get(update).requireKey()).isFalse();
    assertThat(engines.get(update).methods()).containsExactly("PUT");
    assertThat(engines.get(update).store()).isSameAs(application.store());
    assertThat(engines.get(update).listener()).isSameAs(application.listener());
  }

  @Test
  void theMetersCountEachOutcomeAndTimeTheStore() throws Exception {
    double executed = requests("executed");
    double replayed = requests("replayed");
    double mismatch = requests("mismatch");
    double rejected = requests("rejected");
    double passedThrough = requests("passed_through");
    long claims = meters.get("once.store.operations").tag("operation", "claim")
        .tag("outcome", "success").tag("store", "FailingStore").timer().count();
    String key = newKey();

    app.post("/payments", key, "{\"amount\":1,\"currency\":\"EUR\"}");
    app.post("/payments", key, "{\"amount\":1,\"currency\":\"EUR\"}");
    app.post("/payments", key, "{\"amount\":2,\"currency\":\"EUR\"}");
    app.post("/payments", "bad key", "{\"amount\":2,\"currency\":\"EUR\"}");
    app.post("/payments", null, "{\"amount\":2,\"currency\":\"EUR\"}");

    assertThat(requests("executed")).isEqualTo(executed + 1);
    assertThat(requests("replayed")).isEqualTo(replayed + 1);
    assertThat(requests("mismatch")).isEqualTo(mismatch + 1);
    assertThat(requests("rejected")).isEqualTo(rejected + 1);
    assertThat(requests("passed_through")).isEqualTo(passedThrough + 1);
    assertThat(meters.get("once.store.operations").tag("operation", "claim")
        .tag("outcome", "success").tag("store", "FailingStore").timer().count())
        .isEqualTo(claims + 3);
    assertThat(meters.get("once.in.flight").gauge().value()).isZero();
  }

  @Test
  void theHealthEndpointShowsTheStore() throws Exception {
    HttpResponse<String> response = app.get("/actuator/health");

    assertThat(response.statusCode()).isEqualTo(200);
    @SuppressWarnings("unchecked")
    Map<String, Object> components = (Map<String, Object>) json(response.body()).get("components");
    assertThat(components).containsKey("once");
    @SuppressWarnings("unchecked")
    Map<String, Object> once = (Map<String, Object>) components.get("once");
    assertThat(once).containsEntry("status", "UP");
    assertThat(once.get("details")).isEqualTo(Map.of("store", "FailingStore"));
  }

  @Test
  void springProblemDetailsCarryTheSameFieldsAsTheFiltersProblems() throws Exception {
    for (ProblemType type : ProblemType.values()) {
      HttpResponse<String> response = app.get("/problems/" + type.name());

      assertThat(response.statusCode()).as(type.name()).isEqualTo(type.status());
      assertThat(response.headers().firstValue("Content-Type"))
          .hasValue("application/problem+json");
      assertThat(response.headers().firstValue("Cache-Control")).hasValue("no-store");
      // the filter's four members, equal; Spring MVC adds the optional "instance" (the path)
      Map<String, Object> spring = json(response.body());
      assertThat(spring.remove("instance")).isEqualTo("/problems/" + type.name());
      assertThat(spring).as(type.name())
          .isEqualTo(json(ProblemsController.problemOf(type).toJson()));
      assertThat(response.headers().firstValue("Retry-After"))
          .isEqualTo(type == ProblemType.REQUEST_IN_PROGRESS
              ? java.util.Optional.of("1") : java.util.Optional.empty());
      if (type.status() == 408) {
        assertThat(response.headers().firstValue("Connection")).hasValue("close");
      }
    }
  }

  private static Object invoke(Object target, String method) throws Exception {
    Method m = target.getClass().getDeclaredMethod(method);
    m.setAccessible(true);
    return m.invoke(target);
  }

}
