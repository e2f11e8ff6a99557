package dev.once;

/** What became of a record after its handler ran; reported to {@link OnceListener#onFinished}. */
public enum Completion {
  /** The response was kept; retries replay it. */
  STORED,
  /** The response was too large to keep; retries are told so and do not run the handler. */
  STORED_NOT_REPLAYABLE,
  /** The status is not cacheable: the key was released and a retry runs the handler again. */
  RELEASED_NOT_CACHEABLE,
  /** The handler failed (or was abandoned): the key was released and a retry runs again. */
  RELEASED_ON_FAILURE,
  /** The lease had passed and another request took the record over: nothing was kept. */
  LOST,
  /** The store failed while keeping or releasing: the record frees itself when its lease passes. */
  STORE_FAILED
}
