package dev.once;

import dev.once.spi.IdempotencyStore;
import dev.once.spi.IdempotencyStoreContract;
import dev.once.testing.FakeClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;

/** The contract, on the memory store with a fake clock. */
class MemoryStoreContractTest extends IdempotencyStoreContract {
  private final FakeClock clock = new FakeClock();
  final MemoryStore store = MemoryStore.builder().clock(clock).build();

  @Override
  protected IdempotencyStore store() {
    return store;
  }

  @Override
  protected void advance(Duration duration) {
    clock.advance(duration);
  }

  @Override
  protected Instant now() {
    return clock.instant();
  }

  @AfterEach
  void close() {
    store.close();
  }
}
