package dev.once.spring.stores;

import static dev.once.suite.Http.assertReplayOf;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.redis.RedisStore;
import dev.once.redis.TestSentinels;
import dev.once.spi.IdempotencyStore;
import dev.once.spring.AppClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

/**
 * The application on Spring Data Redis's own Sentinel settings ({@code
 * spring.data.redis.sentinel.master} and {@code .nodes}) and nothing else of Redis, with durable
 * writes ({@code once.redis.replicas=1}), on a real Sentinel group ({@link TestSentinels}: a
 * primary, a replica, three sentinels): the starter's store reaches the primary through the
 * sentinels, and when the primary is killed it follows the failover by itself, with no record
 * lost and nothing run twice.
 */
@SpringBootTest(classes = StoreApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {
    "spring.autoconfigure.exclude="
        + "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
    "spring.main.banner-mode=off", "once.redis.command-timeout=5s",
    "once.redis.replicas=1", "once.redis.replica-timeout=2s"})
@DirtiesContext
class SentinelApplicationTest {
  private static final Duration FAILOVER = Duration.ofSeconds(60);
  private static TestSentinels sentinels;

  @LocalServerPort
  int port;
  @Autowired
  StoreApplication.ChargesController charges;
  @Autowired
  IdempotencyStore store;

  private final AppClient app = new AppClient(() -> port);

  @DynamicPropertySource
  static void sentinels(DynamicPropertyRegistry registry) {
    sentinels = TestSentinels.start();
    registry.add("spring.data.redis.sentinel.master", () -> TestSentinels.MASTER);
    registry.add("spring.data.redis.sentinel.nodes", sentinels::sentinelNodes);
  }

  @AfterAll
  static void stopSentinels() {
    sentinels.close();
  }

  @Test
  void aRecordCompletedBeforeThePrimaryIsKilledIsReplayedAfterTheFailoverAndNothingRunsTwice()
      throws Exception {
    HttpResponse<String> first = app.post("/charges", "before-the-kill", "{\"amount\":1}");
    long recordsOnThePrimary = sentinels.primary().dbsize();

    sentinels.killPrimary();
    Duration failover = sentinels.awaitFailover(FAILOVER);
    // with replicas=1 a write counts only once a replica has it: the killed node comes back as the
    // new primary's replica, as an operator would bring it back
    sentinels.restartKilledAsReplica();
    // in the gap the store answers 503; the client sends again, as a client would
    HttpResponse<String> retry = postWhile503("before-the-kill", "{\"amount\":1}");
    HttpResponse<String> after = postWhile503("after-the-kill", "{\"amount\":2}");

    assertThat(store).isInstanceOf(RedisStore.class);
    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(recordsOnThePrimary).isEqualTo(1);
    assertReplayOf(retry, first);
    assertThat(after.statusCode()).isEqualTo(201);
    assertThat(AppClient.json(after.body())).containsEntry("charge", 2);
    assertThat(charges.charges).hasValue(2);
    System.out.println("SentinelApplicationTest: failover in " + failover.toMillis() + " ms");
  }

  /** Posts JSON with {@code key} again every 10 ms while the store is away (503), for 30 s. */
  private HttpResponse<String> postWhile503(String key, String body) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    HttpResponse<String> response = app.post("/charges", key, body);
    while (response.statusCode() == 503 && System.nanoTime() < deadline) {
      Thread.sleep(10);
      response = app.post("/charges", key, body);
    }
    return response;
  }
}
