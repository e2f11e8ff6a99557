package dev.once.nativelib;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import dev.once.spi.StoreProvider;
import dev.once.spi.StoreUrl;
import dev.once.spi.Token;
import java.time.Duration;
import java.util.Set;

/**
 * Opens {@code failing:} stores, whose every operation fails as an unreachable server's would, so
 * the C tests can see {@code ONCE_ERR_STORE}; and, by being found through {@code ONCE_STORE} on
 * the class path libonce.so was given, shows that store modules are found the same way.
 * Self-contained (no dependency but once-core), so a test can put it in a jar of its own.
 */
public final class FailingStoreProvider implements StoreProvider {
  @Override
  public Set<String> schemes() {
    return Set.of("failing");
  }

  @Override
  public IdempotencyStore open(StoreUrl url) {
    return new IdempotencyStore() {
      @Override
      public Claim claim(String key, Fingerprint fingerprint, Duration lease) {
        throw down(key);
      }

      @Override
      public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
        throw down(key);
      }

      @Override
      public boolean release(String key, Token token) {
        throw down(key);
      }

      @Override
      public boolean renew(String key, Token token, Duration lease) {
        throw down(key);
      }
    };
  }

  private static StoreException down(String key) {
    return new StoreException("the failing store is down, as it always is", key, null);
  }
}
