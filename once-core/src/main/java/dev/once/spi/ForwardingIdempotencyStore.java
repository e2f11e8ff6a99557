package dev.once.spi;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * A store that forwards every operation to another, for decorators (metrics, ownership of a
 * pool, fault injection) that change one or two operations and must pass the rest on unchanged,
 * the optional ones ({@code peek}, {@code awaitChange}, {@code ping}, {@code inspect}, {@code
 * delete}) and every asynchronous form
 * included: a decorator that forgot one would silently fall back to the interface's slower,
 * blocking default.
 *
 * <p>Thread-safe if the delegate is.
 */
public abstract class ForwardingIdempotencyStore implements IdempotencyStore {
  /** @return the store operations are forwarded to */
  protected abstract IdempotencyStore delegate();

  @Override
  public Claim claim(String key, @Nullable Fingerprint fingerprint, Duration lease) {
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
  public boolean renew(String key, Token token, Duration lease) {
    return delegate().renew(key, token, lease);
  }

  @Override
  public CompletionStage<Claim> claimAsync(
      String key, @Nullable Fingerprint fingerprint, Duration lease) {
    return delegate().claimAsync(key, fingerprint, lease);
  }

  @Override
  public CompletionStage<Boolean> completeAsync(
      String key, Token token, StoredResponse response, Duration ttl) {
    return delegate().completeAsync(key, token, response, ttl);
  }

  @Override
  public CompletionStage<Boolean> releaseAsync(String key, Token token) {
    return delegate().releaseAsync(key, token);
  }

  @Override
  public CompletionStage<Boolean> renewAsync(String key, Token token, Duration lease) {
    return delegate().renewAsync(key, token, lease);
  }

  @Override
  public CompletionStage<Claim> peekAsync(String key) {
    return delegate().peekAsync(key);
  }

  @Override
  public CompletionStage<Void> awaitChangeAsync(String key, Duration timeout) {
    return delegate().awaitChangeAsync(key, timeout);
  }

  @Override
  public @Nullable Claim peek(String key) {
    return delegate().peek(key);
  }

  @Override
  public void awaitChange(String key, Duration timeout) throws InterruptedException {
    delegate().awaitChange(key, timeout);
  }

  @Override
  public Optional<RecordInfo> inspect(String key) {
    return delegate().inspect(key);
  }

  @Override
  public Deletion delete(String key, boolean force) {
    return delegate().delete(key, force);
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
