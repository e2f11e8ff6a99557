package dev.once;

import org.jspecify.annotations.Nullable;

/**
 * The root of every exception this library throws. Catching it catches them all; its subclasses
 * carry the idempotency key and the state that caused them.
 */
public class OnceException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * @param message what went wrong, naming the key when there is one
   */
  public OnceException(String message) {
    super(message);
  }

  /**
   * @param message what went wrong, naming the key when there is one
   * @param cause the underlying failure
   */
  public OnceException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }

  /**
   * For exceptions used as answers rather than failures: no stack trace is captured.
   *
   * @param message what happened
   * @param cause the underlying failure, or null
   * @param writableStackTrace false to skip the cost of filling in the stack trace
   */
  protected OnceException(
      String message, @Nullable Throwable cause, boolean writableStackTrace) {
    super(message, cause, false, writableStackTrace);
  }
}
