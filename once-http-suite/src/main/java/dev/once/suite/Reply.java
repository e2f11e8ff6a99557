package dev.once.suite;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a suite handler answers: a status, headers in order (a name may repeat, {@code Content-Type}
 * among them) and a body in chunks. Immutable: each method returns a new reply.
 *
 * <p>The adapter writes it natively: the status, then every header with an "add" (never a "set",
 * so repeated names are all sent), then each chunk as a write of its own in order, never declaring
 * a
 * length itself (the server does, or chunks the body). Writing each chunk on its own is what lets
 * the suite check that a response captured in pieces (servlet writes, WebFlux {@code DataBuffer}s,
 * a JAX-RS {@code StreamingOutput}) is stored whole.
 */
public final class Reply {
  private final int status;
  private final List<Header> headers;
  private final List<byte[]> chunks;

  private Reply(int status, List<Header> headers, List<byte[]> chunks) {
    this.status = status;
    this.headers = List.copyOf(headers);
    this.chunks = List.copyOf(chunks);
  }

  /**
   * @param status the HTTP status, 100 to 599
   * @return a reply with that status, no headers and no body
   * @throws IllegalArgumentException if {@code status} is outside 100 to 599
   */
  public static Reply of(int status) {
    if (status < 100 || status > 599) {
      throw new IllegalArgumentException("status must be 100 to 599, but was " + status);
    }
    return new Reply(status, List.of(), List.of());
  }

  /**
   * @param name a header name
   * @param value its value
   * @return this reply with the header added after the others
   */
  public Reply header(String name, String value) {
    List<Header> more = new ArrayList<>(headers);
    more.add(new Header(name, value));
    return new Reply(status, more, chunks);
  }

  /**
   * @param text the body, sent as UTF-8 in one chunk
   * @return this reply with that body instead of its own
   */
  public Reply body(String text) {
    return body(text.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * @param chunks the body, in chunks each written on its own; copied
   * @return this reply with that body instead of its own
   */
  public Reply body(byte[]... chunks) {
    List<byte[]> copies = new ArrayList<>(chunks.length);
    for (byte[] chunk : chunks) {
      copies.add(chunk.clone());
    }
    return new Reply(status, headers, copies);
  }

  /** @return the HTTP status */
  public int status() {
    return status;
  }

  /** @return the headers, in order; a name may repeat */
  public List<Header> headers() {
    return headers;
  }

  /**
   * @return the body's chunks in order, to be written one by one; the arrays are the reply's own,
   *     not to be changed
   */
  public List<byte[]> chunks() {
    return chunks;
  }

  /** @return the whole body, the chunks joined */
  public byte[] body() {
    int length = 0;
    for (byte[] chunk : chunks) {
      length += chunk.length;
    }
    byte[] body = new byte[length];
    int at = 0;
    for (byte[] chunk : chunks) {
      System.arraycopy(chunk, 0, body, at, chunk.length);
      at += chunk.length;
    }
    return body;
  }

  @Override
  public String toString() {
    return "Reply{" + status + ", " + headers + ", " + body().length + " bytes}";
  }

  /**
   * One header of a reply.
   *
   * @param name the name
   * @param value the value
   */
  public record Header(String name, String value) {
    /** @throws NullPointerException if {@code name} or {@code value} is null */
    public Header {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(value, "value");
    }
  }
}
