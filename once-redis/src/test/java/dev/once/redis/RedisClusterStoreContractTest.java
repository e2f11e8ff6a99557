package dev.once.redis;

import dev.once.spi.IdempotencyStore;
import dev.once.spi.IdempotencyStoreContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The core store contract against a real three-master Redis Cluster (or {@code
 * ONCE_TEST_REDIS_CLUSTER_URL}, a {@code redis-cluster://} URL), opened by URL as the proxy does.
 */
class RedisClusterStoreContractTest extends IdempotencyStoreContract {
  private static TestRedisCluster cluster;
  private static RedisStore store;

  @BeforeAll
  static void start() {
    String url = System.getenv("ONCE_TEST_REDIS_CLUSTER_URL");
    if (url == null) {
      cluster = TestRedisCluster.start();
      url = cluster.url();
    }
    store = (RedisStore) IdempotencyStore.open(url);
  }

  @AfterAll
  static void stop() {
    store.close();
    if (cluster != null) {
      cluster.close();
    }
  }

  @Override
  protected IdempotencyStore store() {
    return store;
  }
}
