package dev.once.proxy;

import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import dev.once.spi.StoreProvider;

/**
 * A store module, registered for the tests only, whose server can never be reached: what a store
 * provider does when its server is down ({@link StoreException} from {@code open}), so the proxy's
 * answer to it can be tested without any store module in this build.
 */
public final class UnreachableStoreProvider implements StoreProvider {
  @Override
  public boolean accepts(String url) {
    return url.startsWith("unreachable://");
  }

  @Override
  public IdempotencyStore open(String url) {
    if (url.contains("@")) {
      throw new IllegalArgumentException("user info is not accepted in " + url);
    }
    throw new StoreException("connection refused: " + url, null, null);
  }

  @Override
  public String schemes() {
    return "unreachable://";
  }
}
