package dev.once.spi;

/**
 * A store refused to take a new key because it holds as many records as it may: it never makes
 * room by forgetting a live record (that would let a retry run a second time). The engine answers
 * 503 {@code store-full} with {@code Retry-After}, and never runs the request without idempotency,
 * even when it fails open: the store works, it is full.
 */
public class StoreFullException extends StoreException {
  private static final long serialVersionUID = 1L;

  /** The seconds after which a retry may find room. */
  private final int retryAfterSeconds;

  /**
   * @param message what is full, and its bound
   * @param key the scoped key that was refused
   * @param retryAfterSeconds when a retry may find room, at least 1
   */
  public StoreFullException(String message, String key, int retryAfterSeconds) {
    super(message, key, null);
    this.retryAfterSeconds = Math.max(1, retryAfterSeconds);
  }

  /** @return the seconds after which a retry may find room, at least 1 */
  public int retryAfterSeconds() {
    return retryAfterSeconds;
  }
}
