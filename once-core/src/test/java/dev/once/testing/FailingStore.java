package dev.once.testing;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.ForwardingIdempotencyStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import java.time.Duration;

/**
 * A store in front of another that can be switched to fail every operation, as an unreachable
 * server would. Not a mock of any server: the engine's reaction to {@link StoreException} is what
 * is tested with it.
 */
public final class FailingStore extends ForwardingIdempotencyStore {
  private final IdempotencyStore delegate;
  private volatile boolean failing;

  public FailingStore(IdempotencyStore delegate) {
    this.delegate = delegate;
  }

  public void failing(boolean failing) {
    this.failing = failing;
  }

  @Override
  protected IdempotencyStore delegate() {
    if (failing) {
      throw new StoreException("store is down", null, null);
    }
    return delegate;
  }

  @Override
  public Claim claim(String key, Fingerprint fingerprint, Duration lease) {
    check(key);
    return super.claim(key, fingerprint, lease);
  }

  @Override
  public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
    check(key);
    return super.complete(key, token, response, ttl);
  }

  @Override
  public boolean release(String key, Token token) {
    check(key);
    return super.release(key, token);
  }

  @Override
  public void close() {
    delegate.close();
  }

  private void check(String key) {
    if (failing) {
      throw new StoreException("store is down", key, null);
    }
  }
}
