package dev.once.micrometer;

import dev.once.Completion;
import dev.once.OnceListener;
import dev.once.Outcome;
import dev.once.spi.StoreException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The engine's listener as Micrometer meters; give it to {@code Once.Builder.listener} (with
 * other listeners, through your own composite). The meters (README, <i>Meters</i>, has the table):
 *
 * <ul>
 *   <li>{@value #REQUESTS} (counter, tag {@code outcome}: {@code executed}, {@code replayed},
 *       {@code conflict}, {@code mismatch}, {@code not_replayable}, {@code outcome_unknown},
 *       {@code rejected}, {@code store_error}, {@code failed_open}, {@code passed_through}): each
 *       request the engine decided (a duplicate that waited counts once, by what its wait ended
 *       in);
 *   <li>{@value #EXECUTIONS} (counter, tag {@code completion}: {@code stored}, {@code
 *       stored_not_replayable}, {@code released_not_cacheable}, {@code released_on_failure},
 *       {@code held_outcome_unknown}, {@code kept_outcome_unknown}, {@code lost}, {@code
 *       store_failed}, {@code work_undone}): what became of each handler run under a key;
 *   <li>{@value #IN_FLIGHT} (gauge): handlers running under a key now;
 *   <li>{@value #WAITING} (gauge): duplicates waiting now for the request in flight ({@code
 *       maxWait});
 *   <li>{@value #WAIT} (timer): how long each such wait lasted;
 *   <li>{@value #RENEWALS} (counter): leases of running requests renewed in the store;
 *   <li>{@value #OWNERSHIP_LOST} (counter, tag {@code operation}: {@code renew}, {@code complete},
 *       {@code release}): a request found its key no longer its own (its lease had passed or
 *       another request had taken it over), so it may have run beside a duplicate;
 *   <li>{@value #STORE_ERRORS} (counter, tag {@code operation}): store failures the engine met.
 * </ul>
 *
 * Every counter of a known tag value exists from the start, at zero, so dashboards and alerts see
 * a series before its first event. The store's own meters are {@link MeteredStore}'s. Thread-safe;
 * each call allocates nothing but a wait's end.
 */
public final class OnceMeters implements OnceListener {
  /** Requests decided, by outcome. */
  public static final String REQUESTS = "once.requests";
  /** Handlers run under a key, by completion. */
  public static final String EXECUTIONS = "once.executions";
  /** Handlers running under a key now. */
  public static final String IN_FLIGHT = "once.in.flight";
  /** Duplicates waiting now for the request in flight. */
  public static final String WAITING = "once.waiting";
  /** How long duplicates waited for the request in flight. */
  public static final String WAIT = "once.wait";
  /** Store failures the engine met, by operation. */
  public static final String STORE_ERRORS = "once.store.errors";
  /** Leases renewed. */
  public static final String RENEWALS = "once.lease.renewals";
  /** Requests that lost their key, by the refused operation. */
  public static final String OWNERSHIP_LOST = "once.ownership.lost";

  private final MeterRegistry registry;
  private final Map<Outcome, Counter> outcomes = new EnumMap<>(Outcome.class);
  private final Map<Completion, Counter> completions = new EnumMap<>(Completion.class);
  private final Map<String, Counter> storeErrors = new ConcurrentHashMap<>();
  private final Map<String, Counter> ownershipLost = new ConcurrentHashMap<>();
  private final Counter renewals;
  private final Timer wait;
  private final AtomicLong inFlight = new AtomicLong();
  private final AtomicLong waiting = new AtomicLong();

  private OnceMeters(MeterRegistry registry) {
    this.registry = registry;
    for (Outcome outcome : Outcome.values()) {
      outcomes.put(outcome, Counter.builder(REQUESTS)
          .description("Requests the idempotency engine decided, by outcome")
          .tag("outcome", tagValue(outcome))
          .register(registry));
    }
    for (Completion completion : Completion.values()) {
      completions.put(completion, Counter.builder(EXECUTIONS)
          .description("Handlers run under an idempotency key, by what became of the record")
          .tag("completion", tagValue(completion))
          .register(registry));
    }
    for (String operation : new String[] {"claim", "renew", "complete", "release", "await"}) {
      storeError(operation);
    }
    for (String operation : new String[] {"renew", "complete", "release"}) {
      ownershipLost(operation);
    }
    renewals = Counter.builder(RENEWALS)
        .description("Leases of requests running under an idempotency key renewed in the store")
        .register(registry);
    wait = Timer.builder(WAIT)
        .description("How long duplicates waited for the request in flight with their key")
        .register(registry);
    Gauge.builder(IN_FLIGHT, inFlight, AtomicLong::get)
        .description("Handlers running under an idempotency key")
        .strongReference(true)
        .register(registry);
    Gauge.builder(WAITING, waiting, AtomicLong::get)
        .description("Duplicates waiting for the request in flight with their key")
        .strongReference(true)
        .register(registry);
  }

  /**
   * Registers the meters on {@code registry}, each at zero.
   *
   * @param registry where the meters go
   * @return the listener that moves them, for {@code Once.Builder.listener}
   * @throws NullPointerException if {@code registry} is null
   */
  public static OnceMeters bind(MeterRegistry registry) {
    return new OnceMeters(Objects.requireNonNull(registry, "registry"));
  }

  @Override
  public void onOutcome(Outcome outcome, @Nullable String key) {
    Counter counter = outcomes.get(outcome);
    if (counter != null) {
      counter.increment();
    }
    if (outcome == Outcome.EXECUTED) {
      inFlight.incrementAndGet();
    }
  }

  @Override
  public void onFinished(String key, Completion completion, int status) {
    Objects.requireNonNull(completions.get(completion), "a counter for every completion")
        .increment();
    inFlight.decrementAndGet();
  }

  @Override
  public void onWaitStarted(String key) {
    waiting.incrementAndGet();
  }

  @Override
  public void onWaitEnded(String key, Outcome outcome, Duration waited) {
    waiting.decrementAndGet();
    wait.record(waited);
  }

  @Override
  public void onStoreError(String operation, String key, StoreException error) {
    storeError(operation).increment();
  }

  @Override
  public void onRenewed(String key) {
    renewals.increment();
  }

  @Override
  public void onOwnershipLost(String key, String operation) {
    ownershipLost(operation).increment();
  }

  private Counter ownershipLost(String operation) {
    return ownershipLost.computeIfAbsent(operation, name -> Counter.builder(OWNERSHIP_LOST)
        .description("Requests that found their idempotency key no longer their own (its lease"
            + " had passed or another request had taken it over), by the refused operation")
        .tag("operation", name)
        .register(registry));
  }

  private Counter storeError(String operation) {
    return storeErrors.computeIfAbsent(operation, name -> Counter.builder(STORE_ERRORS)
        .description("Idempotency store operations that failed")
        .tag("operation", name)
        .register(registry));
  }

  /** @return an enum's name as a tag value: {@code PASSED_THROUGH} is {@code passed_through} */
  static String tagValue(Enum<?> value) {
    return value.name().toLowerCase(Locale.ROOT);
  }
}
