package dev.once;

/**
 * A request body longer than the configured {@code maxBodyBytes}: the body cannot be fingerprinted,
 * so the request is refused (HTTP 413) before the handler runs. Thrown by {@link OnceRequest#body}
 * implementations; no stack trace is captured.
 */
public final class RequestTooLargeException extends OnceException {
  private static final long serialVersionUID = 1L;

  /** The limit in bytes that the body went past. */
  private final long limit;

  /** @param limit the limit in bytes that the body went past */
  public RequestTooLargeException(long limit) {
    super("request body is larger than " + limit + " bytes", null, false);
    this.limit = limit;
  }

  /** @return the limit in bytes that the body went past */
  public long limit() {
    return limit;
  }
}
