package dev.once.redis;

import dev.once.spi.IdempotencyStore;
import dev.once.spi.IdempotencyStoreContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;

/**
 * The core store contract against a real standalone Redis (or {@code ONCE_TEST_REDIS_URL}), by a
 * plain store and by one with the near cache on, which changes {@code claim} and {@code peek}: a
 * completed record may be answered from this process's memory.
 */
class RedisStoreContractTest extends IdempotencyStoreContract {
  private static TestRedis redis;
  private static RedisStore store;
  private static RedisStore nearCached;

  @BeforeAll
  static void start() {
    String url = TestRedis.EXTERNAL_URL;
    if (url == null) {
      redis = TestRedis.start();
      url = redis.url();
    }
    store = RedisStore.open(url + "?keyPrefix=contract:&commandTimeout=10s");
    nearCached = RedisStore.open(url + "?keyPrefix=near-contract:&commandTimeout=10s"
        + "&nearCacheBytes=1MiB&nearCacheMaxAge=1m");
  }

  @AfterAll
  static void stop() {
    store.close();
    nearCached.close();
    if (redis != null) {
      redis.close();
    }
  }

  @Override
  protected IdempotencyStore store() {
    return store;
  }

  @Nested
  class WithTheNearCache extends IdempotencyStoreContract {
    @Override
    protected IdempotencyStore store() {
      return nearCached;
    }
  }
}
