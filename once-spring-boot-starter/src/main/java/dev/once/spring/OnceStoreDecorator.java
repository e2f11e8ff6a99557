package dev.once.spring;

import dev.once.spi.IdempotencyStore;

/**
 * Wraps the store the engine uses (the meters time its operations this way), leaving the store
 * bean itself as the application defined it.
 */
@FunctionalInterface
interface OnceStoreDecorator {

  /**
   * @param store the store, perhaps already decorated
   * @return a store that delegates to it
   */
  IdempotencyStore decorate(IdempotencyStore store);
}
