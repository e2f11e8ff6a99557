package dev.once.micrometer;

import dev.once.Fingerprint;
import dev.once.MemoryStore;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.ForwardingIdempotencyStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.Token;
import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Times the store's operations into the timer {@value #OPERATIONS} (tags {@code operation}:
 * {@code claim}, {@code renew}, {@code complete}, {@code release}, {@code peek}; {@code outcome}:
 * {@code success} or {@code error}; {@code store}: the store's class), published with a
 * percentile histogram (buckets from 100 microseconds to 10 seconds) so a backend can compute
 * quantiles across instances, and forwards the rest. Over a {@link MemoryStore} it also registers
 * the store's statistics: {@value #RECORDS} and {@value #BYTES} (gauges) and {@value #EVICTIONS}
 * (a counter).
 *
 * <p>Each operation's asynchronous form ({@code claimAsync}, ...) is timed into the same timer as
 * its blocking form, from the call to the completion of its stage, and is forwarded as the
 * asynchronous form: extending {@link ForwardingIdempotencyStore} keeps a store's non-blocking
 * operations non-blocking behind the meters, and a test calls every operation of the SPI through
 * this class. Not timed: {@code awaitChange} and {@code awaitChangeAsync}, which wait for another
 * request and are no measure of the store, and {@code ping}, the health check's.
 *
 * <p>Thread-safe if the store is.
 */
public final class MeteredStore extends ForwardingIdempotencyStore {
  /** The store operations' latency, by operation, outcome and store. */
  public static final String OPERATIONS = "once.store.operations";
  /** A memory store's records: in progress, completed, and kept without response. */
  public static final String RECORDS = "once.store.records";
  /** A memory store's bytes of responses kept. */
  public static final String BYTES = "once.store.bytes";
  /** A memory store's responses dropped to stay within its bound. */
  public static final String EVICTIONS = "once.store.evictions";

  private static final Duration HISTOGRAM_MIN = Duration.ofNanos(100_000);
  private static final Duration HISTOGRAM_MAX = Duration.ofSeconds(10);

  /** The timed operations, in the order of {@link #timers}. */
  static final String[] TIMED = {"claim", "renew", "complete", "release", "peek"};

  private static final int CLAIM = 0;
  private static final int RENEW = 1;
  private static final int COMPLETE = 2;
  private static final int RELEASE = 3;
  private static final int PEEK = 4;

  private final IdempotencyStore delegate;
  /** Two per operation: success at {@code 2 * i}, error at {@code 2 * i + 1}. */
  private final Timer[] timers;
  /** Micrometer's own time source, which its timers are read against. */
  private final Clock clock;

  /**
   * Wraps a store so its operations are timed (and, for a {@link MemoryStore}, its statistics
   * registered). The timers exist from the start, at zero.
   *
   * @param store the store the engine is to use
   * @param registry where the meters go
   * @return a store that forwards every operation to {@code store}; give it to {@code
   *     Once.builder}
   * @throws NullPointerException if an argument is null
   */
  public static MeteredStore wrap(IdempotencyStore store, MeterRegistry registry) {
    Objects.requireNonNull(store, "store");
    Objects.requireNonNull(registry, "registry");
    if (store instanceof MemoryStore memory) {
      Gauge.builder(RECORDS, memory, MemoryStore::size)
          .description("Records in the memory store: in progress, completed and kept without"
              + " their response")
          .tag("store", "MemoryStore")
          .register(registry);
      Gauge.builder(BYTES, memory, MemoryStore::weightBytes)
          .description("Estimated bytes of the responses the memory store keeps")
          .baseUnit("bytes")
          .tag("store", "MemoryStore")
          .register(registry);
      FunctionCounter.builder(EVICTIONS, memory, MemoryStore::evictionCount)
          .description("Responses the memory store dropped to stay within its bound (their"
              + " records kept without them)")
          .tag("store", "MemoryStore")
          .register(registry);
    }
    return new MeteredStore(store, registry);
  }

