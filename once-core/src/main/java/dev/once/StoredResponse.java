package dev.once;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a completed record holds: a response kept for replay (status, headers and body), or one of
 * two markers that the request was done but there is nothing to replay. Immutable and thread-safe.
 *
 * <ul>
 *   <li>A response whose body was too large to keep is stored {@linkplain #notReplayable without
 *       its body}: it still marks the request as done, so a retry is told so instead of running
 *       the handler a second time.
 *   <li>A request whose outcome cannot be known (the upstream's connection broke after it had the
 *       request, or it never answered) is stored, when the engine is told to keep such outcomes,
 *       as {@linkplain #outcomeUnknown() outcome unknown}: every retry is told so, and the
 *       operation never runs twice under that key.
 * </ul>
 */
public final class StoredResponse {
  /** The status a record of an unknown outcome carries (the gateway's 502). */
  public static final int OUTCOME_UNKNOWN_STATUS = 502;

  private static final byte[] EMPTY = new byte[0];
  private static final StoredResponse OUTCOME_UNKNOWN =
      new StoredResponse(OUTCOME_UNKNOWN_STATUS, List.of(), EMPTY, false, true);

  private final int status;
  private final List<Header> headers;
  private final byte[] body;
  private final boolean replayable;
  private final boolean outcomeUnknown;

  private StoredResponse(
      int status, List<Header> headers, byte[] body, boolean replayable, boolean outcomeUnknown) {
    if (status < 100 || status > 599) {
      throw new IllegalArgumentException("status must be between 100 and 599, but was " + status);
    }
    this.status = status;
    this.headers = List.copyOf(headers);
    this.body = body;
    this.replayable = replayable;
    this.outcomeUnknown = outcomeUnknown;
  }

  /**
   * A response to replay.
   *
   * @param status the HTTP status, 100 to 599
   * @param headers the headers to replay, in order; a name may repeat
   * @param body the body; copied
   * @return the stored response
   * @throws IllegalArgumentException if {@code status} is outside 100 to 599
   * @throws NullPointerException if {@code headers} or {@code body} is null or holds null
   */
  public static StoredResponse of(int status, List<Header> headers, byte[] body) {
    return new StoredResponse(
        status, headers, body.length == 0 ? EMPTY : body.clone(), true, false);
  }

  /** For the engine: takes {@code body} without copying it. */
  static StoredResponse wrap(int status, List<Header> headers, byte[] body) {
    return new StoredResponse(status, headers, body.length == 0 ? EMPTY : body, true, false);
  }

  /**
   * The record of a response that was sent but could not be kept (its body was over the limit). A
   * retry gets a problem response saying so, never a second run of the handler.
   *
   * @param status the HTTP status that was sent, 100 to 599
   * @param headers the headers that were sent
   * @return the stored marker
   * @throws IllegalArgumentException if {@code status} is outside 100 to 599
   */
  public static StoredResponse notReplayable(int status, List<Header> headers) {
    return new StoredResponse(status, headers, EMPTY, false, false);
  }

  /**
   * The record of a request whose outcome cannot be known: it may or may not have been done. A
   * retry gets a problem response saying so (502 {@code outcome-unknown}), never a second run.
   * Its status is {@value #OUTCOME_UNKNOWN_STATUS}, with no headers and no body.
   *
   * @return the marker (one shared instance)
   */
  public static StoredResponse outcomeUnknown() {
    return OUTCOME_UNKNOWN;
  }

  /** @return the HTTP status */
  public int status() {
    return status;
  }

  /** @return the headers, in order, immutable */
  public List<Header> headers() {
    return headers;
  }

  /**
   * The value of the first header with this name.
   *
   * @param name a header name, compared without regard to case
   * @return its first value, or null
   */
  public @Nullable String header(String name) {
    for (Header header : headers) {
      if (header.name().equalsIgnoreCase(name)) {
        return header.value();
      }
    }
    return null;
  }

  /** @return the body; a new array each call (see {@link #bodyBuffer()} to avoid the copy) */
  public byte[] body() {
    return body.length == 0 ? EMPTY : body.clone();
  }

  /** @return the body as a read-only buffer, without copying */
  public ByteBuffer bodyBuffer() {
    return ByteBuffer.wrap(body).asReadOnlyBuffer();
  }

  /** @return the number of body bytes */
  public int bodyLength() {
    return body.length;
  }

  /**
   * Writes the body to {@code out} without copying it.
   *
   * @param out where to write
   * @throws IOException if {@code out} fails
   */
  public void writeBodyTo(OutputStream out) throws IOException {
    out.write(body);
  }

  /**
   * @return false if there is nothing to replay: only the fact of the response was kept, because
   *     its body was over the limit, or the outcome is unknown
   */
  public boolean isReplayable() {
    return replayable;
  }

  /** @return true if this is the marker of a request whose outcome is unknown */
  public boolean isOutcomeUnknown() {
    return outcomeUnknown;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof StoredResponse)) {
      return false;
    }
    StoredResponse that = (StoredResponse) o;
    return status == that.status
        && replayable == that.replayable
        && outcomeUnknown == that.outcomeUnknown
        && headers.equals(that.headers)
        && Arrays.equals(body, that.body);
  }

  @Override
  public int hashCode() {
    return Objects.hash(status, headers, replayable, outcomeUnknown) * 31 + Arrays.hashCode(body);
  }

  @Override
  public String toString() {
    if (outcomeUnknown) {
      return "StoredResponse{outcome unknown}";
    }
    return "StoredResponse{status=" + status + ", headers=" + headers + ", body=" + body.length
        + " bytes" + (replayable ? "" : ", not replayable") + "}";
  }

  /**
   * One response header.
   *
   * @param name the header name as the handler wrote it
   * @param value the header value
   */
  public record Header(String name, String value) {
    /**
     * @param name the header name as the handler wrote it
     * @param value the header value
     * @throws NullPointerException if {@code name} or {@code value} is null
     */
    public Header {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(value, "value");
    }
  }
}
