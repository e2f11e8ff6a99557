package dev.once;

import dev.once.spi.StoreException;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Hooks for metrics and logs. Core has no logging dependency: adapters turn these calls into log
 * lines and meters. Methods are called on request threads, store client threads and the engine's
 * lease scheduler, so they must be thread-safe and fast; an exception they throw is ignored.
 */
public interface OnceListener {
  /** A listener that does nothing. */
  OnceListener NOOP = new OnceListener() {};

  /**
   * One listener that calls each of these in turn, every method forwarded; one listener's
   * exception does not keep the others from hearing.
   *
   * @param listeners the listeners, in the order they are to hear
   * @return the only one if there is one, {@link #NOOP} if there is none
   * @throws NullPointerException if the list or one of its listeners is null
   */
  static OnceListener of(List<OnceListener> listeners) {
    return CompositeListener.of(listeners);
  }

  /**
   * A request was decided.
   *
   * @param outcome how it was answered
   * @param key its scoped key, or null when it had none
   */
  default void onOutcome(Outcome outcome, @Nullable String key) {}

  /**
   * A keyed request was decided: {@link #onOutcome(Outcome, String)} with the request's own
   * identity, which the engine calls for every request that carries a key (and the other form for
   * one without). The default forwards to that form.
   *
   * @param attempt the request
   * @param outcome how it was answered
   */
  default void onOutcome(Attempt attempt, Outcome outcome) {
    onOutcome(outcome, attempt.key());
  }

  /**
   * The engine is about to call the store for a keyed request, on this thread: the store call that
   * follows on this thread (its blocking form, or the start of its asynchronous one) is {@code
   * attempt}'s, so a store wrapper can tell whose it is (as {@code OnceObservations} does to nest a
   * call under its request). Called before the claim, each look at a record a duplicate waits on
   * ({@code await}, {@code peek}), and an owner's {@code renew}, {@code complete} and {@code
   * release}.
   *
   * @param attempt the request
   * @param operation {@code claim}, {@code await}, {@code peek}, {@code renew}, {@code complete} or
   *     {@code release}
   */
  default void onStoreCall(Attempt attempt, String operation) {}

  /**
   * A handler that ran under a key finished: {@link #onFinished(String, Completion, int)} with the
   * request's own identity, which the engine calls. The default forwards to that form.
   *
   * @param attempt the request, as {@link #onOutcome(Attempt, Outcome)} heard of it
   * @param completion what became of the record
   * @param status the HTTP status the handler produced, or 0 if it failed without one
   */
  default void onFinished(Attempt attempt, Completion completion, int status) {
    onFinished(attempt.key(), completion, status);
  }

  /**
   * A handler that ran under a key ({@link Outcome#EXECUTED}) finished, and its record was kept or
   * released. Together with {@code onOutcome(EXECUTED, ...)} this gives the number in flight.
   *
   * @param key the scoped key
   * @param completion what became of the record
   * @param status the HTTP status the handler produced, or 0 if it failed without one
   */
  default void onFinished(String key, Completion completion, int status) {}

  /**
   * A store operation failed.
   *
   * @param operation {@code claim}, {@code renew}, {@code complete}, {@code release}, {@code peek}
   *     or {@code await}
   * @param key the scoped key
   * @param error the failure
   */
  default void onStoreError(String operation, String key, StoreException error) {}

  /**
   * The lease of an open exchange was renewed in the store.
   *
   * @param key the scoped key
   */
  default void onRenewed(String key) {}

  /**
   * An exchange found it no longer owned its record: a renewal or a completion was refused by the
   * store because the lease had passed or another request had taken the key over. The request may
   * then have run beside another with the same key; the engine also logs this as a warning.
   *
   * @param key the scoped key
   * @param operation {@code renew}, {@code complete} or {@code release}
   */
  default void onOwnershipLost(String key, String operation) {}

  /**
   * A duplicate of a request in flight started waiting for it ({@code maxWait}): it holds no
   * thread until {@link #onWaitEnded} (sync and async paths alike). Together the two give the
   * number waiting now.
   *
   * @param key the scoped key
   */
  default void onWaitStarted(String key) {}

  /**
   * A wait that {@link #onWaitStarted} reported ended, after its outcome was reported to {@link
   * #onOutcome}: the first request finished (a replay, or another final answer), the wait ran
   * out (a conflict), or the store failed.
   *
   * @param key the scoped key
   * @param outcome what the wait ended in
   * @param waited how long it waited, by the engine's clock
   */
  default void onWaitEnded(String key, Outcome outcome, Duration waited) {}
}
