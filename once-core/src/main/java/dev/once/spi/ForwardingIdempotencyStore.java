package dev.once.spi;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import java.time.Duration;

/**
 * A store that forwards every operation to another, for decorators (metrics, ownership of a
 * pool, fault injection) that change one or two operations and must pass the rest on unchanged,
 * the optional ones ({@code peek}, {@code awaitChange}, {@code ping}) included: a decorator that
 * forgot one would silently fall back to the interface's slower default.
 *
 * <p>Thread-safe if the delegate is.
 */
public abstract class ForwardingIdempotencyStore implements IdempotencyStore {
  /** @return the store operations are forwarded to */
  protected abstract IdempotencyStore delegate();

  @Override
  public Claim claim(String key, Fingerprint fingerprint, Duration lease) {
    return delegate().claim(key, fingerprint, lease);
  }

  @Override
  public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
    return delegate().complete(key, token, response, ttl);
  }

  @Override
  public boolean release(String key, Token token) {
    return delegate().release(key, token);
  }

  @Override
  public Claim peek(String key) {
    return delegate().peek(key);
  }

  @Override
  public void awaitChange(String key, Duration timeout) throws InterruptedException {
    delegate().awaitChange(key, timeout);
  }

  @Override
  public void ping() {
    delegate().ping();
  }

  @Override
  public void close() {
    delegate().close();
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "[" + delegate() + "]";
  }
}
