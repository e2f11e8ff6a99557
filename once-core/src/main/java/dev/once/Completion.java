package dev.once;

/**
 * What became of a record when its exchange finished; reported to {@link OnceListener#onFinished}.
 */
public enum Completion {
  /** The response was kept; retries replay it. */
  STORED,
  /** The response was too large to keep; retries are told so and do not run the handler. */
  STORED_NOT_REPLAYABLE,
  /** The status is not cacheable: the key was released and a retry runs the handler again. */
  RELEASED_NOT_CACHEABLE,
  /** The handler failed before answering (or was abandoned): released, a retry runs again. */
  RELEASED_ON_FAILURE,
  /**
   * The outcome is unknown and the engine lets a later retry run: the key is held, no longer
   * renewed, until its lease passes, so no retry overlaps the first request.
   */
  HELD_OUTCOME_UNKNOWN,
  /** The outcome is unknown and the engine keeps it so: every retry gets 502 for the ttl. */
  KEPT_OUTCOME_UNKNOWN,
  /**
   * The exchange no longer owned the record (its lease passed, it was taken over): nothing kept.
   */
  LOST,
  /** The store failed while keeping or releasing: the record frees itself when its lease passes. */
  STORE_FAILED,
  /**
   * A store that commits the record with the handler's work failed to commit: the work was undone
   * with the record ({@link dev.once.spi.WorkUndoneException}), and a retry runs again. The
   * adapter does not let the handler's answer reach the client whole: 503 if nothing was sent
   * yet, else the response is broken off.
   */
  WORK_UNDONE
}
