package dev.once.micrometer;

import dev.once.Attempt;
import dev.once.Completion;
import dev.once.Fingerprint;
import dev.once.OnceListener;
import dev.once.Outcome;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.ForwardingIdempotencyStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.Token;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Traces through Micrometer's Observation API: an observation {@value #REQUEST} per keyed request
 * and a child {@value #STORE} per store operation it makes. With a tracing bridge (Brave or
 * OpenTelemetry) each is a span; the request's parent is the observation current when its claim
 * is made (the HTTP server's, in Spring).
 *
 * <ul>
 *   <li>{@value #REQUEST}: from the claim to the answer (for a handler run under the key, to the
 *       end of its record); low-cardinality key values {@code outcome} (as {@link OnceMeters}'s
 *       tag), {@code replayed} ({@code true} or {@code false}) and, for a handler run, {@code
 *       completion}; high-cardinality {@code once.key.hash}, the first 16 hex digits of the
 *       SHA-256 of the scoped key. Neither the key nor the scope is ever recorded in clear.
 *   <li>{@value #STORE}: one store call; low-cardinality {@code operation} ({@code claim}, {@code
 *       renew}, {@code complete}, {@code release}, {@code peek}, {@code await}) and {@code store}
 *       (the store's class); a failure is the observation's error.
 * </ul>
 *
 * Both halves are needed: {@link #wrap} for the store (it starts a request's observation at its
 * claim) and {@link #listener()} for the engine (it ends it). Each request is told apart by the
 * {@link Attempt} the engine's events carry, never by its key, so duplicates of one key in flight
 * together each have their own observation, ended with their own outcome. The engine announces
 * each store call it makes for a request ({@link OnceListener#onStoreCall}) on the thread that
 * makes it, right before; the wrapped store takes that announcement (kept per thread by this
 * object, and consumed by the call) as the call's request. A store call nobody announced (one the
 * application makes itself) is observed without a parent. Thread-safe.
 */
public final class OnceObservations {
  /** The observation of a keyed request. */
  public static final String REQUEST = "once.request";
  /** The observation of one store operation. */
  public static final String STORE = "once.store";

  private static final int HASH_HEX_DIGITS = 16;

  private final ObservationRegistry registry;
  /** The observation of each request from its claim to its end (its record's, when it ran). */
  private final ConcurrentMap<Attempt, Observation> requests = new ConcurrentHashMap<>();
  /** The request whose store call the engine announced on this thread and has not yet made. */
  private final ThreadLocal<Attempt> announced = new ThreadLocal<>();
  private final OnceListener listener = new Listener();

  private OnceObservations(ObservationRegistry registry) {
    this.registry = registry;
  }

  /**
   * @param registry where observations are reported; {@link ObservationRegistry#NOOP} costs
   *     nothing
   * @return the observations, whose {@link #wrap} and {@link #listener()} are both to be used
   * @throws NullPointerException if {@code registry} is null
   */
  public static OnceObservations create(ObservationRegistry registry) {
    return new OnceObservations(Objects.requireNonNull(registry, "registry"));
  }

  /** @return the listener for {@code Once.Builder.listener}, which ends requests' observations */
  public OnceListener listener() {
    return listener;
  }

  /**
   * @param store the store the engine is to use
   * @return a store that observes each operation and forwards it to {@code store}
   * @throws NullPointerException if {@code store} is null
   */
  public IdempotencyStore wrap(IdempotencyStore store) {
    return new ObservedStore(Objects.requireNonNull(store, "store"));
  }

  private Observation startRequest(String key) {
    return Observation.createNotStarted(REQUEST, registry)
        .highCardinalityKeyValue("once.key.hash", hash(key))
        .start();
  }

  /**
   * @return the request whose store call of {@code key} is being made on this thread, as the engine
   *     announced it, taken (an announcement is for one call); or null
   */
  private @Nullable Attempt takeAnnounced(String key) {
    Attempt attempt = announced.get();
    if (attempt == null) {
      return null;
    }
    announced.remove();
    return attempt.key().equals(key) ? attempt : null;
  }

  /** @return the observation of the request making this store call of {@code key}, or null */
  private @Nullable Observation requestOf(String key) {
    Attempt attempt = takeAnnounced(key);
    return attempt == null ? null : requests.get(attempt);
  }

  static String hash(String key) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest(key.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest).substring(0, HASH_HEX_DIGITS);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  private final class Listener implements OnceListener {
    @Override
    public void onStoreCall(Attempt attempt, String operation) {
      announced.set(attempt);
    }

    @Override
    public void onOutcome(Attempt attempt, Outcome outcome) {
      Observation request = requests.get(attempt);
      if (request == null) {
        // decided without a claim this class saw (the store was not wrapped)
        request = startRequest(attempt.key());
        if (outcome == Outcome.EXECUTED) {
          requests.put(attempt, request);
        }
      }
      request.lowCardinalityKeyValue("outcome", OnceMeters.tagValue(outcome))
          .lowCardinalityKeyValue("replayed", Boolean.toString(outcome == Outcome.REPLAYED));
      if (outcome != Outcome.EXECUTED) {
        requests.remove(attempt);
        request.stop();
      }
    }

    @Override
    public void onFinished(Attempt attempt, Completion completion, int status) {
      Observation request = requests.remove(attempt);
      if (request != null) {
        request.lowCardinalityKeyValue("completion", OnceMeters.tagValue(completion)).stop();
      }
    }
  }

  /** Each store call as an observation, a child of its request's. */
  final class ObservedStore extends ForwardingIdempotencyStore {
    private final IdempotencyStore delegate;
    private final String type;

    ObservedStore(IdempotencyStore delegate) {
      this.delegate = delegate;
      this.type = delegate instanceof MeteredStore metered
          ? metered.storeName()
          : delegate.getClass().getSimpleName();
    }

    /** @return the name of the store this one forwards to */
    String storeName() {
      return type;
    }

    @Override
    protected IdempotencyStore delegate() {
      return delegate;
    }

    @Override
    public Claim claim(String key, @Nullable Fingerprint fingerprint, Duration lease) {
      Observation request = claiming(key);
      return observed("claim", request, () -> delegate.claim(key, fingerprint, lease));
    }

    @Override
    public CompletionStage<Claim> claimAsync(
        String key, @Nullable Fingerprint fingerprint, Duration lease) {
      Observation request = claiming(key);
      return observedAsync("claim", request, () -> delegate.claimAsync(key, fingerprint, lease));
    }

    /**
     * @return the observation of the request the engine announced this claim for, started now;
     *     null for a claim nobody announced
     */
    private @Nullable Observation claiming(String key) {
      Attempt attempt = takeAnnounced(key);
      return attempt == null ? null : requests.computeIfAbsent(attempt, a -> startRequest(key));
    }

    @Override
    public boolean renew(String key, Token token, Duration lease) {
      return observed("renew", requestOf(key), () -> delegate.renew(key, token, lease));
    }

    @Override
    public CompletionStage<Boolean> renewAsync(String key, Token token, Duration lease) {
      return observedAsync("renew", requestOf(key), () -> delegate.renewAsync(key, token, lease));
    }

    @Override
    public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
      return observed("complete", requestOf(key),
          () -> delegate.complete(key, token, response, ttl));
    }

    @Override
    public CompletionStage<Boolean> completeAsync(
        String key, Token token, StoredResponse response, Duration ttl) {
      return observedAsync("complete", requestOf(key),
          () -> delegate.completeAsync(key, token, response, ttl));
    }

    @Override
    public boolean release(String key, Token token) {
      return observed("release", requestOf(key), () -> delegate.release(key, token));
    }

    @Override
    public CompletionStage<Boolean> releaseAsync(String key, Token token) {
      return observedAsync("release", requestOf(key), () -> delegate.releaseAsync(key, token));
    }

    @Override
    public @Nullable Claim peek(String key) {
      Observation store = start("peek", requestOf(key));
      try {
        return delegate.peek(key);
      } catch (RuntimeException | Error e) {
        store.error(e);
        throw e;
      } finally {
        store.stop();
      }
    }

    @Override
    public CompletionStage<Claim> peekAsync(String key) {
      return observedAsync("peek", requestOf(key), () -> delegate.peekAsync(key));
    }

    @Override
    public void awaitChange(String key, Duration timeout) throws InterruptedException {
      Observation store = start("await", requestOf(key));
      try {
        delegate.awaitChange(key, timeout);
      } catch (RuntimeException | Error | InterruptedException e) {
        store.error(e);
        throw e;
      } finally {
        store.stop();
      }
    }

    @Override
    public CompletionStage<Void> awaitChangeAsync(String key, Duration timeout) {
      return observedAsync("await", requestOf(key),
          () -> delegate.awaitChangeAsync(key, timeout));
    }

    private Observation start(String operation, @Nullable Observation parent) {
      Observation store = Observation.createNotStarted(STORE, registry)
          .lowCardinalityKeyValue("operation", operation)
          .lowCardinalityKeyValue("store", type);
      if (parent == null) {
        return store.start();
      }
      store.parentObservation(parent);
      // started in the parent's scope too: a tracer that takes the parent span from the thread
      // (as Brave's does under Spring Boot) then makes the span its child as well
      try (Observation.Scope scope = parent.openScope()) {
        return store.start();
      }
    }

    private <T> T observed(String operation, @Nullable Observation parent, Supplier<T> call) {
      Observation store = start(operation, parent);
      try {
        return call.get();
      } catch (RuntimeException | Error e) {
        store.error(e);
        throw e;
      } finally {
        store.stop();
      }
    }

    private <T> CompletionStage<T> observedAsync(
        String operation, @Nullable Observation parent, Supplier<CompletionStage<T>> call) {
      Observation store = start(operation, parent);
      CompletionStage<T> stage;
      try {
        stage = call.get();
      } catch (RuntimeException | Error e) {
        store.error(e);
        store.stop();
        throw e;
      }
      return stage.whenComplete((result, error) -> {
        if (error != null) {
          store.error(error);
        }
        store.stop();
      });
    }

    @Override
    public String toString() {
      return "ObservedStore{" + delegate + "}";
    }
  }
}
