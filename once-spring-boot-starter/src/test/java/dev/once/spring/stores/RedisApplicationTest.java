package dev.once.spring.stores;

import dev.once.redis.RedisStore;
import dev.once.spring.TestServers;
import java.util.UUID;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

/**
 * The application on Spring Data Redis: {@code spring.data.redis.url} and nothing else, so the
 * starter detects the Lettuce connection and keeps the records in Redis.
 */
@TestPropertySource(properties = {
    "spring.autoconfigure.exclude="
        + "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
    "once.redis.command-timeout=10s"})
class RedisApplicationTest extends RealStoreApplicationTest {
  private static final String PREFIX = "app-" + UUID.randomUUID() + ":";

  RedisApplicationTest() {
    super(RedisStore.class, () -> TestServers.redisKeys(PREFIX),
        () -> RedisStore.open(TestServers.withParameters(TestServers.redisUrl(),
            "keyPrefix=" + PREFIX + "&commandTimeout=10s")));
  }

  @DynamicPropertySource
  static void redis(DynamicPropertyRegistry registry) {
    registry.add("spring.data.redis.url", TestServers::redisUrl);
    registry.add("once.redis.key-prefix", () -> PREFIX);
  }
}
