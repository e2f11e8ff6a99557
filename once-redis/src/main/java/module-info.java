/** RedisStore: idempotency records in Redis or Redis Cluster, on Lettuce. */
module dev.once.redis {
  requires transitive dev.once.core;
  requires transitive lettuce.core;
  requires io.netty.common;
  requires com.github.benmanes.caffeine;

  exports dev.once.redis;

  provides dev.once.spi.StoreProvider with dev.once.redis.internal.RedisStoreProvider;
}
