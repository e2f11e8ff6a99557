package dev.once;

import dev.once.spi.IdempotencyStore;
import dev.once.spi.IdempotencyStoreContract;
import dev.once.testing.FailingStore;
import dev.once.testing.FakeClock;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;

/**
 * The contract, through a store that keeps {@link IdempotencyStore#peek}'s default (claim, then
 * release), as a third-party store that does not override it would.
 */
class DefaultPeekContractTest extends IdempotencyStoreContract {
  private final FakeClock clock = new FakeClock();
  private final IdempotencyStore store = new FailingStore(MemoryStore.builder().clock(clock).build());

  @Override
  protected IdempotencyStore store() {
    return store;
  }

  @Override
  protected void advance(Duration duration) {
    clock.advance(duration);
  }

  @AfterEach
  void close() {
    store.close();
  }
}
