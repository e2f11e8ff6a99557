package dev.once.redis;

import dev.once.spi.IdempotencyStore;
import dev.once.spi.IdempotencyStoreContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The core store contract against a real standalone Redis (or {@code ONCE_TEST_REDIS_URL}). */
class RedisStoreContractTest extends IdempotencyStoreContract {
  private static TestRedis redis;
  private static RedisStore store;

  @BeforeAll
  static void start() {
    String url = TestRedis.EXTERNAL_URL;
    if (url == null) {
      redis = TestRedis.start();
      url = redis.url();
    }
    store = RedisStore.open(url + "?keyPrefix=contract:&commandTimeout=10s");
  }

  @AfterAll
  static void stop() {
    store.close();
    if (redis != null) {
      redis.close();
    }
  }

  @Override
  protected IdempotencyStore store() {
    return store;
  }
}
