package dev.once.testing;

import dev.once.StoredResponse;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.Token;
import java.time.Duration;

/**
 * A store in front of another that takes its time to keep a response, as one across a slow network
 * would: for tests that a client never sees a response's end before its record is kept.
 */
public final class SlowCompletingStore extends DelegatingStore {
  private final Duration delay;

  public SlowCompletingStore(IdempotencyStore delegate, Duration delay) {
    super(delegate);
    this.delay = delay;
  }

  @Override
  public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
    try {
      Thread.sleep(delay.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return super.complete(key, token, response, ttl);
  }
}
