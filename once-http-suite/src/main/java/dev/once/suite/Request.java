package dev.once.suite;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A request as a suite handler sees it: what the adapter's server received, its body read whole.
 * The adapter builds one from its native request (after {@code once} has let it through) and hands
 * it to the route's {@link Handler}.
 *
 * @param method the method as received ({@code POST}, or {@code post} if a client spelled it so)
 * @param path the path as received, not decoded, without the query
 * @param query the query string as received, or null when there is none
 * @param body the whole body; empty when there is none
 */
public record Request(String method, String path, String query, byte[] body) {

  /**
   * @throws NullPointerException if {@code method} or {@code path} is null
   */
  public Request {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(path, "path");
    body = body == null ? new byte[0] : body;
  }

  /**
   * @param name a query parameter's name
   * @return the first value of that parameter, not decoded, or null when it has none
   */
  public String parameter(String name) {
    if (query == null) {
      return null;
    }
    for (String pair : query.split("&")) {
      int equals = pair.indexOf('=');
      String key = equals < 0 ? pair : pair.substring(0, equals);
      if (key.equals(name)) {
        return equals < 0 ? "" : pair.substring(equals + 1);
      }
    }
    return null;
  }

  /**
   * @param name a query parameter's name
   * @return its value as an int
   * @throws IllegalArgumentException if the request has no such parameter or it is not a number
   */
  public int intParameter(String name) {
    String value = parameter(name);
    if (value == null) {
      throw new IllegalArgumentException("the request has no query parameter " + name);
    }
    return Integer.parseInt(value);
  }

  /** @return the body decoded as UTF-8 */
  public String bodyText() {
    return new String(body, StandardCharsets.UTF_8);
  }
}
