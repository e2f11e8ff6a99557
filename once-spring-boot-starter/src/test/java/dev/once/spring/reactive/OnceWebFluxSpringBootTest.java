package dev.once.spring.reactive;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Once;
import dev.once.testing.FailingStore;
import java.lang.reflect.Method;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.json.JsonParserFactory;
import org.springframework.boot.reactor.netty.NettyWebServer;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.boot.web.server.reactive.context.ReactiveWebServerApplicationContext;
import org.springframework.context.ApplicationContext;
import org.springframework.test.util.ReflectionTestUtils;
import org.springframework.web.server.WebFilter;

/**
 * The starter in a real Spring WebFlux application on Reactor Netty, on a random port: annotated
 * controllers behind the URL-pattern {@code WebFilter} and {@link dev.once.spring.Idempotent},
 * Spring Security's reactive chain in front, the same {@code once.*} properties as a servlet
 * application. Keys are unique per test, so the tests share one application.
 */
@SpringBootTest(
    classes = ReactiveTestApplication.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
        "spring.main.web-application-type=reactive",
        "once.url-patterns=/payments,/payments/*",
        "once.max-body=1KB",
        "once.ttl=2h",
        // the test class path has Spring Data Redis and Spring JDBC for the store tests
        "spring.autoconfigure.exclude="
            + "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration,"
            + "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
        "spring.main.banner-mode=off"})
class OnceWebFluxSpringBootTest {
  private static final String JSON = "application/json";

