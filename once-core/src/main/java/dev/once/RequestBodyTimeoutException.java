package dev.once;

import java.time.Duration;

/**
 * A request body that did not arrive within the configured {@code bodyTimeout}: the request is
 * refused (HTTP 408) before anything is claimed, so a client that sends its body slowly, or stops
 * sending it, holds no key. Thrown by {@link OnceRequest#body} implementations; no stack trace is
 * captured.
 */
public final class RequestBodyTimeoutException extends OnceException {
  private static final long serialVersionUID = 1L;

  /** The time the body had to arrive in. */
  private final Duration timeout;

  /** @param timeout the time the body had to arrive in */
  public RequestBodyTimeoutException(Duration timeout) {
    super("the request body did not arrive within " + timeout, null, false);
    this.timeout = timeout;
  }

  /** @return the time the body had to arrive in */
  public Duration timeout() {
    return timeout;
  }
}
