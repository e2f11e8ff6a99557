package dev.once.spi;

import dev.once.OnceException;
import org.jspecify.annotations.Nullable;

/**
 * An {@link IdempotencyStore} could not do what was asked: the server is unreachable, a command
 * timed out, the store is closed. Stores throw it (or a subclass) for every failure, never an
 * exception of their client library, so the engine can answer 503 or fail open.
 */
public class StoreException extends OnceException {
  private static final long serialVersionUID = 1L;

  /** The scoped key the failed operation was for, or null. */
  private final @Nullable String key;

  /**
   * @param message what failed
   * @param key the scoped key the operation was for, or null
   * @param cause the underlying failure, or null
   */
  public StoreException(String message, @Nullable String key, @Nullable Throwable cause) {
    super(key == null ? message : message + " (key " + key + ")", cause);
    this.key = key;
  }

  /** @return the scoped key the failed operation was for, or null */
  public @Nullable String key() {
    return key;
  }
}
