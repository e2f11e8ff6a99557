package dev.once;

import dev.once.adapter.JsonStrings;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * An RFC 9457 problem response ({@code application/problem+json}): the answer for every request
 * the engine refuses. It is the whole response: its {@link #status()}, its {@link #headers()} and
 * its body ({@link #toJsonBytes()}), so every adapter writes a problem the same way (the servlet
 * adapter's {@code ProblemResponse}, the Spring starter's {@code OnceProblemDetails}). Immutable
 * and thread-safe.
 */
public final class Problem {
  /** The media type of a problem response body. */
  public static final String CONTENT_TYPE = "application/problem+json";

  /** 408 Request Timeout: the request's body may still be on its way. */
  private static final int REQUEST_TIMEOUT = 408;

  private final int status;
  private final String type;
  private final String title;
  private final String detail;
  private final int retryAfterSeconds;
  private final Map<String, String> headers;

  private Problem(int status, String type, String title, String detail, int retryAfterSeconds) {
    if (status < 400 || status > 599) {
      throw new IllegalArgumentException("status must be between 400 and 599, but was " + status);
    }
    this.status = status;
    this.type = Objects.requireNonNull(type, "type");
    this.title = Objects.requireNonNull(title, "title");
    this.detail = Objects.requireNonNull(detail, "detail");
    this.retryAfterSeconds = retryAfterSeconds;
    this.headers = headers(status, retryAfterSeconds);
  }

  private static Map<String, String> headers(int status, int retryAfterSeconds) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("Content-Type", CONTENT_TYPE);
    // the answer to this one request: no cache may hand it to another
    headers.put("Cache-Control", "no-store");
    if (retryAfterSeconds > 0) {
      headers.put("Retry-After", Integer.toString(retryAfterSeconds));
    }
    if (status == REQUEST_TIMEOUT) {
      // the rest of the body may still be on its way: the connection cannot carry another request
      // (RFC 9110, 15.5.9)
      headers.put("Connection", "close");
    }
    return Collections.unmodifiableMap(headers);
  }

  /**
   * A problem of one of the engine's types.
   *
   * @param type the type
   * @param detail what happened to this request
   * @return the problem
   */
  public static Problem of(ProblemType type, String detail) {
    return new Problem(type.status(), type.uri(), type.title(), detail, 0);
  }

  /**
   * A problem of a type defined elsewhere (an adapter's own, such as a proxy's upstream errors).
   *
   * @param status the HTTP status, 400 to 599
   * @param type the stable type URI
   * @param title the short summary
   * @param detail what happened to this request
   * @return the problem
   * @throws IllegalArgumentException if {@code status} is not 400 to 599
   */
  public static Problem of(int status, String type, String title, String detail) {
    return new Problem(status, type, title, detail, 0);
  }

  /**
   * This problem, telling the client when to retry.
   *
   * @param seconds the {@code Retry-After} value, at least 1
   * @return a new problem
   * @throws IllegalArgumentException if {@code seconds} is less than 1
   */
  public Problem withRetryAfter(int seconds) {
    if (seconds < 1) {
      throw new IllegalArgumentException(
          "retry-after must be at least 1 second, but was " + seconds);
    }
    return new Problem(status, type, title, detail, seconds);
  }

  /** @return the HTTP status */
  public int status() {
    return status;
  }

  /** @return the type URI */
  public String type() {
    return type;
  }

  /** @return the title */
  public String title() {
    return title;
  }

  /** @return the detail */
  public String detail() {
    return detail;
  }

  /** @return the {@code Retry-After} seconds, or 0 when the response carries none */
  public int retryAfterSeconds() {
    return retryAfterSeconds;
  }

  /**
   * The headers of a response that carries this problem, besides its {@code Content-Length}:
   * {@code Content-Type: application/problem+json}; {@code Cache-Control: no-store}; {@code
   * Retry-After} when the problem has one; {@code Connection: close} for a 408.
   *
   * @return the header names and values, unmodifiable, in the order to write them
   */
  public Map<String, String> headers() {
    return headers;
  }

  /** @return the problem as a JSON object */
  public String toJson() {
    StringBuilder json = new StringBuilder(128 + detail.length());
    json.append("{\"type\":");
    JsonStrings.append(json, type);
    json.append(",\"title\":");
    JsonStrings.append(json, title);
    json.append(",\"status\":").append(status);
    json.append(",\"detail\":");
    JsonStrings.append(json, detail);
    return json.append('}').toString();
  }

  /** @return {@link #toJson()} in UTF-8 */
  public byte[] toJsonBytes() {
    return toJson().getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return status + " " + type + ": " + detail;
  }
}
