package dev.once.spring;

import dev.once.Completion;
import dev.once.OnceListener;
import dev.once.Outcome;
import dev.once.spi.StoreException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Turns the engine's listener calls into Micrometer meters:
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
 *       store_failed}): what became of each handler run under a key;
 *   <li>{@value #IN_FLIGHT} (gauge): handlers running under a key now;
 *   <li>{@value #RENEWALS} (counter): leases of running requests renewed in the store;
 *   <li>{@value #OWNERSHIP_LOST} (counter, tag {@code operation}: {@code renew}, {@code complete},
 *       {@code release}): a request found its key no longer its own (its lease had passed or
 *       another request had taken it over), so it may have run beside a duplicate; the engine logs
 *       each as a warning (logger {@code dev.once});
 *   <li>{@value #STORE_ERRORS} (counter, tag {@code operation}): store failures the engine met.
 * </ul>
 *
 * Every counter of a known tag value exists from the start, at zero, so dashboards and alerts see
 * a series before its first event. Thread-safe and allocation-free per call.
 */
final class OnceMeters implements OnceListener {
  static final String REQUESTS = "once.requests";
  static final String EXECUTIONS = "once.executions";
  static final String IN_FLIGHT = "once.in.flight";
  static final String STORE_ERRORS = "once.store.errors";
  static final String RENEWALS = "once.lease.renewals";
  static final String OWNERSHIP_LOST = "once.ownership.lost";

  private final MeterRegistry registry;
  private final Map<Outcome, Counter> outcomes = new EnumMap<>(Outcome.class);
  private final Map<Completion, Counter> completions = new EnumMap<>(Completion.class);
  private final Map<String, Counter> storeErrors = new ConcurrentHashMap<>();
  private final Map<String, Counter> ownershipLost = new ConcurrentHashMap<>();
  private final Counter renewals;
  private final AtomicLong inFlight = new AtomicLong();

  OnceMeters(MeterRegistry registry) {
    this.registry = registry;
    for (Outcome outcome : Outcome.values()) {
      if (outcome == Outcome.WAITING) {
        continue; // never reported: a wait is counted by the outcome it ends in
      }
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
    Gauge.builder(IN_FLIGHT, inFlight, AtomicLong::get)
        .description("Handlers running under an idempotency key")
        .register(registry);
  }

  @Override
  public void onOutcome(Outcome outcome, String key) {
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
    completions.get(completion).increment();
    inFlight.decrementAndGet();
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

  static String tagValue(Enum<?> value) {
    return value.name().toLowerCase(Locale.ROOT);
  }
}
