package dev.once.spi;

import org.jspecify.annotations.Nullable;

/**
 * A store that keeps the record in the request's own transaction could not commit it, and the
 * handler's work, done in that transaction, was undone with it (a deferred constraint failed, the
 * database went away before the commit). Nothing of the request happened: the engine finishes the
 * exchange as {@link dev.once.Completion#WORK_UNDONE}, and the adapter must not let the client
 * take the handler's answer for a success.
 */
public class WorkUndoneException extends StoreException {
  private static final long serialVersionUID = 1L;

  /**
   * @param message what failed
   * @param key the scoped key the operation was for, or null
   * @param cause the underlying failure, or null
   */
  public WorkUndoneException(String message, @Nullable String key, @Nullable Throwable cause) {
    super(message, key, cause);
  }
}
