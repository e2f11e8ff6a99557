package dev.once.spi;

import java.security.SecureRandom;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The owner token of an in-progress record: 128 random bits that fence {@code complete} and
 * {@code release}, so a holder whose lease has passed cannot touch the record of the holder that
 * took it over. Tokens are compared by value; they are not secrets and never leave the server.
 */
public final class Token {
  /**
   * A per-process salt, so two processes whose random generators were seeded alike still differ.
   */
  private static final long SALT = new SecureRandom().nextLong();

  private final long high;
  private final long low;

  private Token(long high, long low) {
    this.high = high;
    this.low = low;
  }

  /**
   * A new token, unique with overwhelming probability. Thread-safe and lock-free.
   *
   * @return a new random token
   */
  public static Token random() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return new Token(random.nextLong() ^ SALT, random.nextLong());
  }

  /**
   * The token with these 128 bits, for stores that keep a token as two longs.
   *
   * @param high the high 64 bits
   * @param low the low 64 bits
   * @return the token
   */
  public static Token of(long high, long low) {
    return new Token(high, low);
  }

  /**
   * The token whose {@link #toBytes()} form is {@code bytes}.
   *
   * @param bytes exactly 16 bytes
   * @return the token
   * @throws IllegalArgumentException if {@code bytes} is not 16 bytes long
   * @throws NullPointerException if {@code bytes} is null
   */
  public static Token fromBytes(byte[] bytes) {
    if (bytes.length != 16) {
      throw new IllegalArgumentException("a token is 16 bytes, but was " + bytes.length);
    }
    return new Token(readLong(bytes, 0), readLong(bytes, 8));
  }

  /**
   * The token whose {@link #toString()} form is {@code hex}.
   *
   * @param hex 32 hexadecimal digits
   * @return the token
   * @throws IllegalArgumentException if {@code hex} is not 32 hexadecimal digits
   * @throws NullPointerException if {@code hex} is null
   */
  public static Token parse(String hex) {
    if (hex.length() != 32) {
      throw new IllegalArgumentException("a token is 32 hex digits, but was \"" + hex + "\"");
    }
    try {
      return new Token(
          Long.parseUnsignedLong(hex, 0, 16, 16), Long.parseUnsignedLong(hex, 16, 32, 16));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("a token is 32 hex digits, but was \"" + hex + "\"", e);
    }
  }

  /** @return the high 64 bits */
  public long high() {
    return high;
  }

  /** @return the low 64 bits */
  public long low() {
    return low;
  }

  /** @return the 16 bytes of this token, big-endian; a new array each call */
  public byte[] toBytes() {
    byte[] bytes = new byte[16];
    writeLong(bytes, 0, high);
    writeLong(bytes, 8, low);
    return bytes;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Token && ((Token) o).high == high && ((Token) o).low == low;
  }

  @Override
  public int hashCode() {
    return Long.hashCode(high) * 31 + Long.hashCode(low);
  }

  /** @return 32 lowercase hexadecimal digits */
  @Override
  public String toString() {
    return hex16(high) + hex16(low);
  }

  private static String hex16(long value) {
    String hex = Long.toHexString(value);
    return "0".repeat(16 - hex.length()) + hex;
  }

  private static long readLong(byte[] bytes, int offset) {
    long value = 0;
    for (int i = 0; i < 8; i++) {
      value = (value << 8) | (bytes[offset + i] & 0xFF);
    }
    return value;
  }

  private static void writeLong(byte[] bytes, int offset, long value) {
    for (int i = 7; i >= 0; i--) {
      bytes[offset + i] = (byte) value;
      value >>>= 8;
    }
  }
}
