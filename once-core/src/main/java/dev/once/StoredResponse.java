package dev.once;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A response kept for replay: status, headers and body. Immutable and thread-safe.
 *
 * <p>A response whose body was too large to keep is stored {@linkplain #notReplayable without its
 * body}: it still marks the request as done, so a retry is told so instead of running the handler a
 * second time.
 */
public final class StoredResponse {
  private static final byte[] EMPTY = new byte[0];

  private final int status;
  private final List<Header> headers;
  private final byte[] body;
  private final boolean replayable;

  private StoredResponse(int status, List<Header> headers, byte[] body, boolean replayable) {
    if (status < 100 || status > 599) {
      throw new IllegalArgumentException("status must be between 100 and 599, but was " + status);
    }
    this.status = status;
    this.headers = List.copyOf(headers);
    this.body = body;
    this.replayable = replayable;
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
    return new StoredResponse(status, headers, body.length == 0 ? EMPTY : body.clone(), true);
  }

  /** For the engine: takes {@code body} without copying it. */
  static StoredResponse wrap(int status, List<Header> headers, byte[] body) {
    return new StoredResponse(status, headers, body.length == 0 ? EMPTY : body, true);
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
    return new StoredResponse(status, headers, EMPTY, false);
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
  public String header(String name) {
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
   * @return false if only the fact of the response was kept, because its body was over the limit
   */
  public boolean isReplayable() {
    return replayable;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof StoredResponse)) {
      return false;
    }
    StoredResponse that = (StoredResponse) o;
    return status == that.status
        && replayable == that.replayable
        && headers.equals(that.headers)
        && Arrays.equals(body, that.body);
  }

  @Override
  public int hashCode() {
    return Objects.hash(status, headers, replayable) * 31 + Arrays.hashCode(body);
  }

  @Override
  public String toString() {
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
     * @throws NullPointerException if {@code name} or {@code value} is null
     */
    public Header {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(value, "value");
    }
  }
}
