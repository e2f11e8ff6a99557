package dev.once;

import dev.once.spi.IdempotencyStore;
import dev.once.testing.FailingStore;

/**
 * The contract, through a store that keeps {@link IdempotencyStore#peek}'s default (claim, then
 * release), as a third-party store that does not override it would: the memory store of {@link
 * MemoryStoreContractTest} behind a {@link FailingStore}, which overrides nothing else.
 */
class DefaultPeekContractTest extends MemoryStoreContractTest {
  private final IdempotencyStore withDefaultPeek = new FailingStore(store);

  @Override
  protected IdempotencyStore store() {
    return withDefaultPeek;
  }
}
