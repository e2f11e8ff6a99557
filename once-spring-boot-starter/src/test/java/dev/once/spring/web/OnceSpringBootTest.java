package dev.once.spring.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Once;
import dev.once.ProblemType;
import dev.once.spring.Idempotent;
import dev.once.testing.FailingStore;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.lang.reflect.Method;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.json.JsonParserFactory;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.ApplicationContext;

/**
 * The starter in a real Spring Boot application on Tomcat, on a random port: Spring MVC
 * controllers behind the URL-pattern filter and {@link Idempotent}, Spring Security in front,
 * the actuator beside. Keys are unique per test, so the tests share one application.
 */
@SpringBootTest(
    classes = TestApplication.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
        "once.url-patterns=/payments,/payments/*",
        "management.endpoints.web.exposure.include=health",
        "management.endpoint.health.show-details=always",
        // this application has neither Redis nor a database; the test class path has both
        // Spring Data Redis and Spring JDBC for the store tests
        "spring.autoconfigure.exclude="
            + "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration,"
            + "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
        "spring.main.banner-mode=off"})
class OnceSpringBootTest {
  private static final String JSON = "application/json";

  private final HttpClient client = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10))
      .build();

  @LocalServerPort
  int port;
  @Autowired
  PaymentsController payments;
  @Autowired
  OrdersController orders;
  @Autowired
  FailingStore store;
  @Autowired
  MeterRegistry meters;
  @Autowired
  ApplicationContext context;

  @Test
  void aRetryGetsTheStoredResponseAndTheHandlerRunsOnce() throws Exception {
    String key = newKey();
    String body = "{\"amount\":100,\"currency\":\"EUR\",\"note\":\"rent\"}";
    int before = payments.charges.get();

    HttpResponse<String> first = post("/payments", key, body);
    HttpResponse<String> retry = post("/payments", key, body);

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(json(first.body())).containsEntry("charge", before + 1);
    assertThat(payments.charges.get()).isEqualTo(before + 1);
  }

  @Test
  void aRetryWithAnotherBodyGets422ProblemJsonAndTheHandlerDoesNotRun() throws Exception {
    String key = newKey();
    post("/payments", key, "{\"amount\":100,\"currency\":\"EUR\"}");
    int before = payments.charges.get();

    HttpResponse<String> changed = post("/payments", key, "{\"amount\":500,\"currency\":\"EUR\"}");

    assertProblem(changed, 422, ProblemType.KEY_REUSED);
    assertThat(payments.charges.get()).isEqualTo(before);
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
      first = client.sendAsync(request("/payments/slow", key).header("Content-Type", JSON).POST(
          HttpRequest.BodyPublishers.ofString(body)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(payments.entered.await(10, TimeUnit.SECONDS))
          .as("the first request reached the handler (it answered %s)",
              first.isDone() ? first.get().statusCode() + " " + first.get().body() : "nothing")
          .isTrue();

      duplicate = post("/payments/slow", key, body);
    } finally {
      payments.release.countDown();
    }

    assertProblem(duplicate, 409, ProblemType.REQUEST_IN_PROGRESS);
    assertThat(duplicate.headers().firstValue("Retry-After")).hasValue("1");
    assertThat(first.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
    HttpResponse<String> retry = post("/payments/slow", key, body);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.get().body());
  }

  @Test
  void aMalformedKeyGets400() throws Exception {
    HttpResponse<String> response = post("/payments", "\"unterminated", "{\"amount\":1}");

    assertProblem(response, 400, ProblemType.KEY_INVALID);
  }

  @Test
  void theHandlerReadsTheRequestBodyIntactByteForByte() throws Exception {
    byte[] body = new byte[256 * 1024];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) (i * 31 + (i >> 8));
    }
    String key = newKey();

    HttpResponse<byte[]> first = client.send(request("/payments/echo", key)
            .header("Content-Type", "application/octet-stream")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    HttpResponse<byte[]> retry = client.send(request("/payments/echo", key)
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

    HttpResponse<String> response = post("/payments", newKey(), body);

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
    assertProblem(changed, 422, ProblemType.KEY_REUSED);
    assertThat(payments.charges.get()).isEqualTo(before + 1);
  }

  private HttpResponse<String> sendForm(String key, String form)
      throws IOException, InterruptedException {
    return client.send(request("/payments/form", key)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .method("PATCH", HttpRequest.BodyPublishers.ofString(form)).build(),
        HttpResponse.BodyHandlers.ofString());
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
    String key = newKey();
    String body = "{\"amount\":3,\"currency\":\"GBP\"}";
    int before = payments.charges.get();

    HttpResponse<String> first = post(path, key, body);
    HttpResponse<String> retry = post(path, key, body);

    assertThat(first.statusCode()).isEqualTo(status);
    assertThat(json(first.body())).containsEntry("charge", before + 1);
    assertThat(retry.statusCode()).isEqualTo(status);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(payments.charges.get()).isEqualTo(before + 1);
  }

  @Test
  void aHandlerThatThrowsReleasesTheKeySoTheRetryRunsAgain() throws Exception {
    String key = newKey();
    int before = payments.failures.get();

    HttpResponse<String> first = post("/payments/failing", key, "{}");
    HttpResponse<String> retry = post("/payments/failing", key, "{}");

    assertThat(first.statusCode()).isEqualTo(500);
    assertThat(retry.statusCode()).isEqualTo(500);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(payments.failures.get()).isEqualTo(before + 2);
  }

  @Test
  void anAnnotatedEndpointOutsideTheUrlPatternsIsIdempotent() throws Exception {
    String key = newKey();
    int before = orders.orders.get();

    HttpResponse<String> first = post("/orders", key, "{\"item\":\"book\"}");
    HttpResponse<String> retry = post("/orders", key, "{\"item\":\"book\"}");

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(orders.orders.get()).isEqualTo(before + 1);
  }

  @Test
  void anAnnotatedEndpointThatRequiresAKeyRefusesARequestWithoutOneWith400() throws Exception {
    int before = orders.orders.get();

    HttpResponse<String> response = post("/orders", null, "{\"item\":\"book\"}");

    assertProblem(response, 400, ProblemType.KEY_MISSING);
    assertThat(orders.orders.get()).isEqualTo(before);
  }

  @Test
  void aPutMappingIsIdempotentWhenAnnotatedThoughOnceMethodsLacksPut() throws Exception {
    String key = newKey();
    int before = orders.updates.get();

    HttpResponse<String> first = send("PUT", "/orders/7", key, "{\"item\":\"pen\"}");
    HttpResponse<String> retry = send("PUT", "/orders/7", key, "{\"item\":\"pen\"}");
    HttpResponse<String> other = send("PUT", "/orders/8", key, "{\"item\":\"pen\"}");

    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(orders.updates.get()).isEqualTo(before + 1);
    assertProblem(other, 422, ProblemType.KEY_REUSED);
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
  void anEndpointNeitherAnnotatedNorInTheUrlPatternsRunsEveryTime() throws Exception {
    String key = newKey();
    int before = orders.notes.get();

    HttpResponse<String> first = post("/notes", key, "{\"text\":\"hi\"}");
    HttpResponse<String> second = post("/notes", key, "{\"text\":\"hi\"}");

    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(second.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(orders.notes.get()).isEqualTo(before + 2);
  }

  @Test
  void keysAreScopedByTheAuthenticatedUserSoNobodyIsReplayedAnothersResponse() throws Exception {
    String key = newKey();
    String body = "{\"amount\":10,\"currency\":\"EUR\"}";
    int before = payments.charges.get();

    Map<String, Object> alice = json(send("POST", "/payments", key, body, "alice").body());
    Map<String, Object> bob = json(send("POST", "/payments", key, body, "bob").body());
    Map<String, Object> anonymous = json(post("/payments", key, body).body());
    HttpResponse<String> aliceRetry = send("POST", "/payments", key, body, "alice");

    assertThat(payments.charges.get()).isEqualTo(before + 3);
    assertThat(alice).containsEntry("by", "alice");
    assertThat(bob).containsEntry("by", "bob");
    assertThat(anonymous.get("by")).isNull();
    assertThat(aliceRetry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(json(aliceRetry.body())).isEqualTo(alice);
  }

  @Test
  void aRequestSpringSecurityRefusesNeverClaimsAKey() throws Exception {
    double executedBefore = count("executed");
    String key = newKey();

    HttpResponse<String> refused = client.send(request("/payments", key)
            .header("Authorization", basic("alice", "wrong"))
            .header("Content-Type", JSON)
            .POST(HttpRequest.BodyPublishers.ofString("{\"amount\":1}")).build(),
        HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> accepted =
        send("POST", "/payments", key, "{\"amount\":1,\"currency\":\"EUR\"}", "alice");

    assertThat(refused.statusCode()).isEqualTo(401);
    assertThat(accepted.statusCode()).isEqualTo(201);
    assertThat(count("executed")).isEqualTo(executedBefore + 1);
  }

  @Test
  void whenTheStoreIsDownAKeyedRequestGets503AndTheHandlerDoesNotRun() throws Exception {
    int before = payments.charges.get();
    double errorsBefore = count("store_error");
    HttpResponse<String> response;
    store.failing(true);
    try {
      response = post("/payments", newKey(), "{\"amount\":1,\"currency\":\"EUR\"}");
    } finally {
      store.failing(false);
    }

    assertProblem(response, 503, ProblemType.STORE_UNAVAILABLE);
    assertThat(payments.charges.get()).isEqualTo(before);
    assertThat(count("store_error")).isEqualTo(errorsBefore + 1);
    assertThat(meters.get("once.store.errors").tag("operation", "claim").counter().count())
        .isPositive();
  }

  @Test
  void theMetersCountEachOutcomeAndTimeTheStore() throws Exception {
    double executed = count("executed");
    double replayed = count("replayed");
    double mismatch = count("mismatch");
    double rejected = count("rejected");
    double passedThrough = count("passed_through");
    long claims = meters.get("once.store.operations").tag("operation", "claim")
        .tag("outcome", "success").tag("store", "FailingStore").timer().count();
    String key = newKey();

    post("/payments", key, "{\"amount\":1,\"currency\":\"EUR\"}");
    post("/payments", key, "{\"amount\":1,\"currency\":\"EUR\"}");
    post("/payments", key, "{\"amount\":2,\"currency\":\"EUR\"}");
    post("/payments", "bad key", "{\"amount\":2,\"currency\":\"EUR\"}");
    post("/payments", null, "{\"amount\":2,\"currency\":\"EUR\"}");

    assertThat(count("executed")).isEqualTo(executed + 1);
    assertThat(count("replayed")).isEqualTo(replayed + 1);
    assertThat(count("mismatch")).isEqualTo(mismatch + 1);
    assertThat(count("rejected")).isEqualTo(rejected + 1);
    assertThat(count("passed_through")).isEqualTo(passedThrough + 1);
    assertThat(meters.get("once.store.operations").tag("operation", "claim")
        .tag("outcome", "success").tag("store", "FailingStore").timer().count())
        .isEqualTo(claims + 3);
    assertThat(meters.get("once.in.flight").gauge().value()).isZero();
  }

  @Test
  void theHealthEndpointShowsTheStore() throws Exception {
    HttpResponse<String> response = client.send(request("/actuator/health", null).GET().build(),
        HttpResponse.BodyHandlers.ofString());

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
      HttpResponse<String> response = client.send(
          request("/problems/" + type.name(), null).GET().build(),
          HttpResponse.BodyHandlers.ofString());

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
    }
  }

  private double count(String outcome) {
    return meters.get("once.requests").tag("outcome", outcome).counter().count();
  }

  private void assertProblem(HttpResponse<String> response, int status, ProblemType type) {
    assertThat(response.statusCode()).isEqualTo(status);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValue("application/problem+json");
    Map<String, Object> problem = json(response.body());
    assertThat(problem).containsEntry("type", type.uri()).containsEntry("title", type.title());
    assertThat(((Number) problem.get("status")).intValue()).isEqualTo(status);
  }

  private HttpResponse<String> post(String path, String key, String body)
      throws IOException, InterruptedException {
    return send("POST", path, key, body, null);
  }

  private HttpResponse<String> send(String method, String path, String key, String body)
      throws IOException, InterruptedException {
    return send(method, path, key, body, null);
  }

  private HttpResponse<String> send(String method, String path, String key, String body,
      String user) throws IOException, InterruptedException {
    HttpRequest.Builder request = request(path, key)
        .header("Content-Type", JSON)
        .method(method, HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    if (user != null) {
      request.header("Authorization", basic(user, user + "-password"));
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpRequest.Builder request(String path, String key) {
    HttpRequest.Builder request = HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(30));
    if (key != null) {
      request.header("Idempotency-Key", key);
    }
    return request;
  }

  private static String basic(String user, String password) {
    return "Basic " + Base64.getEncoder()
        .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private static String newKey() {
    return UUID.randomUUID().toString();
  }

  private static Map<String, Object> json(String body) {
    return JsonParserFactory.getJsonParser().parseMap(body);
  }

  private static Object invoke(Object target, String method) throws Exception {
    Method m = target.getClass().getDeclaredMethod(method);
    m.setAccessible(true);
    return m.invoke(target);
  }

}
