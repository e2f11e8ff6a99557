package dev.once.jaxrs;

import java.io.OutputStream;
import java.util.Arrays;

/**
 * The copy of a response body kept for the store, up to a limit. Past the limit it lets go of what
 * it holds and remembers only that the body was too large. Used by one thread at a time.
 */
final class ResponseCapture extends OutputStream {
  private static final byte[] EMPTY = new byte[0];

  private final long limit;
  private byte[] buffer = EMPTY;
  private int count;
  private long total;
  private boolean overflowed;

  ResponseCapture(long limit) {
    this.limit = limit;
  }

  @Override
  public void write(int b) {
    total++;
    if (reserve(1)) {
      buffer[count++] = (byte) b;
    }
  }

  @Override
  public void write(byte[] bytes, int offset, int length) {
    total += length;
    if (reserve(length)) {
      System.arraycopy(bytes, offset, buffer, count, length);
      count += length;
    }
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
