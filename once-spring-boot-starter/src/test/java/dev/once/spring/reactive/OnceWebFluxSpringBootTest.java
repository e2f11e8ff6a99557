package dev.once.spring.reactive;

import static dev.once.spring.AppClient.assertProblem;
import static dev.once.suite.Http.newKey;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Once;
import dev.once.ProblemType;
import dev.once.spring.IdempotentApplicationTest;
import dev.once.spring.OwnStoreApplicationTest;
import java.lang.reflect.Method;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.reactor.netty.NettyWebServer;
import org.springframework.boot.web.server.reactive.context.ReactiveWebServerApplicationContext;
import org.springframework.context.ApplicationContext;
import org.springframework.test.util.ReflectionTestUtils;
import org.springframework.web.server.WebFilter;

/**
 * The starter in a real Spring WebFlux application on Reactor Netty, on a random port: annotated
 * controllers behind the URL-pattern {@code WebFilter} and {@link dev.once.spring.Idempotent},
 * Spring Security's reactive chain in front, the same {@code once.*} properties as a servlet
 * application. Keys are unique per test, so the tests share one application. What a servlet
 * application does alike is in {@link IdempotentApplicationTest}.
 */
@OwnStoreApplicationTest(classes = ReactiveTestApplication.class, properties = {
    "spring.main.web-application-type=reactive",
    "once.max-body=1KB",
    "once.ttl=2h"})
class OnceWebFluxSpringBootTest extends IdempotentApplicationTest {

  @Autowired
  ReactivePaymentsController controller;
  @Autowired
  ApplicationContext context;

  @Override
  protected Handlers handlers() {
    return new Handlers(controller.charges, controller.updates, "/free", controller.free);
  }

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
  void theOncePropertiesApply() throws Exception {
    HttpResponse<String> tooLarge = app.post("/payments", newKey(),
        "{\"note\":\"" + "x".repeat(2000) + "\"}");
    HttpResponse<String> malformed = app.post("/payments", "two words", "{\"amount\":1}");

    assertProblem(tooLarge, ProblemType.REQUEST_TOO_LARGE);
    assertProblem(malformed, ProblemType.KEY_INVALID);
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
          return app.post("/payments/slow", key, "{\"amount\":5}");
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

    HttpResponse<String> first = app.send(app.request("/payments/form", key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString("amount=42")));
    HttpResponse<String> changed = app.send(app.request("/payments/form", key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString("amount=43")));

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).endsWith(" of 42");
    assertProblem(changed, ProblemType.KEY_REUSED);
  }

  @Test
  void anAnnotatedMethodOutsideTheUrlPatternsIsIdempotentAndRequiresAKey() throws Exception {
    int before = controller.orders.get();

    HttpResponse<String> replay = app.replayedRetry("POST", "/orders", "{\"item\":\"book\"}");
    HttpResponse<String> noKey = app.post("/orders", null, "{\"item\":\"book\"}");

    assertThat(replay.statusCode()).isEqualTo(201);
    assertThat(replay.body()).isEqualTo("order " + (before + 1));
    assertProblem(noKey, ProblemType.KEY_MISSING);
    assertThat(controller.orders.get()).isEqualTo(before + 1);
  }

  @Test
  void theAnnotatedPutEndpointHasItsOwnTtlAndTakesPut() throws Exception {
    int before = controller.updates.get();

    HttpResponse<String> replay = app.replayedRetry("PUT", "/orders/7", "{\"item\":\"pen\"}");

    assertThat(replay.body()).isEqualTo("update " + (before + 1) + " of 7");
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

    HttpResponse<String> first = app.post("/payments/annotated", key, "{\"amount\":3}");
    HttpResponse<String> retry = app.post("/payments/annotated", key, "{\"amount\":3}");

    // a second filter on the same request would find the key in flight and answer 409
    assertThat(first.statusCode()).as(first.body()).isEqualTo(201);
    assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body()).isEqualTo("charge " + (before + 1));
    assertThat(controller.charges.get()).isEqualTo(before + 1);
  }

}
