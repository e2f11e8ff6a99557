package dev.once;

/**
 * An {@code Idempotency-Key} header value that is not a valid key: empty, too long, not visible
 * ASCII, or a malformed quoted string. It is the client's error (HTTP 400), so no stack trace is
 * captured.
 */
final class InvalidKeyException extends OnceException {
  private static final long serialVersionUID = 1L;

  /** The header value as received, possibly shortened. */
  private final String value;

  /**
   * @param value the header value as received (may be shortened for the message)
   * @param reason why it is not a valid key
   */
  InvalidKeyException(String value, String reason) {
    super(reason, null, false);
    this.value = value;
  }

  /** @return the header value as received */
  String value() {
    return value;
  }
}
