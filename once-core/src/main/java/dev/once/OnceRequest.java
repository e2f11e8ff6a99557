package dev.once;

import java.io.IOException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The engine's view of an HTTP request, implemented by each adapter (Servlet filter, proxy, JAX-RS)
 * over its framework's request type. Used by one thread at a time.
 */
public interface OnceRequest {

  /** @return the HTTP method, upper case as received */
  String method();

  /** @return the request path as received, not decoded */
  String path();

  /** @return the query string as received, or null when there is none */
  @Nullable String query();

  /**
   * The values of every header with this name, in the order received.
   *
   * @param name a header name, compared without regard to case
   * @return the values; empty when there is no such header
   */
  List<String> headers(String name);

  /** @return the name of the authenticated principal, or null when the request has none */
  @Nullable String principal();

  /**
   * Reads the whole body, at most {@code maxBytes} of it. The adapter keeps the bytes so the
   * handler can still read the body afterwards; a second call returns the same bytes.
   *
   * @param maxBytes the most bytes to read
   * @return the body; empty when there is none
   * @throws RequestTooLargeException if the body is longer than {@code maxBytes}
   * @throws RequestBodyTimeoutException if the body did not arrive within the engine's {@code
   *     bodyTimeout} (adapters that time the body throw it)
   * @throws IOException if the body cannot be read
   */
  byte[] body(long maxBytes) throws IOException;
}
