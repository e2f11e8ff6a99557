package dev.once.spring.stores;

import dev.once.redis.RedisStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spring.TestServers;
import java.util.UUID;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The application on Spring Data Redis: {@code spring.data.redis.url} and nothing else, so the
 * starter detects the Lettuce connection and keeps the records in Redis.
 */
@SpringBootTest(
    classes = StoreApplication.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
        "spring.autoconfigure.exclude="
            + "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
        "management.endpoints.web.exposure.include=health",
        "management.endpoint.health.show-details=always",
        "once.redis.command-timeout=10s",
        "spring.main.banner-mode=off"})
class RedisApplicationTest extends RealStoreApplicationTest {
  private static final String PREFIX = "app-" + UUID.randomUUID() + ":";

  @DynamicPropertySource
  static void redis(DynamicPropertyRegistry registry) {
    registry.add("spring.data.redis.url", TestServers::redisUrl);
    registry.add("once.redis.key-prefix", () -> PREFIX);
  }

  @Override
  Class<? extends IdempotencyStore> storeClass() {
    return RedisStore.class;
  }

  @Override
  long records() {
    return TestServers.redisKeys(PREFIX);
  }

  @Override
  IdempotencyStore anotherInstancesStore() {
    return RedisStore.open(TestServers.withParameters(TestServers.redisUrl(),
        "keyPrefix=" + PREFIX + "&commandTimeout=10s"));
  }
}