  private final HttpClient client = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10))
      .build();

  @LocalServerPort
  int port;
  @Autowired
  ReactivePaymentsController controller;
  @Autowired
  FailingStore store;
  @Autowired
  ApplicationContext context;

  @Test
  void theApplicationRunsOnNettyWithTheOnceWebFiltersAndNoServletFilter() {
    assertThat(((ReactiveWebServerApplicationContext) context).getWebServer())
        .isInstanceOf(NettyWebServer.class);
    assertThat(context.getBeansOfType(WebFilter.class))
        .containsKeys("onceWebFilter", "onceIdempotentWebFilter");
    assertThat(context.containsBean("onceFilterRegistration")).isFalse();
    assertThat(context.containsBean("onceIdempotentFilterRegistration")).isFalse();
  }

  @Test
  void aRetryToACoveredUrlGetsTheStoredResponseAndTheHandlerRunsOnce() throws Exception {
    String key = newKey();
    String body = "{\"amount\":100}";
    int before = controller.charges.get();

    HttpResponse<String> first = post("/payments", key, body);
    HttpResponse<String> retry = post("/payments", key, body);

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.headers().firstValue("Content-Type")).hasValue(JSON);
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(json(first.body())).containsEntry("charge", before + 1).containsEntry("amount", 100);
    assertThat(controller.charges.get()).isEqualTo(before + 1);
  }

  @Test
  void aRetryWithAnotherBodyGets422ProblemJsonAndTheHandlerDoesNotRun() throws Exception {
    String key = newKey();
    post("/payments", key, "{\"amount\":100}");
    int before = controller.charges.get();

    HttpResponse<String> changed = post("/payments", key, "{\"amount\":500}");

    assertProblem(changed, 422, "idempotency-key-reused");
    assertThat(controller.charges.get()).isEqualTo(before);
  }

  @Test
  void theOncePropertiesApply() throws Exception {
    HttpResponse<String> tooLarge = post("/payments", newKey(),
        "{\"note\":\"" + "x".repeat(2000) + "\"}");
    HttpResponse<String> malformed = post("/payments", "two words", "{\"amount\":1}");

    assertProblem(tooLarge, 413, "request-too-large");
    assertProblem(malformed, 400, "idempotency-key-invalid");
    Once engine = context.getBean(Once.class);
    assertThat(engine.ttl()).isEqualTo(Duration.ofHours(2));
    assertThat(engine.maxBodyBytes()).isEqualTo(1024);
  }

  @Test
  void fiftyConcurrentDuplicatesRunTheHandlerOnce() throws Exception {
    String key = newKey();
    int duplicates = 50;
    int before = controller.charges.get();
    CyclicBarrier start = new CyclicBarrier(duplicates);
    ExecutorService threads = Executors.newFixedThreadPool(duplicates);
    List<HttpResponse<String>> responses = new ArrayList<>();
    try {
      List<Future<HttpResponse<String>>> sent = new ArrayList<>();
      for (int i = 0; i < duplicates; i++) {
        sent.add(threads.submit(() -> {
          start.await();
          return post("/payments/slow", key, "{\"amount\":5}");
        }));
      }
      for (Future<HttpResponse<String>> response : sent) {
        responses.add(response.get());
      }
    } finally {
      threads.shutdownNow();
    }

    assertThat(controller.charges.get()).isEqualTo(before + 1);
    assertThat(responses).filteredOn(response -> response.statusCode() == 201
        && response.headers().firstValue("Idempotent-Replayed").isEmpty()).hasSize(1);
    assertThat(responses).allSatisfy(response -> assertThat(response.statusCode())
        .as(response.body()).isIn(201, 409));
    assertThat(responses).filteredOn(response -> response.statusCode() == 201)
        .extracting(HttpResponse::body).containsOnly("charge " + (before + 1));
  }

  @Test
  void aFormBodyReachesTheHandlerAndAChangedFormGets422() throws Exception {
    String key = newKey();

    HttpResponse<String> first = send(request("/payments/form", key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString("amount=42")).build());
    HttpResponse<String> changed = send(request("/payments/form", key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString("amount=43")).build());

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).endsWith(" of 42");
    assertProblem(changed, 422, "idempotency-key-reused");
  }

  @Test
  void anAnnotatedMethodOutsideTheUrlPatternsIsIdempotentAndRequiresAKey() throws Exception {
    String key = newKey();
    int before = controller.orders.get();

    HttpResponse<String> first = post("/orders", key, "{\"item\":\"book\"}");
    HttpResponse<String> retry = post("/orders", key, "{\"item\":\"book\"}");
    HttpResponse<String> noKey = post("/orders", null, "{\"item\":\"book\"}");

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body()).isEqualTo("order " + (before + 1));
    assertProblem(noKey, 400, "idempotency-key-missing");
    assertThat(controller.orders.get()).isEqualTo(before + 1);
  }

  @Test
  void aPutMappingIsIdempotentWhenAnnotatedWithItsOwnTtlThoughOnceMethodsLacksPut()
      throws Exception {
    String key = newKey();
    int before = controller.updates.get();

    HttpResponse<String> first = send("PUT", "/orders/7", key, "{\"item\":\"pen\"}", null);
    HttpResponse<String> retry = send("PUT", "/orders/7", key, "{\"item\":\"pen\"}", null);

    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo("update " + (before + 1) + " of 7");
    assertThat(controller.updates.get()).isEqualTo(before + 1);
    @SuppressWarnings("unchecked")
    Map<Method, Once> engines = (Map<Method, Once>) ReflectionTestUtils.invokeMethod(
        context.getBean("onceIdempotentWebFluxEndpoints"), "engines");
    Once update = engines.entrySet().stream()
        .filter(entry -> entry.getKey().getName().equals("update"))
        .map(Map.Entry::getValue).findFirst().orElseThrow();
    assertThat(update.methods()).isEqualTo(Set.of("PUT"));
    assertThat(update.ttl()).isEqualTo(Duration.ofHours(1));
  }

  @Test
  void anAnnotatedMethodUnderTheUrlPatternsIsAnsweredByItsOwnFilterAlone() throws Exception {
    String key = newKey();
    int before = controller.charges.get();

    HttpResponse<String> first = post("/payments/annotated", key, "{\"amount\":3}");
    HttpResponse<String> retry = post("/payments/annotated", key, "{\"amount\":3}");

    // a second filter on the same request would find the key in flight and answer 409
    assertThat(first.statusCode()).as(first.body()).isEqualTo(201);
    assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body()).isEqualTo("charge " + (before + 1));
    assertThat(controller.charges.get()).isEqualTo(before + 1);
  }

  @Test
  void anEndpointNeitherAnnotatedNorInTheUrlPatternsRunsEveryTime() throws Exception {
    String key = newKey();
    int before = controller.free.get();

    HttpResponse<String> first = post("/free", key, "{}");
    HttpResponse<String> second = post("/free", key, "{}");

    assertThat(second.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(first.body()).isEqualTo("free " + (before + 1));
    assertThat(second.body()).isEqualTo("free " + (before + 2));
  }

  @Test
  void keysAreScopedByTheAuthenticatedUserSoNobodyIsReplayedAnothersResponse() throws Exception {
    String key = newKey();
    String body = "{\"amount\":10}";
    int before = controller.charges.get();

    Map<String, Object> alice = json(send("POST", "/payments", key, body, "alice").body());
    Map<String, Object> bob = json(send("POST", "/payments", key, body, "bob").body());
    Map<String, Object> anonymous = json(post("/payments", key, body).body());
    HttpResponse<String> aliceRetry = send("POST", "/payments", key, body, "alice");

    assertThat(controller.charges.get()).isEqualTo(before + 3);
    assertThat(alice).containsEntry("by", "alice");
    assertThat(bob).containsEntry("by", "bob");
    assertThat(anonymous.get("by")).isNull();
    assertThat(aliceRetry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(json(aliceRetry.body())).isEqualTo(alice);
  }

  @Test
  void aRequestSpringSecurityRefusesNeverClaimsAKey() throws Exception {
    String key = newKey();
    int before = controller.charges.get();

    HttpResponse<String> refused = send(request("/payments", key)
        .header("Authorization", basic("alice", "wrong"))
        .header("Content-Type", JSON)
        .POST(HttpRequest.BodyPublishers.ofString("{\"amount\":1}")).build());
    HttpResponse<String> accepted = send("POST", "/payments", key, "{\"amount\":1}", "alice");

    assertThat(refused.statusCode()).isEqualTo(401);
    assertThat(accepted.statusCode()).isEqualTo(201);
    assertThat(accepted.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(controller.charges.get()).isEqualTo(before + 1);
  }

  @Test
  void whenTheStoreIsDownAKeyedRequestGets503AndTheHandlerDoesNotRun() throws Exception {
    int before = controller.charges.get();
    store.failing(true);
    HttpResponse<String> response;
    try {
      response = post("/payments", newKey(), "{\"amount\":1}");
    } finally {
      store.failing(false);
    }

    assertProblem(response, 503, "store-unavailable");
    assertThat(response.body()).doesNotContain("Exception").doesNotContain("at dev.once");
    assertThat(controller.charges.get()).isEqualTo(before);
  }

  private void assertProblem(HttpResponse<String> response, int status, String type) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValue("application/problem+json");
    assertThat(json(response.body()))
        .containsEntry("type", "https://once.dev/problems/" + type)
        .containsEntry("status", status);
  }

  private HttpResponse<String> post(String path, String key, String body) throws Exception {
    return send("POST", path, key, body, null);
  }

  private HttpResponse<String> send(String method, String path, String key, String body,
      String user) throws Exception {
    HttpRequest.Builder request = request(path, key).header("Content-Type", JSON)
        .method(method, HttpRequest.BodyPublishers.ofString(body));
    if (user != null) {
      request.header("Authorization", basic(user, user + "-password"));
    }
    return send(request.build());
  }

  private HttpResponse<String> send(HttpRequest request) throws Exception {
    return client.send(request, HttpResponse.BodyHandlers.ofString());
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
}
