package dev.once.adapter;

import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * The copy of a response body kept for the store, up to a limit. Past the limit it lets go of what
 * it holds and remembers only that the body was too large. Used by one thread at a time, or by
 * writers that something else serializes (a reactive body's signals, a proxied call's events);
 * what it holds is read after the body's end.
 */
public final class ResponseCapture extends OutputStream {
  private static final byte[] EMPTY = new byte[0];

  private final long limit;
  private byte[] buffer = EMPTY;
  private int count;
  private long total;
  private boolean overflowed;

  /** @param limit how many bytes it keeps at the most */
  public ResponseCapture(long limit) {
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

  /** Copies the remaining bytes of {@code bytes} without moving its position. */
  public void write(ByteBuffer bytes) {
    int length = bytes.remaining();
    total += length;
    if (reserve(length)) {
      bytes.duplicate().get(buffer, count, length);
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
      buffer = EMPTY; // what was kept is let go
      return false;
    }
    if (needed > buffer.length) {
      long grown = Math.max(needed, Math.max(256, (long) buffer.length * 2));
      buffer = Arrays.copyOf(buffer, (int) Math.min(grown, limit));
    }
    return true;
  }

  /** Forgets everything written, as when the response buffer is reset. */
  public void reset() {
    buffer = EMPTY;
    count = 0;
    total = 0;
    overflowed = false;
  }

  /** @return true if more was written than the limit, so the body is not kept */
  public boolean isOverflowed() {
    return overflowed;
  }

  /** @return how many bytes were written since the last reset, kept or not */
  public long total() {
    return total;
  }

  /** @return the bytes written, or null if they went over the limit */
  public byte @Nullable [] bytes() {
    if (overflowed) {
      return null;
    }
    return count == buffer.length ? buffer : Arrays.copyOf(buffer, count);
  }
}
