package dev.once.testing;

import dev.once.spi.IdempotencyStore;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A store in front of another that counts the waits for a change of a record ({@code
 * awaitChangeAsync}, where the engine parks a duplicate), so a test knows when its duplicates all
 * wait.
 */
public final class WaitCountingStore extends DelegatingStore {
  private final AtomicInteger waits = new AtomicInteger();

  public WaitCountingStore(IdempotencyStore delegate) {
    super(delegate);
  }

  /** @return how many waits have begun */
  public int waits() {
    return waits.get();
  }

  /**
   * Waits until {@code count} waits have begun, for at most a minute.
   *
   * @return whether they have (false if the minute passed or the thread was interrupted)
   */
  public boolean awaitWaits(int count) {
    try {
      for (int i = 0; i < 6000 && waits.get() < count; i++) {
        TimeUnit.MILLISECONDS.sleep(10);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
    return waits.get() >= count;
  }

  @Override
  public CompletionStage<Void> awaitChangeAsync(String key, Duration timeout) {
    waits.incrementAndGet();
    return super.awaitChangeAsync(key, timeout);
  }
}
