package dev.once.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Decision;
import dev.once.Once;
import dev.once.testing.TestRequest;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The examples of README.md and docs/REDIS.md, line for line but for the server's address. */
class ReadmeExamplesTest {
  private static TestRedis redis;

  @BeforeAll
  static void start() {
    redis = TestRedis.start();
  }

  @AfterAll
  static void stop() {
    redis.close();
  }

  @Test
  void openingAStoreByUrl() throws Exception {
    String url = redis.url() + "/0";

    RedisStore store = RedisStore.open(url);
    Once once = Once.builder(store).maxWait(Duration.ofSeconds(5)).build();

    try (store) {
      assertThat(once.decide(TestRequest.post("readme-1").body("{}")))
          .isInstanceOf(Decision.Execute.class);
    }
  }

  @Test
  void buildingAStoreOnTheApplicationsClient() throws Exception {
    RedisClient redisClient = RedisClient.create(redis.url());

    RedisStore store = RedisStore.builder(redisClient)   // a RedisClient or a RedisClusterClient
        .keyPrefix("payments:")
        .commandTimeout(Duration.ofMillis(500))
        .nearCache(16 << 20, Duration.ofMinutes(1))      // optional: hot replays cost no round trip
        .build();

    try (store) {
      assertThat(store.claim("readme-2", null, Duration.ofMinutes(1)).token()).isNotNull();
      assertThat(redis.admin().exists("payments:readme-2")).isEqualTo(1L);
    } finally {
      redisClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
