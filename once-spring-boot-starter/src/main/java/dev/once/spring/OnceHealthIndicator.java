package dev.once.spring;

import dev.once.spi.IdempotencyStore;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * Health of the idempotency store: up when {@link IdempotencyStore#ping()} answers, down with the
 * error when it throws. A store that is down means keyed requests get 503 (or run without
 * idempotency with {@code once.fail-open}). Thread-safe if the store is.
 */
final class OnceHealthIndicator extends AbstractHealthIndicator {
  private final IdempotencyStore store;

  OnceHealthIndicator(IdempotencyStore store) {
    super("Idempotency store health check failed");
    this.store = store;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) {
    store.ping();
    builder.up().withDetail("store", store.getClass().getSimpleName());
  }
}
