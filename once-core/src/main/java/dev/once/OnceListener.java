package dev.once;

import dev.once.spi.StoreException;

/**
 * Hooks for metrics and logs. Core has no logging dependency: adapters turn these calls into log
 * lines and meters. Methods are called on request threads, store client threads and the engine's
 * lease scheduler, so they must be thread-safe and fast; an exception they throw is ignored.
 */
public interface OnceListener {
  /** A listener that does nothing. */
  OnceListener NOOP = new OnceListener() {};

  /**
   * A request was decided.
   *
   * @param outcome how it was answered
   * @param key its scoped key, or null when it had none
   */
  default void onOutcome(Outcome outcome, String key) {}

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
}
