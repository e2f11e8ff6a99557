package dev.once;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * An RFC 9457 problem response ({@code application/problem+json}): the answer for every request
 * the engine refuses. Immutable and thread-safe.
 */
public final class Problem {
  /** The media type of a problem response body. */
  public static final String CONTENT_TYPE = "application/problem+json";

  private final int status;
  private final String type;
  private final String title;
  private final String detail;
  private final int retryAfterSeconds;

  private Problem(int status, String type, String title, String detail, int retryAfterSeconds) {
    if (status < 400 || status > 599) {
      throw new IllegalArgumentException("status must be between 400 and 599, but was " + status);
    }
    this.status = status;
    this.type = Objects.requireNonNull(type, "type");
    this.title = Objects.requireNonNull(title, "title");
    this.detail = Objects.requireNonNull(detail, "detail");
    this.retryAfterSeconds = retryAfterSeconds;
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
      throw new IllegalArgumentException("retry-after must be at least 1 second, but was " + seconds);
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

  /** @return the problem as a JSON object */
  public String toJson() {
    StringBuilder json = new StringBuilder(128 + detail.length());
    json.append("{\"type\":");
    appendString(json, type);
    json.append(",\"title\":");
    appendString(json, title);
    json.append(",\"status\":").append(status);
    json.append(",\"detail\":");
    appendString(json, detail);
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

  private static void appendString(StringBuilder json, String value) {
    json.append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"':
          json.append("\\\"");
          break;
        case '\\':
          json.append("\\\\");
          break;
        case '\n':
          json.append("\\n");
          break;
        case '\r':
          json.append("\\r");
          break;
        case '\t':
          json.append("\\t");
          break;
        default:
          if (c < 0x20 || c == 0x2028 || c == 0x2029) {
            json.append(String.format("\\u%04x", (int) c));
          } else {
            json.append(c);
          }
      }
    }
    json.append('"');
  }
}
