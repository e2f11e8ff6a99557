package dev.once.spring;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.ForwardingIdempotencyStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.Token;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Times the store's three operations into the timer {@value #OPERATIONS} (tags {@code operation}:
 * {@code claim}, {@code complete}, {@code release}; {@code outcome}: {@code success} or {@code
 * error}; {@code store}: the store's class), and forwards the rest. {@code awaitChange} is not
 * timed: it waits for another request, which is no measure of the store. Thread-safe if the store
 * is.
 */
final class MeteredStore extends ForwardingIdempotencyStore {
  static final String OPERATIONS = "once.store.operations";

  private final IdempotencyStore delegate;
  private final Timer[] timers;

  MeteredStore(IdempotencyStore delegate, MeterRegistry registry) {
    this.delegate = delegate;
    String store = delegate.getClass().getSimpleName();
    String[] operations = {"claim", "complete", "release"};
    timers = new Timer[operations.length * 2];
    for (int i = 0; i < operations.length; i++) {
      timers[2 * i] = timer(registry, store, operations[i], "success");
      timers[2 * i + 1] = timer(registry, store, operations[i], "error");
    }
  }

  private static Timer timer(MeterRegistry registry, String store, String operation,
      String outcome) {
    return Timer.builder(OPERATIONS)
        .description("Latency of idempotency store operations")
        .tag("operation", operation)
        .tag("outcome", outcome)
        .tag("store", store)
        .register(registry);
  }

  @Override
  protected IdempotencyStore delegate() {
    return delegate;
  }

  @Override
  public Claim claim(String key, Fingerprint fingerprint, Duration lease) {
    return timed(0, () -> delegate.claim(key, fingerprint, lease));
  }

  @Override
  public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
    return timed(1, () -> delegate.complete(key, token, response, ttl));
  }

  @Override
  public boolean release(String key, Token token) {
    return timed(2, () -> delegate.release(key, token));
  }

  private <T> T timed(int operation, Supplier<T> call) {
    long start = System.nanoTime();
    boolean success = false;
    try {
      T result = call.get();
      success = true;
      return result;
    } finally {
      timers[2 * operation + (success ? 0 : 1)]
          .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    }
  }

  @Override
  public String toString() {
    return "MeteredStore{" + delegate + "}";
  }
}
