package dev.once;

/**
 * The problems the engine answers with, each an RFC 9457 problem type with a stable URI. The URIs
 * identify the problem; clients should compare them, not the titles or details.
 */
public enum ProblemType {
  /** The key header is required and the request has none. */
  KEY_MISSING(400, "idempotency-key-missing", "Idempotency-Key header is missing"),
  /** The key header is empty, too long, not visible ASCII, malformed, or sent more than once. */
  KEY_INVALID(400, "idempotency-key-invalid", "Idempotency-Key header is not a valid key"),
  /** The body could not be read to fingerprint it (the client stopped sending, or it was cut). */
  BODY_UNREADABLE(400, "request-body-unreadable", "Request body could not be read"),
  /**
   * The body did not arrive within {@code bodyTimeout} (a client sending it slowly, or not at
   * all): nothing was claimed or run, and the same request may be sent again.
   */
  BODY_TIMEOUT(408, "request-body-timeout", "Request body was not received in time"),
  /** The body is over the limit up to which it is fingerprinted. */
  REQUEST_TOO_LARGE(413, "request-too-large", "Request body is too large"),
  /** A request with this key is still running; retry later. */
  REQUEST_IN_PROGRESS(409, "request-in-progress", "A request with this key is in progress"),
  /** The key was first used for a request with another method, path, query or body. */
  KEY_REUSED(422, "idempotency-key-reused", "Idempotency-Key was used for a different request"),
  /** The first request was done, but its response was too large to keep for replay. */
  RESPONSE_NOT_REPLAYABLE(
      409, "response-not-replayable", "The response to this key was not kept for replay"),
  /**
   * The first request's outcome is unknown (the upstream had it, then its connection broke or it
   * never answered), and the engine keeps such outcomes: it will not run again under this key.
   */
  OUTCOME_UNKNOWN(502, "outcome-unknown", "The outcome of the request with this key is unknown"),
  /**
   * The store holds as many records as it may and will not forget a live one to make room: the
   * request was not run. Retry after {@code Retry-After}.
   */
  STORE_FULL(503, "store-full", "Idempotency store is full"),
  /** The idempotency store cannot be reached, so the request is not run (fail closed). */
  STORE_UNAVAILABLE(503, "store-unavailable", "Idempotency store is unavailable");

  /** Every type URI is this prefix followed by the type's slug. */
  public static final String URI_PREFIX = "https://once.dev/problems/";

  private final int status;
  private final String uri;
  private final String title;

  ProblemType(int status, String slug, String title) {
    this.status = status;
    this.uri = URI_PREFIX + slug;
    this.title = title;
  }

  /** @return the HTTP status this problem is answered with */
  public int status() {
    return status;
  }

  /** @return the stable type URI */
  public String uri() {
    return uri;
  }

  /** @return the short human-readable summary */
  public String title() {
    return title;
  }
}
