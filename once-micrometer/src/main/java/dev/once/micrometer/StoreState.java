package dev.once.micrometer;

import dev.once.spi.IdempotencyStore;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Whether the store answers, as one place that both a health check and the gauge {@value #UP}
 * read, so the two never disagree: each reading pings the store ({@link IdempotencyStore#ping()})
 * and the gauge is 1 when it answered, 0 when it failed. Thread-safe if the store is.
 */
public final class StoreState {
  /** 1 when the store answers a ping, else 0; tag {@code store}: the store's type. */
  public static final String UP = "once.store.up";

  private final IdempotencyStore store;

  private StoreState(IdempotencyStore store) {
    this.store = store;
  }

  /**
   * Registers the gauge {@value #UP} over {@code store}.
   *
   * @param store the store
   * @param type the store's type as it may be shown (no host or credential): {@code memory},
   *     {@code redis}
   * @param registry where the gauge goes
   * @return the state, for the health check to read
   * @throws NullPointerException if an argument is null
   */
  public static StoreState bind(IdempotencyStore store, String type, MeterRegistry registry) {
    StoreState state = new StoreState(Objects.requireNonNull(store, "store"));
    Gauge.builder(UP, state, s -> s.check() == null ? 1 : 0)
        .description("1 when the idempotency store answers a ping, else 0")
        .tag("store", Objects.requireNonNull(type, "type"))
        .strongReference(true)
        .register(Objects.requireNonNull(registry, "registry"));
    return state;
  }

  /**
   * Pings the store now.
   *
   * @return null when it answered, else the failure
   */
  public @Nullable RuntimeException check() {
    try {
      store.ping();
      return null;
    } catch (RuntimeException e) {
      return e;
    }
  }
}
