package dev.once.proxy;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The copy of an upstream response body kept for the record, up to a limit. Past the limit it lets
 * go of what it holds and remembers only that the body was too large. Used by one thread at a time
 * (its call's serialized events).
 */
final class Capture {
  private static final byte[] EMPTY = new byte[0];

  private final long limit;
  private byte[] buffer = EMPTY;
  private int count;
  private long total;
  private boolean overflowed;

  Capture(long limit) {
    this.limit = limit;
  }

  /** Copies the remaining bytes of {@code bytes} without moving its position. */
  void write(ByteBuffer bytes) {
    int length = bytes.remaining();
    total += length;
    if (overflowed) {
      return;
    }
    long needed = (long) count + length;
    if (needed > limit) {
      overflowed = true;
      buffer = null;
      return;
    }
    if (needed > buffer.length) {
      long grown = Math.max(needed, Math.max(256, (long) buffer.length * 2));
      buffer = Arrays.copyOf(buffer, (int) Math.min(grown, limit));
    }
    bytes.duplicate().get(buffer, count, length);
    count += length;
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
