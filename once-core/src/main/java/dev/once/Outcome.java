package dev.once;

/**
 * How the engine answered a request; reported to {@link OnceListener#onOutcome}. A duplicate that
 * waits ({@link Decision.Wait}) is reported once, with the outcome its wait ends in.
 */
public enum Outcome {
  /** Not an idempotent request (another method, or no key where none is required): handler ran. */
  PASSED_THROUGH,
  /** The first request with its key: the handler runs and its response will be kept. */
  EXECUTED,
  /** A retry of a finished request: the stored response was sent, the handler did not run. */
  REPLAYED,
  /** A request with this key was still running: 409. */
  CONFLICT,
  /** The key was first used for a different request: 422. */
  MISMATCH,
  /** The first request finished but its response was too large to keep: 409. */
  NOT_REPLAYABLE,
  /** The first request's outcome is unknown and the engine keeps it so: 502. */
  OUTCOME_UNKNOWN,
  /** A missing or invalid key, or a body over the limit: 400 or 413. */
  REJECTED,
  /** The store failed and the engine fails closed: 503. */
  STORE_ERROR,
  /** The store failed and the engine fails open: the handler ran without idempotency. */
  FAILED_OPEN
}
