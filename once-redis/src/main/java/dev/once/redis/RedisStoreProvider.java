package dev.once.redis;

import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreProvider;

/**
 * Opens {@link RedisStore}s for {@link IdempotencyStore#open(String)}: {@code redis://},
 * {@code rediss://}, {@code redis-cluster://} and {@code rediss-cluster://} URLs, as {@link
 * RedisStore#open(String)} describes. Found by {@link java.util.ServiceLoader}, so that the proxy's
 * {@code --store redis://...} and the C library's store URL work with this module on the class or
 * module path; applications call {@link RedisStore#open(String)} or {@link RedisStore#builder}.
 */
public final class RedisStoreProvider implements StoreProvider {
  /** For {@link java.util.ServiceLoader}. */
  public RedisStoreProvider() {}

  @Override
  public boolean accepts(String url) {
    return RedisUrl.accepts(url);
  }

  @Override
  public IdempotencyStore open(String url) {
    return RedisStore.open(url);
  }

  @Override
  public String schemes() {
    return RedisUrl.SCHEMES;
  }
}
