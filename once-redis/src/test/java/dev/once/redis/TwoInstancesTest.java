package dev.once.redis;

import static dev.once.suite.Http.isReplay;
import static dev.once.suite.Http.postKeyed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Once;
import dev.once.ProblemType;
import dev.once.servlet.OnceFilter;
import dev.once.suite.JettyServer;
import dev.once.suite.RunningServer;
import dev.once.testing.Concurrently;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two instances of a service (two Jetty servers, each with its own {@code OnceFilter} and its own
 * {@link RedisStore}) sharing one Redis, as a service deployed twice behind a load balancer.
 */
class TwoInstancesTest {
  private static TestRedis redis;
  private static String url;

  private final AtomicInteger runs = new AtomicInteger();
  private RedisStore storeA;
  private RedisStore storeB;
  private RunningServer serverA;
  private RunningServer serverB;

  @BeforeAll
  static void startRedis() {
    redis = TestRedis.start();
    url = redis.url() + "?keyPrefix=two:&commandTimeout=10s";
  }

  @AfterAll
  static void stopRedis() {
    redis.close();
  }

  /** Starts both instances, each {@code Once} configured by {@code options}. */
  private void startInstances(UnaryOperator<Once.Builder> options) throws Exception {
    storeA = RedisStore.open(url);
    storeB = RedisStore.open(url);
    serverA = start(options.apply(Once.builder(storeA)).build());
    serverB = start(options.apply(Once.builder(storeB)).build());
  }

  /** One instance: a Jetty server with {@code OnceFilter} in front of {@link #pay}. */
  private RunningServer start(Once once) throws Exception {
    return JettyServer.start(new OnceFilter(once), Map.of("/*", this::pay));
  }

  private static HttpResponse<String> post(RunningServer server, String key, String body)
      throws Exception {
    return postKeyed(server.uri("/payments"), key, body);
  }

  private void pay(HttpServletRequest request, HttpServletResponse response) throws Exception {
    int run = runs.incrementAndGet();
    String body = new String(request.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    // long enough for every duplicate to arrive while the first still runs
    Thread.sleep(300);
    response.setStatus(201);
    response.setContentType("application/json");
    response.getOutputStream().write(("{\"charge\":" + run + ",\"request\":" + body + "}")
        .getBytes(StandardCharsets.UTF_8));
  }

  @AfterEach
  void stopInstances() throws Exception {
    for (AutoCloseable closeable : new AutoCloseable[] {serverA, serverB, storeA, storeB}) {
      if (closeable != null) {
        closeable.close();
      }
    }
  }

  @Test
  void twoHundredConcurrentDuplicatesSpreadOverTwoInstancesRunTheHandlerOnce() throws Exception {
    startInstances(UnaryOperator.identity());
    String key = UUID.randomUUID().toString();

    List<HttpResponse<String>> responses = Concurrently.run(200,
        i -> post(i % 2 == 0 ? serverA : serverB, key, "{\"amount\":100}"));

    assertThat(runs).hasValue(1);
    assertThat(responses).filteredOn(r -> r.statusCode() == 201 && !isReplay(r))
        .hasSize(1);
    assertThat(responses).allSatisfy(r -> {
      if (r.statusCode() == 201) {
        assertThat(r.body()).isEqualTo("{\"charge\":1,\"request\":{\"amount\":100}}");
      } else {
        assertThat(r.statusCode()).isEqualTo(409);
        assertThat(r.body()).contains(ProblemType.REQUEST_IN_PROGRESS.uri());
      }
    });
    assertThat(post(serverA, key, "{\"amount\":100}").body())
        .isEqualTo(post(serverB, key, "{\"amount\":100}").body());
    assertThat(post(serverB, key, "{\"amount\":999}").statusCode()).isEqualTo(422);
    assertThat(runs).hasValue(1);
  }

  @Test
  void withMaxWaitEveryDuplicateOnEitherInstanceGetsTheOneResponse() throws Exception {
    startInstances(once -> once.maxWait(Duration.ofSeconds(30)));
    String key = UUID.randomUUID().toString();

    List<HttpResponse<String>> responses = Concurrently.run(200,
        i -> post(i % 2 == 0 ? serverA : serverB, key, "{\"amount\":100}"));

    assertThat(runs).hasValue(1);
    assertThat(responses).allSatisfy(r -> {
      assertThat(r.statusCode()).isEqualTo(201);
      assertThat(r.body()).isEqualTo("{\"charge\":1,\"request\":{\"amount\":100}}");
    });
    assertThat(responses).filteredOn(r -> !isReplay(r)).hasSize(1);
  }

  @Test
  void aFirstRequestCostsTwoRedisCommandsAndAReplayOne() throws Exception {
    startInstances(UnaryOperator.identity());
    post(serverA, "warm-up-" + UUID.randomUUID(), "{}");
    String key = UUID.randomUUID().toString();

    CommandStats beforeFirst = CommandStats.of(redis.admin());
    HttpResponse<String> first = post(serverA, key, "{\"amount\":100}");
    Map<String, Long> firstCommands = beforeFirst.until(CommandStats.of(redis.admin()));
    CommandStats beforeReplay = CommandStats.of(redis.admin());
    HttpResponse<String> replay = post(serverB, key, "{\"amount\":100}");
    Map<String, Long> replayCommands = beforeReplay.until(CommandStats.of(redis.admin()));

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(isReplay(replay)).isTrue();
    // claim and complete: one EVALSHA each; GET and SET are what the two scripts run inside Redis
    assertThat(firstCommands).isEqualTo(Map.of("evalsha", 2L, "get", 2L, "set", 2L));
    // the claim that finds the completed record: one EVALSHA, running GET and PTTL
    assertThat(replayCommands).isEqualTo(Map.of("evalsha", 1L, "get", 1L, "pttl", 1L));
  }
}