  private MeteredStore(IdempotencyStore delegate, MeterRegistry registry) {
    this.clock = registry.config().clock();
    this.delegate = delegate;
    String store = storeName(delegate);
    timers = new Timer[TIMED.length * 2];
    for (int i = 0; i < TIMED.length; i++) {
      timers[2 * i] = timer(registry, store, TIMED[i], "success");
      timers[2 * i + 1] = timer(registry, store, TIMED[i], "error");
    }
  }

  private static Timer timer(MeterRegistry registry, String store, String operation,
      String outcome) {
    return Timer.builder(OPERATIONS)
        .description("Latency of idempotency store operations")
        .tag("operation", operation)
        .tag("outcome", outcome)
        .tag("store", store)
        .publishPercentileHistogram()
        .minimumExpectedValue(HISTOGRAM_MIN)
        .maximumExpectedValue(HISTOGRAM_MAX)
        .register(registry);
  }

  /**
   * @return the store's class name, seen through this module's other decorator, so the meters
   *     and the traces name the same store whichever wraps the other
   */
  static String storeName(IdempotencyStore store) {
    return store instanceof OnceObservations.ObservedStore observed
        ? observed.storeName()
        : store.getClass().getSimpleName();
  }

  /** @return the name of the store this one forwards to */
  String storeName() {
    return storeName(delegate);
  }

  @Override
  protected IdempotencyStore delegate() {
    return delegate;
  }

  @Override
  public Claim claim(String key, @Nullable Fingerprint fingerprint, Duration lease) {
    return timed(CLAIM, () -> delegate.claim(key, fingerprint, lease));
  }

  @Override
  public boolean renew(String key, Token token, Duration lease) {
    return timed(RENEW, () -> delegate.renew(key, token, lease));
  }

  @Override
  public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
    return timed(COMPLETE, () -> delegate.complete(key, token, response, ttl));
  }

  @Override
  public boolean release(String key, Token token) {
    return timed(RELEASE, () -> delegate.release(key, token));
  }

  @Override
  public @Nullable Claim peek(String key) {
    return timed(PEEK, () -> delegate.peek(key));
  }

  @Override
  public CompletionStage<Claim> claimAsync(
      String key, @Nullable Fingerprint fingerprint, Duration lease) {
    return timedAsync(CLAIM, () -> delegate.claimAsync(key, fingerprint, lease));
  }

  @Override
  public CompletionStage<Boolean> renewAsync(String key, Token token, Duration lease) {
    return timedAsync(RENEW, () -> delegate.renewAsync(key, token, lease));
  }

  @Override
  public CompletionStage<Boolean> completeAsync(
      String key, Token token, StoredResponse response, Duration ttl) {
    return timedAsync(COMPLETE, () -> delegate.completeAsync(key, token, response, ttl));
  }

  @Override
  public CompletionStage<Boolean> releaseAsync(String key, Token token) {
    return timedAsync(RELEASE, () -> delegate.releaseAsync(key, token));
  }

  @Override
  public CompletionStage<Claim> peekAsync(String key) {
    return timedAsync(PEEK, () -> delegate.peekAsync(key));
  }

  private <T> T timed(int operation, Supplier<T> call) {
    long start = clock.monotonicTime();
    boolean success = false;
    try {
      T result = call.get();
      success = true;
      return result;
    } finally {
      record(operation, success, start);
    }
  }

  /**
   * Times an asynchronous operation until its stage completes. The stage returned completes after
   * the time is recorded, so whatever the caller chains onto it sees the timer counted.
   */
  private <T> CompletionStage<T> timedAsync(int operation, Supplier<CompletionStage<T>> call) {
    long start = clock.monotonicTime();
    CompletionStage<T> stage;
    try {
      stage = call.get();
    } catch (RuntimeException | Error e) {
      record(operation, false, start);
      throw e;
    }
    return stage.whenComplete((result, error) -> record(operation, error == null, start));
  }

  private void record(int operation, boolean success, long start) {
    timers[2 * operation + (success ? 0 : 1)]
        .record(clock.monotonicTime() - start, TimeUnit.NANOSECONDS);
  }

  @Override
  public String toString() {
    return "MeteredStore{" + delegate + "}";
  }
}
