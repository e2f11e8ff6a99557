package dev.once.redis.internal;

import dev.once.redis.RedisStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreProvider;
import dev.once.spi.StoreUrl;
import java.util.Set;

/**
 * Opens {@link RedisStore}s for {@link dev.once.Stores#open}: {@code redis://}, {@code rediss://},
 * {@code redis-cluster://}, {@code rediss-cluster://}, {@code redis-sentinel://} and {@code
 * rediss-sentinel://} URLs, as {@link RedisStore#open(String)}
 * describes. Found by {@link java.util.ServiceLoader}, so that the proxy's {@code --store
 * redis://...} and the C library's store URL work with this module on the class or module path.
 *
 * <p>Public only because {@link java.util.ServiceLoader} needs it; not part of the API.
 */
public final class RedisStoreProvider implements StoreProvider {
  @Override
  public Set<String> schemes() {
    return Set.of("redis", "rediss", "redis-cluster", "rediss-cluster", "redis-sentinel",
        "rediss-sentinel");
  }

  @Override
  public IdempotencyStore open(StoreUrl url) {
    return RedisStore.open(url.text());
  }
}
