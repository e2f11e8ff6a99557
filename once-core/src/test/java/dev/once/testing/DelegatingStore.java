package dev.once.testing;

import dev.once.spi.ForwardingIdempotencyStore;
import dev.once.spi.IdempotencyStore;
import java.util.Objects;

/**
 * A store in front of another, for a test that changes or watches some of its operations: a
 * subclass overrides those, and {@link ForwardingIdempotencyStore} sends every other one to the
 * store behind.
 */
public abstract class DelegatingStore extends ForwardingIdempotencyStore {
  private final IdempotencyStore delegate;

  /** @param delegate the store behind this one */
  protected DelegatingStore(IdempotencyStore delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  @Override
  protected IdempotencyStore delegate() {
    return delegate;
  }
}
