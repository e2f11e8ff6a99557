package dev.once.webflux;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.springframework.core.io.buffer.DataBuffer;

/**
 * The copy of a response body kept for the store, up to a limit. Past the limit it lets go of what
 * it holds and remembers only that the body was too large. Its writers are the response's body
 * signals, which reactive streams serialize, so it is used by one thread at a time; what it holds
 * is read after the body's end.
 */
final class ResponseCapture {
  private static final byte[] EMPTY = new byte[0];

  private final long limit;
  private byte[] buffer = EMPTY;
  private int count;
  private long total;
  private boolean overflowed;

  ResponseCapture(long limit) {
    this.limit = limit;
  }

  /**
   * Copies the readable bytes of {@code data}, leaving its read position where it was, so the
   * buffer goes on to the client unchanged.
   */
  void copy(DataBuffer data) {
    int length = data.readableByteCount();
    total += length;
    if (!reserve(length)) {
      return;
    }
    data.toByteBuffer(data.readPosition(), ByteBuffer.wrap(buffer), count, length);
    count += length;
  }

  private boolean reserve(int length) {
    if (overflowed) {
      return false;
    }
    long needed = (long) count + length;
    if (needed > limit) {
      overflowed = true;
      buffer = null;
      return false;
    }
    if (needed > buffer.length) {
      long grown = Math.max(needed, Math.max(256, (long) buffer.length * 2));
      buffer = Arrays.copyOf(buffer, (int) Math.min(grown, limit));
    }
    return true;
  }

  /** @return true if more was written than the limit, so the body is not kept */
  boolean isOverflowed() {
    return overflowed;
  }

  /** @return how many bytes were written, kept or not */
  long total() {
    return total;
  }

  /** @return the bytes written, or null if they went over the limit */
  byte[] bytes() {
    if (overflowed) {
      return null;
    }
    return count == buffer.length ? buffer : Arrays.copyOf(buffer, count);
  }
}
