package dev.once.proxy;

import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import dev.once.spi.StoreProvider;
import dev.once.spi.StoreUrl;
import java.util.Set;

/**
 * A store module, registered for the tests only, whose server can never be reached: what a store
 * provider does when its server is down ({@link StoreException} from {@code open}), so the proxy's
 * answer to it can be tested without any store module in this build.
 */
public final class UnreachableStoreProvider implements StoreProvider {
  @Override
  public Set<String> schemes() {
    return Set.of("unreachable");
  }

  @Override
  public IdempotencyStore open(StoreUrl url) {
    if (url.text().contains("@")) {
      throw url.malformed("user info is not accepted");
    }
    throw new StoreException("connection refused: " + url.text(), null, null);
  }
}
