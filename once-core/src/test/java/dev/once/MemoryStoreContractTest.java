package dev.once;

import dev.once.spi.IdempotencyStore;
import dev.once.spi.IdempotencyStoreContract;
import dev.once.testing.FakeClock;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;

class MemoryStoreContractTest extends IdempotencyStoreContract {
  private final FakeClock clock = new FakeClock();
  private final MemoryStore store = MemoryStore.builder().clock(clock).build();

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
